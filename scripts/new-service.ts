/**
 * `make new-service NAME=<name>-service [PORT=<port>] [DB=yes|no]`: scaffolds a service the way the others
 * are built, and registers it everywhere the platform lists its services (docs/adding-a-service.md).
 *
 * - services/<name>/: config, wiring, a first resource (`POST /v1/<base>/items`, `GET /v1/<base>/items/:id`)
 *   in http/, domain/ and data/ (Postgres with DB=yes, memory otherwise), main.ts, migrate.ts and a first
 *   migration (DB=yes), a unit test of the domain; tests/integration/<name>.test.ts against the real auth
 *   (and Postgres); the contracts in libs/schemas/json/<base>/.
 * - services/registry.json (the one list: the gateway's route, the dev runner, Tilt, the image scripts and
 *   the workflows read it); and the files that cannot read it: the umbrella chart (dependency, values,
 *   schema, Tilt and autoscaling values), the service's chart (from scoring-service's, or
 *   audit-telemetry-service's with a database), Redis's NetworkPolicy, Postgres's databases, skaffold.yaml,
 *   docker-compose.yml, the Prometheus scrape configs, the TypeScript project references and the tests'
 *   dependencies. tests/packaging/service-registry.test.ts checks those lists.
 * - Then it links the workspace (npm install; NEW_SERVICE_INSTALL=no skips it) and writes what is generated:
 *   the contract types, the gateway's renderings, the chart's README, and formats what it touched; last,
 *   with the workspace linked, the gateway's API reference (make api-docs, which needs Postgres and Redis:
 *   without them it says to run it later).
 *
 * The files it writes come from scripts/new-service/template/ (placeholders `__NAME__`, `__BASE__`,
 * `__PASCAL__`, `__CAMEL__`, `__PORT__`, `__DATABASE__`, `__VERSION__`, `__MIGRATION__`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseServiceRegistry, SERVICE_REGISTRY_FILE } from '@mrp/gateway';

const ROOT = join(import.meta.dirname, '..');
const TEMPLATE = join(import.meta.dirname, 'new-service', 'template');

/** What the scaffold is asked for: `NAME=...`, `PORT=...`, `DB=yes|no`, from arguments or the environment. */
export interface NewServiceRequest {
  readonly name: string;
  readonly port: number;
  readonly database: string | null;
}

function fail(message: string): never {
  process.stderr.write(`make new-service: ${message}\n`);
  process.exit(2);
}

function setting(key: string): string | undefined {
  const argument = process.argv.slice(2).find((each) => each.startsWith(`${key}=`));
  const value = argument === undefined ? process.env[key] : argument.slice(key.length + 1);
  return value === '' ? undefined : value;
}

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const touched = new Set<string>();
function write(path: string, content: string): void {
  mkdirSync(dirname(join(ROOT, path)), { recursive: true });
  writeFileSync(join(ROOT, path), content);
  touched.add(path);
}

/** Inserts `text` before the first line matching `anchor` (after it with `after`); fails when there is none. */
function insertAt(path: string, anchor: RegExp, text: string, where: 'before' | 'after' = 'before'): void {
  const content = read(path);
  const lines = content.split('\n');
  const indexes = lines.flatMap((line, index) => (anchor.test(line) ? [index] : []));
  if (indexes.length === 0) fail(`${path}: no line matches ${String(anchor)}; add the service there by hand`);
  const at = where === 'before' ? indexes[0]! : indexes.at(-1)! + 1;
  lines.splice(at, 0, ...text.replace(/\n$/, '').split('\n'));
  write(path, lines.join('\n'));
}

const pascal = (base: string) =>
  base
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** The request, checked against the registry: a new name, a free port, a database name of its own. */
export function parseRequest(): NewServiceRequest {
  const registry = parseServiceRegistry(JSON.parse(read('services/registry.json')));
  const name = setting('NAME') ?? fail('NAME is required, e.g. make new-service NAME=invoice-service');
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*-service$/.test(name))
    fail(`NAME "${name}" must be lowercase words joined by "-" ending in "-service" (e.g. invoice-service)`);
  if (registry.some((service) => service.name === name) || existsSync(join(ROOT, 'services', name)))
    fail(`${name} exists already`);
  const used = new Set(registry.map((service) => service.port));
  let port = Math.max(...used) + 1;
  const requested = setting('PORT');
  if (requested !== undefined) {
    port = Number(requested);
    if (used.has(port)) fail(`PORT ${requested} is taken by another service`);
  }
  const db = setting('DB') ?? 'no';
  if (db !== 'yes' && db !== 'no') fail(`DB must be yes or no, not "${db}"`);
  const base = name.slice(0, -'-service'.length);
  const database = db === 'yes' ? base.replaceAll('-', '_') : null;
  if (database !== null && registry.some((service) => service.database === database))
    fail(`the database mrp_${database} belongs to another service`);
  // The same rules the gateway applies when it reads the registry (port range, route prefixes).
  parseServiceRegistry({
    services: [...registry, { name, port, database, routes: [{ name: base, pathPrefix: `/v1/${base}` }] }],
  });
  return { name, port, database };
}

function placeholders(request: NewServiceRequest): Record<string, string> {
  const base = request.name.slice(0, -'-service'.length);
  const Pascal = pascal(base);
  return {
    __NAME__: request.name,
    __BASE__: base,
    __PASCAL__: Pascal,
    __CAMEL__: Pascal.charAt(0).toLowerCase() + Pascal.slice(1),
    __PORT__: String(request.port),
    __DATABASE__: request.database === null ? '' : `mrp_${request.database}`,
    __VERSION__: (JSON.parse(read('package.json')) as { version: string }).version,
    __MIGRATION__: `${Date.now()}_create-items`,
  };
}

const fill = (text: string, values: Record<string, string>) =>
  Object.entries(values).reduce((result, [key, value]) => result.replaceAll(key, value), text);

/** Copies a template folder into the repository, filling in the placeholders of paths and contents. */
function copyTemplate(from: string, to: string, values: Record<string, string>): void {
  for (const entry of readdirSync(from)) {
    const source = join(from, entry);
    const target = join(to, fill(entry.replace(/\.tmpl$/, ''), values));
    if (statSync(source).isDirectory()) copyTemplate(source, target, values);
    else write(relative(ROOT, target), fill(readFileSync(source, 'utf8'), values));
  }
}

/** The service's own files, its contracts and its integration test. */
function writeService(request: NewServiceRequest, values: Record<string, string>): void {
  const folder = join(ROOT, 'services', request.name);
  const { integration, schemas, ...common } = Object.fromEntries(
    readdirSync(join(TEMPLATE, 'common')).map((entry) => [entry, join(TEMPLATE, 'common', entry)]),
  );
  for (const path of Object.values(common)) {
    const target = join(
      folder,
      fill(relative(join(TEMPLATE, 'common'), path).replace(/\.tmpl$/, ''), values),
    );
    if (statSync(path).isDirectory()) copyTemplate(path, target, values);
    else write(relative(ROOT, target), fill(readFileSync(path, 'utf8'), values));
  }
  copyTemplate(join(TEMPLATE, request.database === null ? 'memory' : 'db'), folder, values);
  copyTemplate(schemas!, join(ROOT, 'libs', 'schemas', 'json', values.__BASE__!), values);
  const withDb = request.database !== null;
  const test = fill(readFileSync(join(integration!, '__NAME__.test.ts.tmpl'), 'utf8'), {
    ...values,
    __DB_IMPORT__: withDb ? "import { createTestDatabase } from '../support/test-database.ts';\n" : '',
    __DB_WORDS__: withDb ? ', real Postgres' : '',
    __DB_DECLARE__: withDb ? '  let database: { url: string; drop: () => Promise<void> };\n' : '',
    __DB_CREATE__: withDb
      ? `    database = await createTestDatabase('${values.__DATABASE__!.replace(/^mrp_/, '')}');`
      : '',
    __DB_ENV__: withDb ? '\n        DATABASE_URL: database.url,' : '',
    __DB_DROP__: withDb ? '    await database.drop();' : '',
  });
  write(`tests/integration/${request.name}.test.ts`, test);
  write(`services/${request.name}/README.md`, readme(request, values));
}

function readme(request: NewServiceRequest, values: Record<string, string>): string {
  const base = values.__BASE__!;
  return `# ${request.name}

Scaffolded by \`make new-service\` ([docs/adding-a-service.md](../../docs/adding-a-service.md) says what it
did and what to change next). Its Helm chart is [\`charts/${request.name}/\`](../../charts/${request.name}/).

## What it owns

- **Items** (\`src/domain/items.ts\`), the first resource, ${
    request.database === null
      ? 'kept in memory (`src/data/item.store.ts`): it has no database'
      : `in its own Postgres database \`${values.__DATABASE__}\` (\`src/data/item.store.ts\`, \`migrations/\`)`
  }.

## Endpoints

| method | path                        | who                    | what              |
| ------ | --------------------------- | ---------------------- | ----------------- |
| POST   | \`/v1/${base}/items\`     | admin, analyst         | create an item    |
| GET    | \`/v1/${base}/items/:id\` | admin, analyst, viewer | read one item     |

Plus \`/healthz\`, \`/readyz\`, \`/metrics\` and \`/openapi.json\` (internal). The gateway routes \`/v1/${base}\` to it
(\`services/registry.json\`).

## Configuration

Defined in [\`src/config.ts\`](src/config.ts): the shared keys (\`PORT\`, default \`${request.port}\`, ...), token
verification (\`AUTH_JWKS_URL\`, ...), \`REDIS_URL\` (token revocations)${request.database === null ? '' : ', and the database keys (`DATABASE_URL`, `DATABASE_POOL_MAX`, `MIGRATE_ON_START`, ...)'}.

## Tests alone

\`\`\`bash
MOCHA_SPEC='services/${request.name}/test/**/*.test.ts tests/integration/${request.name}.test.ts' ./scripts/toolchain.sh mocha
\`\`\`
`;
}

/** The service's chart: a copy of a chart built the same way, renamed, with its own environment and policy. */
function writeChart(request: NewServiceRequest, values: Record<string, string>): void {
  const source = request.database === null ? 'scoring-service' : 'audit-telemetry-service';
  const sourceDatabase = request.database === null ? undefined : 'mrp_audit';
  const target = join(ROOT, 'charts', request.name);
  cpSync(join(ROOT, 'charts', source), target, {
    recursive: true,
    filter: (path) => !/\/(charts|README\.md)$|\.tgz$|Chart\.lock$/.test(path),
  });
  for (const file of readdirSync(target, { recursive: true, encoding: 'utf8' })) {
    const path = join(target, file);
    if (!statSync(path).isFile()) continue;
    let content = readFileSync(path, 'utf8').replaceAll(source, request.name);
    if (sourceDatabase) content = content.replaceAll(sourceDatabase, values.__DATABASE__!);
    write(relative(ROOT, path), content);
  }
  const description = `${request.name}: scaffolded by make new-service; describe what it does.`;
  const chart = join('charts', request.name, 'Chart.yaml');
  write(chart, read(chart).replace(/^description: .*$/m, `description: '${description}'`));
  const valuesFile = join('charts', request.name, 'values.yaml');
  write(valuesFile, read(valuesFile).replace(/^# .*$/m, `# ${description}`));
  const withDb = request.database !== null;
  write(
    join('charts', request.name, 'templates', '_env.tpl'),
    `{{/* ${request.name}'s environment (keys: services/${request.name}/src/config.ts). */}}
{{- define "${request.name}.env" -}}
{{ include "mrp-lib.env.common" . }}
{{ include "mrp-lib.env.tokenVerification" . }}
${withDb ? '{{ include "mrp-lib.env.database" . }}\n' : ''}{{ include "mrp-lib.env.redis" . }}
{{- end }}
${withDb ? `\n{{- define "${request.name}.migrationEnv" -}}\n{{- end }}\n` : ''}`,
  );
  write(
    join('charts', request.name, 'templates', 'networkpolicy.yaml'),
    `{{- /* ${request.name} answers only these callers and calls only these peers. */}}
{{ include "mrp-lib.networkPolicy" (dict "root" .
  "ingress" (list
    (dict "from" (list "gateway") "ports" (list 8080))
    (dict "from" (list "prometheus") "ports" (list 8080)))
  "egress" (concat (list
${withDb ? '    (dict "to" (list "postgres") "ports" (list 5432))\n' : ''}    (dict "to" (list "redis") "ports" (list 6379))
    (dict "to" (list "auth-service") "ports" (list 8080)))
    (include "mrp-lib.tracingEgress" . | fromYamlArray))) }}
`,
  );
}

/** Every place that lists the services and cannot read services/registry.json. */
function register(request: NewServiceRequest, values: Record<string, string>): void {
  const { name, port } = request;
  const base = values.__BASE__!;
  const database = values.__DATABASE__!;
  const withDb = request.database !== null;

  const registry = JSON.parse(read('services/registry.json')) as { services: unknown[] };
  registry.services.push({
    name,
    port,
    database: request.database,
    routes: [{ name: base, pathPrefix: `/v1/${base}` }],
  });
  write(relative(ROOT, SERVICE_REGISTRY_FILE), `${JSON.stringify(registry, null, 2)}\n`);

  insertAt(
    'charts/platform/Chart.yaml',
    /^ {2}- name: postgres$/,
    `  - name: ${name}\n    version: 0.1.0\n    repository: file://../${name}\n`,
  );
  insertAt(
    'charts/platform/values.yaml',
    /^[a-z0-9-]+-service: \{\}$/,
    `# ${name} (charts/${name}/values.yaml).\n${name}: {}\n`,
    'after',
  );
  const schema = JSON.parse(read('charts/platform/values.schema.json')) as {
    properties: Record<string, unknown>;
  };
  const entries = Object.entries(schema.properties);
  const after = entries.findLastIndex(([key]) => key.endsWith('-service'));
  entries.splice(after + 1, 0, [
    name,
    { type: 'object', description: `charts/${name}/values.yaml (checked by its own schema).` },
  ]);
  schema.properties = Object.fromEntries(entries);
  write('charts/platform/values.schema.json', `${JSON.stringify(schema, null, 2)}\n`);
  write(
    'charts/platform/values-tilt.yaml',
    `${read('charts/platform/values-tilt.yaml').replace(/\n*$/, '\n')}${name}:\n${
      withDb
        ? `  database:\n    existingSecret: mrp-${name}-database\n  migrations:\n    command: [node, src/migrate.ts]\n`
        : ''
    }  securityContext:\n    readOnlyRootFilesystem: false\n`,
  );
  write(
    'charts/platform/ci/autoscaling-values.yaml',
    `${read('charts/platform/ci/autoscaling-values.yaml').replace(/\n*$/, '\n')}${name}:\n  autoscaling:\n    enabled: true\n`,
  );
  // Every service reads token revocations from Redis (ADR 0021).
  const redisPolicy = 'charts/redis/templates/networkpolicy.yaml';
  write(redisPolicy, read(redisPolicy).replace(/("from" \(list(?: "[a-z0-9-]+")+)\)/, `$1 "${name}")`));
  if (withDb) {
    insertAt(
      'charts/postgres/values.yaml',
      /^ {4}service: [a-z0-9-]+$/,
      `  - name: ${database}\n    service: ${name}`,
      'after',
    );
  }

  insertAt(
    'skaffold.yaml',
    /^ {4}# Envoy and the API reference it serves/,
    `    - image: mrp/${name}\n      context: .\n      docker:\n        dockerfile: Dockerfile\n        target: runtime\n        buildArgs:\n          SERVICE: ${name}\n`,
  );
  const variable = name.replaceAll('-', '_');
  insertAt(
    'skaffold.yaml',
    /^ {10}gateway\.image\.repository:/,
    `          ${name}.image.repository: '{{.IMAGE_REPO_mrp_${variable}}}'\n          ${name}.image.tag: '{{.IMAGE_TAG_mrp_${variable}}}'\n`,
  );

  const passwordVariable = `MRP_${request.database?.toUpperCase() ?? ''}_DB_PASSWORD`;
  insertAt(
    'docker-compose.yml',
    /^ {2}# The edge$/,
    `  ${name}:
    <<: *mrp-service
    image: mrp/${name}:dev
    build:
      context: .
      dockerfile: Dockerfile
      target: runtime
      args:
        SERVICE: ${name}
        NODE_IMAGE: \${MRP_NODE_IMAGE:-node:24-alpine}
    # Built from this checkout on every up (layers cached), never pulled: no one else's mrp/* image runs.
    pull_policy: build
    depends_on:
      auth-service:
        condition: service_healthy
${withDb ? '      postgres:\n        condition: service_healthy\n' : ''}      redis:
        condition: service_started
    environment:
      <<: [*mrp-environment, *jwks]
      OTEL_SERVICE_NAME: ${name}
${
  withDb
    ? `      DATABASE_URL: postgres://${database}:\${${passwordVariable}:-mrp-${request.database}-dev-only}@postgres:5432/${database}\n      MIGRATE_ON_START: 'true'\n`
    : ''
}      REDIS_URL: redis://redis:6379

`,
  );
  // The gateway waits for every service: its depends_on, kept in alphabetical order.
  const compose = read('docker-compose.yml').split('\n');
  const waits = compose.findIndex((line) =>
    /^ {6}# Envoy's listener waits for the first JWKS fetch/.test(line),
  );
  if (waits === -1)
    fail("docker-compose.yml: the gateway's depends_on was not found; add the service there by hand");
  let at = waits + 1;
  while (/^ {6}[a-z0-9-]+:$/.test(compose[at] ?? '') && compose[at]!.trim().slice(0, -1) < name) at += 2;
  compose.splice(at, 0, `      ${name}:`, '        condition: service_healthy');
  write('docker-compose.yml', compose.join('\n'));
  if (withDb) {
    const compose = read('docker-compose.yml').replace(/^( {6}MRP_DATABASES: .*)$/m, `$1 ${database}`);
    write('docker-compose.yml', compose);
    insertAt(
      'docker-compose.yml',
      /^ {6}MRP_PASSWORD_MRP_[A-Z_]+: /,
      `      MRP_PASSWORD_${database.toUpperCase()}: \${${passwordVariable}:-mrp-${request.database}-dev-only}`,
      'after',
    );
  }

  for (const [file, target] of [
    ['grafana/prometheus/prometheus.yml', `127.0.0.1:${port}`],
    ['grafana/prometheus/prometheus.compose.yml', `${name}:8080`],
  ] as const) {
    insertAt(
      file,
      /^ {2}- job_name: envoy$/,
      `  - job_name: ${name}\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['${target}']\n`,
    );
  }

  for (const [file, path] of [
    ['tsconfig.json', `services/${name}`],
    ['tests/tsconfig.json', `../services/${name}`],
  ] as const) {
    const config = JSON.parse(read(file)) as { references: { path: string }[] };
    config.references.push({ path });
    write(file, `${JSON.stringify(config, null, 2)}\n`);
  }
  const tests = JSON.parse(read('tests/package.json')) as { dependencies: Record<string, string> };
  tests.dependencies = Object.fromEntries(
    Object.entries({ ...tests.dependencies, [`@mrp/${name}`]: '*' }).sort(([a], [b]) => a.localeCompare(b)),
  );
  write('tests/package.json', `${JSON.stringify(tests, null, 2)}\n`);
}

function run(command: string, args: readonly string[]): void {
  execFileSync(command, args, { cwd: ROOT, stdio: 'inherit' });
}

if (import.meta.main) {
  const request = parseRequest();
  const values = placeholders(request);
  writeService(request, values);
  writeChart(request, values);
  register(request, values);
  if (process.env.NEW_SERVICE_INSTALL !== 'no')
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
  run(process.execPath, ['scripts/contract-types.ts']);
  run(process.execPath, ['envoy/src/committed-renderings.ts']);
  run(process.execPath, ['scripts/chart-readme.ts']);
  run('npx', ['prettier', '--log-level=warn', '--ignore-unknown', '--write', ...touched]);
  let apiDocs = process.env.NEW_SERVICE_INSTALL !== 'no';
  if (apiDocs) {
    try {
      run('make', ['--no-print-directory', 'api-docs']);
    } catch {
      apiDocs = false;
    }
  }
  process.stdout.write(
    `\n${request.name} is scaffolded on port ${request.port}${request.database === null ? '' : ` with the database mrp_${request.database}`}, routed at /v1/${values.__BASE__} by the gateway.\n` +
      `Next: ${apiDocs ? '' : "make api-docs (the gateway's API reference, with Postgres and Redis up), "}make test; docs/adding-a-service.md says what to change next.\n`,
  );
}
