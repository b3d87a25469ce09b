-- 0004: assessments, their revisions, the rulesets used, signing public keys and signed reports.
-- All append-only: a changed answer is a new revision, a re-evaluation is a new report, a key
-- rotation adds a key. Nothing here is ever updated or deleted by the service.

-- Every public key that ever signed a report or a token: old reports must keep verifying.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  purpose text NOT NULL CHECK (purpose IN ('report', 'token')),
  public_jwk jsonb NOT NULL,
  first_seen_at timestamptz NOT NULL
);
SELECT make_append_only('signing_keys');

-- The exact ruleset content used by a report, stored once per content hash.
CREATE TABLE rulesets_used (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  ruleset_id text NOT NULL,
  version text NOT NULL,
  content text NOT NULL,
  first_used_at timestamptz NOT NULL
);
SELECT make_append_only('rulesets_used');

CREATE TABLE assessments (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  created_by_type text NOT NULL CHECK (created_by_type IN ('user', 'client')),
  created_by_id text NOT NULL,
  created_at timestamptz NOT NULL,
  -- Idempotency-Key of the creating request and the SHA-256 of its canonical body.
  idempotency_key text,
  idempotency_sha256 text,
  UNIQUE (organization_id, idempotency_key)
);
CREATE INDEX assessments_org_created ON assessments (organization_id, created_at DESC, id DESC);
SELECT make_append_only('assessments');

CREATE TABLE assessment_revisions (
  assessment_id uuid NOT NULL REFERENCES assessments (id),
  revision integer NOT NULL CHECK (revision > 0),
  status text NOT NULL CHECK (status IN ('draft', 'submitted')),
  questionnaire_version text NOT NULL,
  answers jsonb NOT NULL,
  answers_canonical text NOT NULL,
  answers_sha256 text NOT NULL CHECK (answers_sha256 ~ '^[0-9a-f]{64}$'),
  submitted_by_type text NOT NULL CHECK (submitted_by_type IN ('user', 'client')),
  submitted_by_id text NOT NULL,
  submitted_by_name text NOT NULL,
  submitted_at timestamptz NOT NULL,
  PRIMARY KEY (assessment_id, revision)
);
SELECT make_append_only('assessment_revisions');

CREATE TABLE reports (
  id uuid PRIMARY KEY,
  assessment_id uuid NOT NULL,
  revision integer NOT NULL,
  -- Canonical JSON of the [{id, version, sha256}] rulesets, sorted: one report per combination.
  rulesets_key text NOT NULL,
  bytes bytea NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  jws text NOT NULL,
  kid text NOT NULL REFERENCES signing_keys (kid),
  overall_risk text NOT NULL CHECK (overall_risk IN ('very_low', 'low', 'moderate', 'high', 'very_high')),
  summary jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  FOREIGN KEY (assessment_id, revision) REFERENCES assessment_revisions (assessment_id, revision),
  UNIQUE (assessment_id, revision, rulesets_key)
);
CREATE INDEX reports_assessment ON reports (assessment_id, revision, created_at);
SELECT make_append_only('reports');

CREATE TABLE report_rulesets (
  report_id uuid NOT NULL REFERENCES reports (id),
  ruleset_sha256 text NOT NULL REFERENCES rulesets_used (sha256),
  PRIMARY KEY (report_id, ruleset_sha256)
);
SELECT make_append_only('report_rulesets');

-- The signed PDF of a report, rendered once; its bytes never change.
CREATE TABLE report_pdfs (
  report_id uuid PRIMARY KEY REFERENCES reports (id),
  bytes bytea NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL
);
SELECT make_append_only('report_pdfs');
