-- 0008: the application role may read schema_migrations, not write it.
--
-- 0001 made schema_migrations append-only with make_append_only(), which grants hipaa_app
-- SELECT and INSERT like every history table. Only the migration runner (the owner role) writes
-- this table; a row inserted by the application role (a compromised or buggy instance) would
-- make every instance's /readyz report the migrations as not current and every later
-- `npm run migrate` refuse to run, and the append-only trigger keeps even the owner from
-- deleting it. The service only reads the table (/readyz, the start-up check), so SELECT stays.
-- The append-only triggers stay as they are.

REVOKE ALL ON schema_migrations FROM hipaa_app;
GRANT SELECT ON schema_migrations TO hipaa_app;
