#!/usr/bin/env bash
# Checks that the tools a Makefile target needs are on PATH, and says how to get each missing one.
#   scripts/require.sh docker kind skaffold
set -euo pipefail
declare -A HOW=(
  [docker]="Docker Engine or Docker Desktop (https://docs.docker.com/get-docker/)"
  [kind]="kind, Kubernetes in Docker (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
  [kubectl]="kubectl (https://kubernetes.io/docs/tasks/tools/); scripts/toolchain.sh provides it on Linux x86_64"
  [helm]="Helm 3.14+ or 4 (https://helm.sh/docs/intro/install/); scripts/toolchain.sh provides it on Linux x86_64"
  [skaffold]="Skaffold v2 (https://skaffold.dev/docs/install/)"
  [tilt]="Tilt (https://docs.tilt.dev/install.html)"
)
missing=0
for tool in "$@"; do
  if ! command -v "$tool" >/dev/null; then
    echo "missing: $tool — install ${HOW[$tool]:-$tool}" >&2
    missing=1
  fi
done
exit "$missing"
