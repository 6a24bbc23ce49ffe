#!/bin/sh
# The entry point of mrp/redis:local (images/redis.Dockerfile): redis-server with protected mode off, as
# upstream's image builds it, since clients reach it over the container network without a password
# (whatever command line Compose gives).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
