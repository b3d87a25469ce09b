-- 0001: the append-only mechanism and the application role.
--
-- Two roles on PostgreSQL: the owner role (whoever runs the migrations) owns every table; the
-- application connects as a login role that is a member of hipaa_app, which holds only SELECT
-- and INSERT on append-only tables. Triggers refuse UPDATE, DELETE and TRUNCATE for everyone,
-- the owner included; only the table owner can disable a trigger, and doing so is what the
-- audit hash chain and signed checkpoints are there to detect.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hipaa_app') THEN
    CREATE ROLE hipaa_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by another database of the same cluster
END
$$;

GRANT USAGE ON SCHEMA public TO hipaa_app;

CREATE FUNCTION append_only_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Records in this table are legal documentation (45 CFR 164.316(b)(2)(i)); add a new row instead.';
END
$$;

-- make_append_only(table): the reusable mechanism. Row triggers refuse UPDATE and DELETE,
-- a statement trigger refuses TRUNCATE, and the application role may only read and insert.
CREATE FUNCTION make_append_only(target regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER append_only_no_update_delete BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION append_only_guard()', target);
  EXECUTE format('CREATE TRIGGER append_only_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION append_only_guard()', target);
  EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', target);
  EXECUTE format('REVOKE ALL ON %s FROM hipaa_app', target);
  EXECUTE format('GRANT SELECT, INSERT ON %s TO hipaa_app', target);
END
$$;

-- grant_app_read_write(table): for the mutable tables (users, sessions, counters), whose every
-- change the service records in the audit trail.
CREATE FUNCTION grant_app_read_write(target regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', target);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO hipaa_app', target);
END
$$;

-- The migration record itself is history.
SELECT make_append_only('schema_migrations');
