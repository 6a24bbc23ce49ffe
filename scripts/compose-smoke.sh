#!/usr/bin/env bash
# make compose-smoke: docker-compose.yml brought up for real, the seed's curl flow run through its Envoy on
# 127.0.0.1, then everything torn down with its volumes. Exits 0 only if every step of the flow passed.
#
# The engine is scripts/containers.sh's (docker, else podman). Compose is `docker compose` (v2) where it
# exists, else Debian's docker-compose (v1) talking to `podman system service` on a socket of this run's:
# v1 refuses the file's top-level `name:`, so it reads a copy without that line, with the repository as
# its project directory. Podman runs healthchecks only when asked, so while the platform starts a loop
# asks it (`podman healthcheck run`) for every container of the project.
#
# The observability containers (the collector, Jaeger, Prometheus, Grafana) are in the file's
# `observability` profile and stay off here: their images cannot be had without a registry, and the flow
# does not need them. Where no registry answers, the services build on the local Node base and Postgres,
# Redis and Envoy run from local images (scripts/containers.sh compose-env).
#
# Settings: COMPOSE_SMOKE_TIMEOUT_S (default 600) bounds the whole run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PROJECT=mrp-smoke
TIMEOUT_S="${COMPOSE_SMOKE_TIMEOUT_S:-600}"
WORK="$(mktemp -d)"
say() { echo "[compose-smoke] $*"; }

engine_name="$(scripts/containers.sh engine)" || exit 1
engine() { scripts/containers.sh run "$@"; }

# The image variables for this machine (empty where a registry answers).
while IFS='=' read -r name value; do
  [ -n "$name" ] && export "$name=$value" && say "$name=$value"
done < <(scripts/containers.sh compose-env)

# The gateway on a free port of 127.0.0.1, so a running make dev (8080) is not in the way.
MRP_GATEWAY_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export MRP_GATEWAY_PORT

service_pid=""
healthcheck_pid=""
COMPOSE=()
if [ "$engine_name" = docker ] && docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose -p "$PROJECT" -f "$ROOT/docker-compose.yml")
  compose_version="$(docker compose version | head -n1)"
elif command -v docker-compose >/dev/null; then
  if [ "$engine_name" = podman ]; then
    socket="$WORK/podman.sock"
    # podman's own config (runc, cgroupfs) applies to the service too.
    scripts/containers.sh run system service --time=0 "unix://$socket" >"$WORK/podman-service.log" 2>&1 &
    service_pid=$!
    for _ in $(seq 1 100); do [ -S "$socket" ] && break; sleep 0.1; done
    [ -S "$socket" ] || { cat "$WORK/podman-service.log" >&2; say "podman system service did not start"; exit 1; }
    export DOCKER_HOST="unix://$socket"
  fi
  grep -v '^name:' docker-compose.yml >"$WORK/docker-compose.yml"
  COMPOSE=(docker-compose -p "$PROJECT" --project-directory "$ROOT" -f "$WORK/docker-compose.yml")
  compose_version="$(docker-compose version --short 2>/dev/null || true) (v1)"
else
  say "no Compose: install Docker Compose v2 (docker compose), or docker-compose (scripts/containers.sh install)"
  exit 1
fi
say "engine $engine_name, compose $compose_version"
say "the observability profile (collector, Jaeger, Prometheus, Grafana) is off: its images need a registry"

status=1
cleanup() {
  [ -n "$healthcheck_pid" ] && kill "$healthcheck_pid" 2>/dev/null || true
  if [ "$status" != 0 ]; then
    say "failed: the state and the last log lines of every container"
    "${COMPOSE[@]}" ps || true
    for id in $(engine ps -aq --filter "label=com.docker.compose.project=$PROJECT"); do
      health="$(engine inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || true)"
      echo "--- $(engine inspect --format '{{.Name}}' "$id") ($health) ---"
      engine logs --tail 40 "$id" 2>&1 || true
    done
  fi
  say "down -v"
  "${COMPOSE[@]}" down -v --remove-orphans >"$WORK/down.log" 2>&1 || cat "$WORK/down.log" >&2
  if [ -n "$service_pid" ]; then
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A run killed before its cleanup leaves its project behind: start from nothing.
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true

if [ "$engine_name" = podman ]; then
  (
    while true; do
      for id in $(engine ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do
        engine healthcheck run "$id" >/dev/null 2>&1 || true
      done
      sleep 2
    done
  ) &
  healthcheck_pid=$!
fi

say "up (building the five images, then starting the stores, the services and the gateway)"
started=$SECONDS
timeout "$TIMEOUT_S" "${COMPOSE[@]}" up -d --build >"$WORK/up.log" 2>&1 ||
  { tail -n 40 "$WORK/up.log" >&2; say "up failed"; exit 1; }
say "up in $((SECONDS - started)) s; waiting for the gateway to be healthy"
gateway="$(engine ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=gateway")"
for _ in $(seq 1 90); do
  [ "$(engine inspect --format '{{.State.Health.Status}}' "$gateway" 2>/dev/null)" = healthy ] && break
  sleep 2
done
[ "$(engine inspect --format '{{.State.Health.Status}}' "$gateway")" = healthy ] || { say "the gateway never became healthy"; exit 1; }

# Healthy containers are not yet a platform that works end to end: a service's first fetch of the JWKS
# can take a while right after start (it timed out for about 10 s in one run on a busy machine). Wait,
# bounded, until a login through the gateway succeeds, and say how long it took; then the flow runs.
login_ok() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'content-type: application/x-www-form-urlencoded' \
    --data 'grant_type=password&username=admin%40example.com&password=admin123' \
    "http://127.0.0.1:$MRP_GATEWAY_PORT/v1/auth/login")" = 200 ]
}
waited=$SECONDS
until login_ok; do
  [ $((SECONDS - waited)) -ge 90 ] && { say "no login through the gateway succeeded within 90 s"; exit 1; }
  sleep 2
done
say "a login through the gateway works ($((SECONDS - waited)) s after the gateway was healthy)"

say "the API reference, without a token: /openapi.json is the committed merged document, /docs a page"
curl -sf --max-time 10 "http://127.0.0.1:$MRP_GATEWAY_PORT/openapi.json" | cmp -s - charts/gateway/files/docs/openapi.json ||
  { say "/openapi.json is not charts/gateway/files/docs/openapi.json"; exit 1; }
curl -sf --max-time 10 --compressed "http://127.0.0.1:$MRP_GATEWAY_PORT/docs/swagger-ui-bundle.js" | grep -q SwaggerUIBundle ||
  { say "/docs/swagger-ui-bundle.js is not Swagger UI"; exit 1; }

say "the seed flow through Envoy on http://127.0.0.1:$MRP_GATEWAY_PORT"
node libs/operator/src/cli.ts smoke --url "http://127.0.0.1:$MRP_GATEWAY_PORT"
status=0
say "passed"
