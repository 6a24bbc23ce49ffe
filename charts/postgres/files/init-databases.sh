#!/bin/sh
# Creates one database per data service, each owned by a login role of the same name, on the first start
# of an empty Postgres (the official image runs /docker-entrypoint-initdb.d/*.sh once, as the superuser).
# Used by the Helm chart and by docker-compose.
#   MRP_DATABASES            space-separated database names, e.g. "mrp_user mrp_case mrp_audit"
#   MRP_PASSWORD_<NAME>      the password of each role, <NAME> upper-cased (MRP_PASSWORD_MRP_USER)
# A database or role that already exists is left as it is, so running it again changes nothing.
set -eu

for db in ${MRP_DATABASES:?MRP_DATABASES names no database}; do
  case "$db" in
    *[!a-z0-9_]* | "") echo "init-databases: refusing the database name '$db'" >&2; exit 1 ;;
  esac
  var="MRP_PASSWORD_$(printf '%s' "$db" | tr 'a-z' 'A-Z')"
  password="$(printenv "$var" || true)"
  [ -n "$password" ] || { echo "init-databases: $var is not set" >&2; exit 1; }
  echo "init-databases: $db"
  psql -v ON_ERROR_STOP=1 -q --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v db="$db" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'db', :'password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'db')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
done
