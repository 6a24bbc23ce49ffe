#!/bin/bash
# The entry point of mrp/postgres:local (images/postgres.Dockerfile): on an empty PGDATA, initdb with
# POSTGRES_PASSWORD for POSTGRES_USER (default postgres), run /docker-entrypoint-initdb.d/* once against a
# server listening on its socket only (*.sh executed when executable, else sourced; *.sql through psql),
# then run the command, the server listening on every interface with password authentication, its socket
# in /tmp (PGHOST).
set -euo pipefail
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  export POSTGRES_USER="${POSTGRES_USER:-postgres}"
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # The socket in /tmp: under Podman a tmpfs on /var/run/postgresql of a read-only container stays root's.
  printf "listen_addresses = '*'\nunix_socket_directories = '/tmp'\n" >>"$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start -l /tmp/postgres-init.log ||
    { cat /tmp/postgres-init.log >&2; exit 1; }
  export PGUSER="$POSTGRES_USER"
  for file in /docker-entrypoint-initdb.d/*; do
    case "$file" in
    *.sh)
      echo "docker-entrypoint.sh: running $file"
      if [ -x "$file" ]; then "$file"; else . "$file"; fi
      ;;
    *.sql)
      echo "docker-entrypoint.sh: running $file"
      psql -v ON_ERROR_STOP=1 -f "$file"
      ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER
  echo "docker-entrypoint.sh: initialised $PGDATA"
fi
exec "$@"
