#!/bin/sh
# Runs once when the PostgreSQL container initialises its data directory.
# Creates the two-role setup: hipaa_owner owns the schema and runs migrations; hipaa_app_login
# is the application's login role, a member of hipaa_app (SELECT/INSERT on history tables,
# read/write on the mutable ones, granted by the migrations themselves).
# Passwords come from compose secrets mounted under /run/secrets, never from this file.
set -eu
owner_pw=$(cat /run/secrets/db_owner_password)
app_pw=$(cat /run/secrets/db_app_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$owner_pw" -v app_pw="$app_pw" <<'SQL'
CREATE ROLE hipaa_app NOLOGIN;
CREATE ROLE hipaa_owner LOGIN CREATEROLE PASSWORD :'owner_pw';
CREATE ROLE hipaa_app_login LOGIN PASSWORD :'app_pw' IN ROLE hipaa_app;
CREATE DATABASE hipaa OWNER hipaa_owner;
REVOKE ALL ON DATABASE hipaa FROM PUBLIC;
GRANT CONNECT ON DATABASE hipaa TO hipaa_app;
\connect hipaa
ALTER SCHEMA public OWNER TO hipaa_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
