#!/usr/bin/env bash
# Vendors every chart's dependencies (file://, so nothing is downloaded) in dependency order: the library
# chart first, then the component charts, then the umbrella chart that packs them. helm install, Skaffold,
# Tilt and the chart tests need it after a change to any chart; the output (charts/*/charts/, Chart.lock)
# is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/../charts"
command -v helm >/dev/null || { echo "helm is required (scripts/toolchain.sh provides it on Linux x86_64)" >&2; exit 1; }

update() { helm dependency update --skip-refresh "$1" >/dev/null || { echo "helm dependency update $1 failed" >&2; exit 1; }; }

for chart in */; do
  chart="${chart%/}"
  [ -f "$chart/Chart.yaml" ] || continue
  case "$chart" in mrp-lib | platform) continue ;; esac
  update "$chart"
done
[ -f platform/Chart.yaml ] && update platform
echo "chart dependencies vendored"
