#!/usr/bin/env bash
# make mutation: StrykerJS over the libraries' pure modules (stryker.config.json: which modules, the unit
# tests of libs/ as the test command), a report, not part of make test. Stryker and its mocha runner are
# installed into .tools/mutation at the versions of scripts/mutation-tools.txt; the report is printed and
# written to .tools/mutation/reports/ (HTML and JSON). Takes tens of minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.tools/mutation
say() { printf '\033[2m[mutation]\033[0m %s\n' "$*"; }

want="$(grep -v '^#' scripts/mutation-tools.txt)"
if [ ! -f "$TOOLS/.installed" ] || [ "$(cat "$TOOLS/.installed")" != "$want" ]; then
  say "installing StrykerJS into $TOOLS (once)"
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"private":true}' >"$TOOLS/package.json"
  # shellcheck disable=SC2086
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error $want >"$TOOLS/install.log" 2>&1 ||
    { tail -n 30 "$TOOLS/install.log"; say "installing StrykerJS failed"; exit 1; }
  printf '%s' "$want" >"$TOOLS/.installed"
fi

# Mocha 12 ships its command-line helpers as .cjs; the mocha runner still requires them without an
# extension. Point it at the files that exist (idempotent).
wrapper="$TOOLS/node_modules/@stryker-mutator/mocha-runner/dist/src/lib-wrapper.js"
for helper in run-helpers options collect-files; do
  sed -i "s#/lib/cli/$helper\`)#/lib/cli/$helper.cjs\`)#" "$wrapper"
done

mkdir -p "$TOOLS/reports"
config=stryker.config.json
# MUTATION_SPEC: only these unit tests (space-separated globs) run against each mutant, e.g. the module's own
# test file with MUTATE; every static mutant otherwise reruns all of libs' unit tests.
if [ -n "${MUTATION_SPEC:-}" ]; then
  config="$TOOLS/stryker.config.json"
  node -e '
    const [from, to, spec] = process.argv.slice(1);
    const config = JSON.parse(require("node:fs").readFileSync(from, "utf8"));
    delete config.$schema;
    config.mochaOptions.spec = spec.split(/\s+/).filter(Boolean);
    require("node:fs").writeFileSync(to, JSON.stringify(config, null, 2));
  ' stryker.config.json "$config" "$MUTATION_SPEC"
  say "unit tests run against each mutant: $MUTATION_SPEC"
fi
exec "$TOOLS/node_modules/.bin/stryker" run "$config" "$@"
