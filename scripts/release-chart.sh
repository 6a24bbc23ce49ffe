#!/usr/bin/env bash
# Packages the umbrella chart for a release (.github/workflows/release.yml): its images are the release's
# (global.imageRegistry = ghcr.io/<owner>, where the workflow pushes mrp/<service>:<version>; each chart's
# appVersion is that version), and its metadata names where it comes from (home, sources, icon) and what it
# runs (Artifact Hub's images and links annotations). It edits charts/ in place, so run it on a checkout
# made for the release.
#   scripts/release-chart.sh <owner> <version> <repository URL> <output folder>
set -euo pipefail
[ $# = 4 ] || { echo "usage: $0 <owner> <version> <repository URL> <output folder>" >&2; exit 2; }
owner="$1" version="$2" repository="$3" out="$4"
cd "$(dirname "$0")/.."
chart=charts/platform/Chart.yaml
[ "$(grep -E '^version:' "$chart" | awk '{print $2}')" = "$version" ] ||
  { echo "charts/platform is not version $version" >&2; exit 1; }

sed -i "s|^  imageRegistry: ''$|  imageRegistry: ghcr.io/$owner|" charts/platform/values.yaml
grep -q "^  imageRegistry: ghcr.io/$owner$" charts/platform/values.yaml ||
  { echo "charts/platform/values.yaml: no empty global.imageRegistry to set" >&2; exit 1; }
sed -i "s|^  artifacthub.io/prerelease: 'true'$|  artifacthub.io/prerelease: 'false'|" "$chart"
{
  echo "home: $repository"
  echo "sources: [$repository]"
  echo "icon: $repository/raw/v$version/docs/images/icon.svg"
} >>"$chart"
# The services are the umbrella chart's dependencies named *-service (the charts of our own images).
services="$(awk '/^  - name: .*-service$/ { print $3 }' "$chart")"
[ -n "$services" ] || { echo "$chart names no *-service dependency" >&2; exit 1; }
images="$(for service in $services; do
  printf '    - name: %s\n      image: ghcr.io/%s/mrp/%s:%s\n' "$service" "$owner" "$service" "$version"
done)"
awk -v images="$images" -v repo="$repository" '
  { print }
  /^annotations:$/ {
    print "  artifacthub.io/images: |"; print images
    print "  artifacthub.io/links: |"; print "    - name: source"; print "      url: " repo
  }
' "$chart" >"$chart.new"
mv "$chart.new" "$chart"

bash scripts/chart-deps.sh
helm lint --strict charts/platform
helm package charts/platform --destination "$out"
