-- 0002: the audit trail. Every action of the service writes one event in the same transaction
-- as the action. Events are hash-chained: `hash` is the SHA-256 of the event's canonical content
-- (RFC 8785 JSON of every column but `hash`, including `prev_hash`), so a changed, removed or
-- reordered event breaks the chain. Signed checkpoints of the head make truncation detectable.

CREATE TABLE audit_events (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  occurred_at timestamptz NOT NULL,
  action text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'client', 'anonymous', 'system')),
  actor_id text,
  actor_role text,
  actor_organization_id text,
  organization_id text,
  target_type text,
  target_id text,
  request_id text,
  source_ip text,
  user_agent text,
  input_sha256 text CHECK (input_sha256 IS NULL OR input_sha256 ~ '^[0-9a-f]{64}$'),
  decision jsonb NOT NULL,
  decision_canonical text NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_events_org_time ON audit_events (organization_id, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
SELECT make_append_only('audit_events');

-- Signed checkpoints of the chain head (sequence number + hash), signed with the report key.
CREATE TABLE audit_checkpoints (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL,
  payload text NOT NULL,
  jws text NOT NULL,
  kid text NOT NULL
);
SELECT make_append_only('audit_checkpoints');
GRANT USAGE ON SEQUENCE audit_checkpoints_id_seq TO hipaa_app;

-- Bounded recording of denied requests (401/403/404/429): at most N events per key and window,
-- then one summary. Counters are mutable and not history.
CREATE TABLE audit_denial_windows (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
SELECT grant_app_read_write('audit_denial_windows');
