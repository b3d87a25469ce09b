-- 0010: the application role keeps only the privileges the service uses on the mutable tables.
--
-- grant_app_read_write() (0001) gave hipaa_app SELECT, INSERT, UPDATE and DELETE on every mutable
-- table, more than the code uses: a compromised or buggy instance could delete users (and read
-- their e-mail addresses back with RETURNING), organisations, API clients or sessions, whose
-- removal the audit trail would record nowhere. Each table now keeps exactly what a code path in
-- src/ (or a trigger running as the application role) needs; test/db/runtime-grants.test.ts
-- holds the same list and proves every kept privilege works and every revoked one is refused.
--
--   table                 kept                            used by
--   organizations         SELECT, INSERT                  created (src/auth/organizations.ts), never renamed or removed
--   users                 SELECT, INSERT, UPDATE          created, updated, disabled, password changed and rehashed,
--                                                          SELECT … FOR UPDATE (src/auth/users.ts, sessions.ts); never deleted
--   auth_sessions         SELECT, INSERT, UPDATE          sign-in, refresh, last_seen_at, revocation, SELECT … FOR UPDATE
--                                                          (src/auth/sessions.ts, principal.ts); never deleted
--   auth_refresh_tokens   SELECT, INSERT, UPDATE          issued and marked used (src/auth/sessions.ts); never deleted
--   api_clients           SELECT, INSERT, UPDATE          created, secret rotated, revoked (revoked_at: DELETE
--                                                          /v1/api-clients/{id} is an UPDATE) (src/auth/api-clients.ts)
--   auditor_grants        SELECT, INSERT, DELETE          granted, revoked by DELETE … RETURNING (src/auth/auditor-grants.ts);
--                                                          never updated
--   login_failures        SELECT, INSERT, DELETE          counted, withdrawn, forgotten (src/auth/login-limits.ts); never updated
--   audit_denial_windows  unchanged: all four             INSERT … ON CONFLICT DO UPDATE, DELETE … RETURNING (src/audit/denied.ts)
--   rate_limit_counters   unchanged: all four             upsert, decrement, reset, purge (src/http/rate-limit/sql-store.ts)
--   audit_pending         unchanged: SELECT, INSERT, DELETE  inserted by the service, deleted by audit_link() (0007)
--
-- The identity sequences lose USAGE: an identity column's default takes its next value without a
-- privilege check on the sequence, and nothing calls nextval() or currval() itself.
--
-- Only privileges are removed, none the previous release uses, so it keeps working during a
-- rolling deployment (docs/deployment.md §1). History tables and schema_migrations are unchanged.

REVOKE UPDATE, DELETE ON organizations FROM hipaa_app;
REVOKE DELETE ON users FROM hipaa_app;
REVOKE DELETE ON auth_sessions FROM hipaa_app;
REVOKE DELETE ON auth_refresh_tokens FROM hipaa_app;
REVOKE DELETE ON api_clients FROM hipaa_app;
REVOKE UPDATE ON auditor_grants FROM hipaa_app;
REVOKE UPDATE ON login_failures FROM hipaa_app;

REVOKE ALL ON SEQUENCE login_failures_id_seq FROM hipaa_app;
REVOKE ALL ON SEQUENCE audit_pending_id_seq FROM hipaa_app;
REVOKE ALL ON SEQUENCE audit_checkpoints_id_seq FROM hipaa_app;
