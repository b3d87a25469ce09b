-- 0003: authentication and authorisation. Organisations, users and their roles, auditor grants,
-- browser sessions with rotating refresh tokens, API clients (OAuth 2.0 client credentials) and
-- the login-failure counters. Every table here is mutable state, not history: each change the
-- service makes to it is recorded in the audit trail (0002) in the same transaction. Secrets are
-- never stored: passwords as scrypt hashes, refresh tokens and client secrets as SHA-256 hashes.

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));
SELECT grant_app_read_write('organizations');

CREATE TABLE users (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id),
  -- stored lower-cased and trimmed; unique
  email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name text,
  -- "scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>"
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  roles text[] NOT NULL CHECK (roles <@ ARRAY['compliance_officer', 'auditor', 'admin']::text[]),
  -- bumped on every change of roles, organisation, password or status: access tokens embed it,
  -- so a token minted before the change is refused at once
  authz_version integer NOT NULL DEFAULT 1 CHECK (authz_version > 0),
  disabled_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX users_organization ON users (organization_id);
SELECT grant_app_read_write('users');

-- Which organisations an auditor may read (reports, audit trail).
CREATE TABLE auditor_grants (
  id uuid PRIMARY KEY,
  auditor_id uuid NOT NULL REFERENCES users (id),
  organization_id uuid NOT NULL REFERENCES organizations (id),
  created_at timestamptz NOT NULL,
  created_by uuid REFERENCES users (id),
  UNIQUE (auditor_id, organization_id)
);
SELECT grant_app_read_write('auditor_grants');

-- A browser session is one refresh-token family: revoking it ends every token of the family.
CREATE TABLE auth_sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  -- per-session key of the CSRF token (HMAC-SHA256 of the session id): not a credential alone
  csrf_key text NOT NULL,
  revoked_at timestamptz,
  revoked_reason text,
  source_ip text,
  user_agent text
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id) WHERE revoked_at IS NULL;
SELECT grant_app_read_write('auth_sessions');

CREATE TABLE auth_refresh_tokens (
  token_sha256 text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  session_id uuid NOT NULL REFERENCES auth_sessions (id),
  created_at timestamptz NOT NULL,
  -- set when the token is exchanged; presenting it again is reuse and revokes the family
  used_at timestamptz
);
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);
SELECT grant_app_read_write('auth_refresh_tokens');

CREATE TABLE api_clients (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  scopes text[] NOT NULL CHECK (scopes <@ ARRAY['assessments:read', 'assessments:write', 'reports:read', 'evaluate', 'audit:read', 'verify']::text[]),
  secret_sha256 text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
  authz_version integer NOT NULL DEFAULT 1 CHECK (authz_version > 0),
  created_at timestamptz NOT NULL,
  created_by uuid REFERENCES users (id),
  secret_rotated_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_clients_organization ON api_clients (organization_id);
SELECT grant_app_read_write('api_clients');

-- Failed logins, one row each, counted over a sliding window per account and per IP address.
-- `key` is "account:<sha256 of the e-mail>" or "ip:<address>": no e-mail address in clear.
CREATE TABLE login_failures (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL,
  failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key_time ON login_failures (key, failed_at);
SELECT grant_app_read_write('login_failures');
GRANT USAGE ON SEQUENCE login_failures_id_seq TO hipaa_app;
