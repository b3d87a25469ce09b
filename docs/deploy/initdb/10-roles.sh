#!/bin/sh
# Runs once when the PostgreSQL container initialises its data directory.
# Creates the two-role setup: hipaa_owner owns the schema and runs migrations; hipaa_app_login
# is the application's login role, a member of hipaa_app (SELECT/INSERT on history tables,
# read/write on the mutable ones, granted by the migrations themselves).
#
# hipaa_owner gets no CREATEROLE (nor SUPERUSER, CREATEDB, REPLICATION, BYPASSRLS): it owns its
# database and schema, which is all the migrations need; on PostgreSQL 15 CREATEROLE would also
# let it grant itself pg_read_server_files or pg_execute_server_program.
#
# Passwords come from compose secrets mounted under /run/secrets, never from this file, and never
# through a command line (visible to every local user in ps and /proc/*/cmdline): psql reads each
# secret file itself (`\set name `cat file``; the file name is the only argument) and inserts it
# as a quoted literal (:'name').
set -eu
for secret in db_owner_password db_app_password; do
  if [ ! -s "/run/secrets/$secret" ]; then
    echo "10-roles.sh: /run/secrets/$secret is missing or empty" >&2
    exit 1
  fi
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set owner_pw `cat /run/secrets/db_owner_password`
\set app_pw `cat /run/secrets/db_app_password`
CREATE ROLE hipaa_app NOLOGIN;
CREATE ROLE hipaa_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE hipaa_app_login LOGIN PASSWORD :'app_pw' IN ROLE hipaa_app;
\unset owner_pw
\unset app_pw
CREATE DATABASE hipaa OWNER hipaa_owner;
REVOKE ALL ON DATABASE hipaa FROM PUBLIC;
GRANT CONNECT ON DATABASE hipaa TO hipaa_app;
\connect hipaa
ALTER SCHEMA public OWNER TO hipaa_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
