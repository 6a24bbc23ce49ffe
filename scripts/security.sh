#!/usr/bin/env bash
# make security: the supply-chain and static checks that can run on this machine, offline where the
# network is not needed. Each check prints one line with its result; the run fails when any check fails,
# and a check that cannot run here says so (none is skipped silently).
#   1. semgrep: the rules committed in .semgrep/, tested against their examples, then over the code.
#   2. checkov: the rendered umbrella chart (helm template, defaults and kind values) and the Dockerfiles,
#      with .checkov.yaml (every waiver has its reason).
#   3. hadolint: every Dockerfile, nothing at the info level or above.
#   4. SBOMs (CycloneDX JSON): the workspace's production dependencies and each service's, in
#      .tools/security/reports/.
#   5. npm audit --omit=dev: high and critical advisories fail, except those in security/audit-allowlist.json
#      (each with a reason and an expiry). Where the advisory endpoint cannot be reached, one line says so.
# The security workflow (.github/workflows/security.yml) runs the same, plus CodeQL and the image scans.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SEC="$ROOT/.tools/security"
REPORTS="$SEC/reports"
# The services of services/registry.json (the one list), in its order.
mapfile -t SERVICES < <(node -e 'for (const { name } of require(process.argv[1]).services) console.log(name)' "$ROOT/services/registry.json")
[ ${#SERVICES[@]} -gt 0 ] || { echo "could not read the services from services/registry.json (node is needed)" >&2; exit 1; }
failed=()
say() { printf '[security] %s\n' "$*"; }
result() { # name, status (0 = passed), detail
  if [ "$2" = 0 ]; then say "PASS  $1${3:+: $3}"; else say "FAIL  $1${3:+: $3}"; failed+=("$1"); fi
}

# The scanners, pinned in scripts/security-tools.txt; reinstalled when that file changes.
install_tools() {
  local stamp="$SEC/.requirements" want
  want="$(cat scripts/security-tools.txt)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return
  say "installing the scanners into .tools/security (once)"
  [ -x "$SEC/venv/bin/pip" ] || python3 -m venv "$SEC/venv"
  # shellcheck disable=SC2046
  "$SEC/venv/bin/pip" install --quiet --disable-pip-version-check \
    $(grep -v '^#' scripts/security-tools.txt | grep -v '^npm:') >"$SEC/install.log" 2>&1 ||
    { tail -n 30 "$SEC/install.log"; say "installing the Python scanners failed"; exit 1; }
  # shellcheck disable=SC2046
  npm install --prefix "$SEC/npm" --no-audit --no-fund --loglevel=error \
    $(grep '^npm:' scripts/security-tools.txt | sed 's/^npm://') >>"$SEC/install.log" 2>&1 ||
    { tail -n 30 "$SEC/install.log"; say "installing the npm scanners failed"; exit 1; }
  printf '%s' "$want" >"$stamp"
}
install_tools
mkdir -p "$REPORTS"
rm -f "$REPORTS"/*
export PATH="$SEC/venv/bin:$PATH"
export SEMGREP_SEND_METRICS=off

# 1. semgrep
status=0
for rules in .semgrep/*.yml; do
  semgrep --test --metrics=off --disable-version-check --config "$rules" "${rules%.yml}.ts" \
    >"$REPORTS/semgrep-test.log" 2>&1 || { status=1; cat "$REPORTS/semgrep-test.log"; }
done
result "semgrep rules match their examples" "$status"
configs=()
for rules in .semgrep/*.yml; do configs+=(--config "$rules"); done
status=0
semgrep scan --metrics=off --disable-version-check --quiet --error "${configs[@]}" --exclude .semgrep \
  --json --output "$REPORTS/semgrep.json" services libs scripts envoy tests >/dev/null 2>"$REPORTS/semgrep.log" || status=$?
findings="$(node -e 'const r=require(process.argv[1]);console.log(r.results.length)' "$REPORTS/semgrep.json" 2>/dev/null || echo "?")"
if [ "$status" != 0 ]; then
  node -e 'for (const f of require(process.argv[1]).results) console.log(`  ${f.path}:${f.start.line} ${f.check_id}`)' \
    "$REPORTS/semgrep.json" 2>/dev/null || tail -n 20 "$REPORTS/semgrep.log"
fi
result "semgrep over the code" "$status" "$findings findings"

# 2. checkov
scripts/chart-deps.sh >"$REPORTS/chart-deps.log" 2>&1 || { cat "$REPORTS/chart-deps.log"; exit 1; }
status=0
for values in charts/platform/values.yaml charts/platform/values-dev.yaml; do
  name="$(basename "$values" .yaml)"
  # (helm reports the charts' symlinked files at INFO level on stderr)
  helm template mrp charts/platform --namespace mrp --values "$values" >"$REPORTS/chart-$name.yaml" 2>"$REPORTS/helm.log" ||
    { cat "$REPORTS/helm.log"; exit 1; }
done
dockerfiles=(Dockerfile images/*.Dockerfile)
files=()
for file in "$REPORTS"/chart-*.yaml "${dockerfiles[@]}"; do files+=(-f "$file"); done
checkov --config-file .checkov.yaml "${files[@]}" --output cli --output junitxml \
  --output-file-path "$REPORTS/checkov-cli,$REPORTS/checkov-junit" >/dev/null 2>"$REPORTS/checkov.log" || status=$?
summary="$(grep -h -B2 -E '^Passed checks' "$REPORTS/checkov-cli" 2>/dev/null | grep -v '^--' | grep -v '^$' |
  sed 's/ scan results://; s/Passed checks: /passed /; s/, Failed checks: /, failed /; s/, Skipped checks: /, waived /' |
  paste -sd ';' | sed 's/;/; /g' | sed 's/\(dockerfile\|kubernetes\) /\1: /g' || true)"
[ "$status" = 0 ] || grep -E -A3 '^Check:' "$REPORTS/checkov-cli" | head -n 60
result "checkov over the charts and Dockerfiles" "$status" "${summary%;}"

# 3. hadolint
status=0
hadolint --failure-threshold info --no-color "${dockerfiles[@]}" || status=$?
result "hadolint" "$status" "${#dockerfiles[@]} Dockerfiles"

# 4. SBOMs
cdx="$SEC/npm/node_modules/.bin/cyclonedx-npm"
status=0
"$cdx" --omit dev --output-format JSON --output-file "$REPORTS/sbom-workspace.cdx.json" >"$REPORTS/sbom.log" 2>&1 || status=1
for service in "${SERVICES[@]}"; do
  "$cdx" --omit dev --workspace "services/$service" --output-format JSON \
    --output-file "$REPORTS/sbom-$service.cdx.json" >>"$REPORTS/sbom.log" 2>&1 || status=1
done
[ "$status" = 0 ] || tail -n 20 "$REPORTS/sbom.log"
counts="$(node -e '
  const { readdirSync, readFileSync } = require("node:fs");
  const dir = process.argv[1];
  console.log(readdirSync(dir).filter((f) => f.endsWith(".cdx.json")).sort()
    .map((f) => `${f.replace(/^sbom-|\.cdx\.json$/g, "")} ${JSON.parse(readFileSync(`${dir}/${f}`)).components.length}`).join(", "));
' "$REPORTS" 2>/dev/null || echo "?")"
result "SBOMs (CycloneDX, components per SBOM)" "$status" "$counts; in ${REPORTS#"$ROOT"/}"

# 5. npm audit
npm audit --omit=dev --json >"$REPORTS/npm-audit.json" 2>"$REPORTS/npm-audit.log" || true
if node -e 'process.exit("vulnerabilities" in require(process.argv[1]) ? 0 : 1)' "$REPORTS/npm-audit.json" 2>/dev/null; then
  status=0
  node scripts/audit-gate.ts "$REPORTS/npm-audit.json" security/audit-allowlist.json || status=$?
  result "npm audit --omit=dev (high and critical, allow-list applied)" "$status"
else
  why="$(node -e 'const r = require(process.argv[1]); console.log(r.statusCode ? `it answered ${r.statusCode}` : (r.error?.summary ?? "no report"))' \
    "$REPORTS/npm-audit.json" 2>/dev/null || echo "no report")"
  say "NOT RUN  npm audit: the advisory endpoint cannot be used from here ($why); the security workflow runs it"
fi

if [ "${#failed[@]}" -gt 0 ]; then
  say "failed: ${failed[*]}"
  exit 1
fi
say "passed; reports in ${REPORTS#"$ROOT"/}"
