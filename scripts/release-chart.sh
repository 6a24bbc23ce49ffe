#!/usr/bin/env bash
# Packages the umbrella chart for a release (.github/workflows/release.yml): our own images are the
# release's (ghcr.io/<owner>/mrp/<name>, where the workflow pushes them, tagged with each chart's appVersion,
# the release's version; third-party images such as postgres stay as they are, and global.imageRegistry stays
# free for a mirror), and its metadata names where it comes from (home, sources, icon) and what it runs
# (Artifact Hub's images and links annotations). It edits charts/ in place, so run it on a checkout made
# for the release.
#   scripts/release-chart.sh <owner> <version> <repository URL> <output folder>
set -euo pipefail
[ $# = 4 ] || { echo "usage: $0 <owner> <version> <repository URL> <output folder>" >&2; exit 2; }
owner="$1" version="$2" repository="$3" out="$4"
cd "$(dirname "$0")/.."
chart=charts/platform/Chart.yaml
[ "$(grep -E '^version:' "$chart" | awk '{print $2}')" = "$version" ] ||
  { echo "charts/platform is not version $version" >&2; exit 1; }

sed -i "s|^  artifacthub.io/prerelease: 'true'$|  artifacthub.io/prerelease: 'false'|" "$chart"
{
  echo "home: $repository"
  echo "sources: [$repository]"
  echo "icon: $repository/raw/v$version/docs/images/icon.svg"
} >>"$chart"
# Our own images: the umbrella chart's dependencies whose image is mrp/<chart name> (the services' and
# the gateway's); each of those charts gets the release's repository.
own=()
for name in $(awk '/^  - name: / { print $3 }' "$chart"); do
  values="charts/$name/values.yaml"
  grep -q "^  repository: mrp/$name$" "$values" 2>/dev/null || continue
  sed -i "s|^  repository: mrp/$name$|  repository: ghcr.io/$owner/mrp/$name|" "$values"
  own+=("$name")
done
[ ${#own[@]} -gt 0 ] || { echo "$chart names no chart of an image of ours (repository: mrp/<name>)" >&2; exit 1; }
images="$(for name in "${own[@]}"; do
  printf '    - name: %s\n      image: ghcr.io/%s/mrp/%s:%s\n' "$name" "$owner" "$name" "$version"
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
