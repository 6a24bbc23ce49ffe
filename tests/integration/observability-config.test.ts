// The Prometheus configuration, SLO rules and Grafana dashboards under grafana/ are checked by the real
// promtool, and every metric they name must be one the platform really exposes.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createHttpMetrics } from '@mrp/platform';
import { parse as parseYaml } from 'yaml';

const root = resolve(import.meta.dirname, '..', '..');
const grafana = join(root, 'grafana');
const prometheusConfig = 'grafana/prometheus/prometheus.yml';
const rulesFile = 'grafana/prometheus/rules/slo.rules.yml';
const rulesTestFile = 'grafana/prometheus/rules/slo.rules.test.yml';
const envoyMetricNames = 'grafana/prometheus/envoy-metric-names.txt';
const dashboardFiles = ['platform-overview.json', 'gateway.json', 'event-pipeline.json'];

const SEED_P95 = 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))';
const SEED_ERROR_RATE = 'sum(rate(http_requests_total{status_code=~"5.."}[5m]))';

const EXPECTED_ALERTS = [
  'ServiceAvailabilityBudgetBurnFast',
  'ServiceAvailabilityBudgetBurnSlow',
  'ServiceLatencyBudgetBurnFast',
  'ServiceLatencyBudgetBurnSlow',
  'ScoringBreakerOpen',
  'EventConsumerLagHigh',
  'DeadLettersGrowing',
  'OutboxBacklogStale',
];

// ---------------------------------------------------------------------------------------------------
// promtool

const PROMTOOL_MISSING =
  'promtool is not on PATH. Install it (Debian/Ubuntu: `apt-get install -y --no-install-recommends prometheus`, ' +
  'or put the promtool binary from a Prometheus release tarball on PATH) and run the tests again.';

async function findPromtool(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'promtool');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(PROMTOOL_MISSING);
}

interface RunResult {
  code: number;
  output: string;
}

async function promtool(...args: string[]): Promise<RunResult> {
  const binary = await findPromtool();
  return new Promise((resolvePromise) => {
    execFile(binary, args, { cwd: root, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function expectPromtoolSuccess(...args: string[]): Promise<string> {
  const { code, output } = await promtool(...args);
  expect(code, `promtool ${args.join(' ')} failed:\n${output}`).to.equal(0);
  return output;
}

// ---------------------------------------------------------------------------------------------------
// Rules file (every expr on one line by convention, so it can be read without a YAML parser)

interface RulesFile {
  text: string;
  exprs: string[];
  records: string[];
  alerts: { name: string; block: string }[];
}

function unquoteYamlScalar(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("'") && trimmed.endsWith("'")) return trimmed.slice(1, -1).replaceAll("''", "'");
  if (trimmed.startsWith('"') && trimmed.endsWith('"')) return JSON.parse(trimmed) as string;
  return trimmed;
}

async function readRules(): Promise<RulesFile> {
  const text = await readFile(join(root, rulesFile), 'utf8');
  const exprs = [...text.matchAll(/^\s*expr:(.*)$/gm)].map((match) => unquoteYamlScalar(match[1]!));
  const records = [...text.matchAll(/^\s*- record:\s*(\S+)\s*$/gm)].map((match) => match[1]!);
  const alertStarts = [...text.matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)];
  const alerts = alertStarts.map((match, index) => ({
    name: match[1]!,
    block: text.slice(match.index, alertStarts[index + 1]?.index ?? text.length),
  }));
  return { text, exprs, records, alerts };
}

// ---------------------------------------------------------------------------------------------------
// Dashboards

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; query?: unknown; datasource?: unknown }[] };
  panels: Panel[];
}

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId?: string; exemplar?: boolean; datasource?: { uid: string } }[];
  panels?: Panel[];
}

async function readDashboard(file: string): Promise<Dashboard> {
  return JSON.parse(await readFile(join(grafana, 'dashboards', file), 'utf8')) as Dashboard;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

function dashboardExprs(dashboard: Dashboard): string[] {
  return allPanels(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

/** Grafana variables replaced by literals so the expression is plain PromQL. */
function substituteVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replaceAll('$service', 'case-service');
}

// ---------------------------------------------------------------------------------------------------
// Metric names: what the code registers, what prom-client adds, what Envoy serves

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** The metric (or recorded series) names a PromQL expression selects. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = stripped[match.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // exponent of a number
    if (
      stripped
        .slice(match.index + match[0].length)
        .trimStart()
        .startsWith('(')
    )
      continue; // function
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

function withSeriesSuffixes(name: string, type: string): string[] {
  if (type === 'histogram') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Metrics registered with prom-client in the libraries' and services' source (not their tests). */
async function metricsDeclaredInSource(): Promise<Set<string>> {
  const dirs: string[] = [];
  for (const parent of ['libs', 'services']) {
    for (const entry of await readdir(join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(root, parent, entry.name, 'src'));
    }
  }
  const names = new Set<string>();
  for (const dir of dirs) {
    for (const file of await sourceFiles(dir)) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(
        /new (Counter|Gauge|Histogram|Summary)\b(?:<[^>]*>)?\(\s*\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g,
      )) {
        for (const name of withSeriesSuffixes(match[2]!, match[1]!.toLowerCase())) names.add(name);
      }
    }
  }
  return names;
}

/** What a service's registry really serves: prom-client's default metrics plus the HTTP metrics. */
async function metricsOfPlatformRegistry(): Promise<Set<string>> {
  const metrics = await createHttpMetrics('observability-config-test').registry.getMetricsAsJSON();
  return new Set(metrics.flatMap((metric) => withSeriesSuffixes(metric.name, String(metric.type))));
}

async function envoyMetrics(): Promise<Set<string>> {
  const text = await readFile(join(root, envoyMetricNames), 'utf8');
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, type] = line.trim().split(/\s+/);
    for (const series of withSeriesSuffixes(name!, type ?? 'untyped')) names.add(series);
  }
  return names;
}

async function knownMetricNames(): Promise<Set<string>> {
  const rules = await readRules();
  return new Set([
    ...(await metricsDeclaredInSource()),
    ...(await metricsOfPlatformRegistry()),
    ...(await envoyMetrics()),
    ...rules.records,
  ]);
}

function unknownNames(exprs: string[], known: Set<string>): string[] {
  return [...new Set(exprs.flatMap((expr) => metricNamesIn(substituteVariables(expr))))].filter(
    (name) => !known.has(name),
  );
}

// ---------------------------------------------------------------------------------------------------

describe('observability config (grafana/): Prometheus, SLO rules and dashboards', () => {
  describe('promtool', () => {
    it('finds promtool on PATH (needed by every check below)', async () => {
      expect(await findPromtool()).to.match(/promtool$/);
    });

    it('accepts prometheus.yml, which scrapes the five services and Envoy and loads the rules', async () => {
      const output = await expectPromtoolSuccess('check', 'config', prometheusConfig);
      expect(output).to.include('1 rule files found');
      const config = await readFile(join(root, prometheusConfig), 'utf8');
      for (const port of [3001, 3002, 3003, 3004, 3005]) expect(config).to.include(`'127.0.0.1:${port}'`);
      expect(config).to.match(
        /metrics_path: \/stats\/prometheus\s+static_configs:\s+- targets: \['127\.0\.0\.1:9901'\]/,
      );
      expect(config).to.match(/scrape_interval: 15s/);
    });

    it('accepts the rules file', async () => {
      const rules = await readRules();
      const output = await expectPromtoolSuccess('check', 'rules', rulesFile);
      expect(output).to.include(`SUCCESS: ${rules.records.length + rules.alerts.length} rules found`);
    });

    it('passes the rules unit tests (each alert fires and stays quiet on synthetic series)', async () => {
      const output = await expectPromtoolSuccess('test', 'rules', rulesTestFile);
      expect(output).to.include('SUCCESS');
    });

    it('fails the rules unit tests when an alert threshold changes (the unit tests bite)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mrp-rules-'));
      try {
        const rules = await readFile(join(root, rulesFile), 'utf8');
        const broken = rules.replace(
          'outbox_oldest_unpublished_age_seconds > 60',
          'outbox_oldest_unpublished_age_seconds > 600',
        );
        expect(broken).to.not.equal(rules);
        await writeFile(join(dir, 'slo.rules.yml'), broken);
        await writeFile(join(dir, 'slo.rules.test.yml'), await readFile(join(root, rulesTestFile), 'utf8'));
        const { code, output } = await promtool('test', 'rules', join(dir, 'slo.rules.test.yml'));
        expect(code, output).to.not.equal(0);
        expect(output).to.include('OutboxBacklogStale');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('parses every dashboard query as PromQL', async () => {
      const exprs: string[] = [];
      for (const file of dashboardFiles) exprs.push(...dashboardExprs(await readDashboard(file)));
      expect(exprs.length).to.be.greaterThan(30);
      const substituted = exprs.map(substituteVariables);
      for (const expr of substituted) expect(expr, 'unsubstituted dashboard variable').to.not.include('$');
      const rulesJson = {
        groups: [
          {
            name: 'dashboard-queries',
            rules: substituted.map((expr, index) => ({ record: `dashboard:expr_${index}`, expr })),
          },
        ],
      };
      const dir = await mkdtemp(join(tmpdir(), 'mrp-dashboards-'));
      try {
        // JSON is YAML, so promtool reads it as a rules file.
        const file = join(dir, 'dashboard-queries.rules.yml');
        await writeFile(file, JSON.stringify(rulesJson, null, 2));
        const { code, output } = await promtool('check', 'rules', file);
        expect(code, `dashboard queries that are not valid PromQL:\n${output}`).to.equal(0);
        expect(output).to.include(`SUCCESS: ${exprs.length} rules found`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('rules', () => {
    it('reads one expression for each rule (exprs stay on one line)', async () => {
      const rules = await readRules();
      expect(rules.exprs).to.have.length(rules.records.length + rules.alerts.length);
      for (const expr of rules.exprs) expect(expr).to.not.match(/^[|>]/);
    });

    it('defines the SLO and pipeline alerts, each with severity, summary, description and runbook', async () => {
      const rules = await readRules();
      expect(rules.alerts.map((alert) => alert.name)).to.have.members(EXPECTED_ALERTS);
      for (const { name, block } of rules.alerts) {
        expect(block, name).to.match(/^\s+severity: (critical|warning)$/m);
        expect(block, name).to.match(/^\s+summary: \S/m);
        expect(block, name).to.match(/^\s+description: \S/m);
        expect(block, name).to.match(/^\s+runbook_url: docs\/runbook\.md#[a-z0-9-]+$/m);
      }
    });

    it('links every alert to a section of docs/runbook.md that exists, beside the ones operators look up by name', async () => {
      const rules = await readRules();
      const runbook = await readFile(join(root, 'docs', 'runbook.md'), 'utf8');
      // GitHub's anchors: headings lower-cased, spaces to dashes, punctuation dropped.
      const anchors = new Set(
        [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((match) =>
          match[1]!
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replace(/ /g, '-'),
        ),
      );
      for (const { name, block } of rules.alerts) {
        const anchor = /runbook_url: docs\/runbook\.md#([a-z0-9-]+)$/m.exec(block)![1]!;
        expect(anchors.has(anchor), `${name} links to #${anchor}`).to.be.true;
      }
      for (const failure of [
        'jwks-unreachable',
        'scoring-breaker-open',
        'event-consumer-lag-high',
        'failing-migrations',
        'rate-limited',
      ]) {
        expect(anchors.has(failure), failure).to.be.true;
      }
    });

    it('uses the SRE workbook burn rates for a 99.9% objective', async () => {
      const { alerts } = await readRules();
      const expr = (name: string) => alerts.find((alert) => alert.name === name)!.block;
      for (const ratio of ['http_requests_error_ratio', 'http_request_duration_seconds_slow_ratio']) {
        const kind = ratio === 'http_requests_error_ratio' ? 'Availability' : 'Latency';
        expect(expr(`Service${kind}BudgetBurnFast`)).to.include(
          `service:${ratio}:rate1h > (14.4 * 0.001) and service:${ratio}:rate5m > (14.4 * 0.001)`,
        );
        expect(expr(`Service${kind}BudgetBurnSlow`)).to.include(
          `service:${ratio}:rate6h > (6 * 0.001) and service:${ratio}:rate30m > (6 * 0.001)`,
        );
      }
    });

    it('has a unit test for every alert', async () => {
      const { alerts } = await readRules();
      const tests = await readFile(join(root, rulesTestFile), 'utf8');
      for (const { name } of alerts) expect(tests, name).to.match(new RegExp(`alertname: ${name}$`, 'm'));
    });
  });

  describe('metric names', () => {
    let known: Set<string>;

    before(async () => {
      known = await knownMetricNames();
    });

    it('derives the known names from the code, prom-client and Envoy', () => {
      for (const name of [
        'http_request_duration_seconds_bucket',
        'http_requests_total',
        'process_cpu_seconds_total',
        'scoring_client_breaker_state',
        'outbox_oldest_unpublished_age_seconds',
        'events_consumer_lag',
        'events_dead_lettered_total',
        'scoring_events_queued',
        'envoy_http_downstream_rq_xx',
        'envoy_cluster_upstream_rq_time_bucket',
        'service:http_requests_error_ratio:rate5m',
      ])
        expect(known, name).to.include(name);
    });

    it('rejects a misspelt metric name', () => {
      expect(metricNamesIn(SEED_P95)).to.deep.equal(['http_request_duration_seconds_bucket']);
      const typo = SEED_P95.replace('duration', 'duraton');
      expect(
        unknownNames([typo, 'sum by (service) (rate(envoy_http_downstream_rq_xxx[5m]))'], known),
      ).to.deep.equal(['http_request_duraton_seconds_bucket', 'envoy_http_downstream_rq_xxx']);
    });

    it('references only real metrics in the rules', async () => {
      const rules = await readRules();
      expect(unknownNames(rules.exprs, known)).to.deep.equal([]);
    });

    it('references only real metrics in the dashboards', async () => {
      for (const file of dashboardFiles) {
        const dashboard = await readDashboard(file);
        const variableQueries = dashboard.templating.list.flatMap((variable) => {
          const query = variable.query;
          const text = typeof query === 'string' ? query : (query as { query?: string } | undefined)?.query;
          const match = text ? /label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(text) : null;
          return match ? [match[1]!] : [];
        });
        expect(unknownNames([...dashboardExprs(dashboard), ...variableQueries], known), file).to.deep.equal(
          [],
        );
      }
    });
  });

  describe('dashboards', () => {
    it('includes the seed SLO queries verbatim in the overview', async () => {
      const exprs = dashboardExprs(await readDashboard('platform-overview.json'));
      expect(exprs).to.include(SEED_P95);
      expect(exprs).to.include(SEED_ERROR_RATE);
      expect(exprs).to.include('sum by (service) (rate(process_cpu_seconds_total[5m]))');
    });

    it('are Grafana dashboards on the provisioned Prometheus datasource', async () => {
      const datasource = await readFile(join(grafana, 'provisioning/datasources/prometheus.yml'), 'utf8');
      expect(datasource).to.match(/uid: prometheus$/m);
      // Compose and the chart each tell Grafana where their Prometheus is.
      expect(datasource).to.match(/url: \$\{PROMETHEUS_URL\}$/m);
      const provider = await readFile(join(grafana, 'provisioning/dashboards/dashboards.yml'), 'utf8');
      expect(provider).to.match(/type: file$/m);
      expect(provider).to.match(/path: \/var\/lib\/grafana\/dashboards$/m);

      const files = (await readdir(join(grafana, 'dashboards'))).filter((file) => file.endsWith('.json'));
      expect(files).to.have.members(dashboardFiles);
      const uids = new Set<string>();
      for (const file of files) {
        const dashboard = await readDashboard(file);
        expect(dashboard.schemaVersion, file).to.be.within(36, 41);
        uids.add(dashboard.uid);
        for (const panel of allPanels(dashboard.panels).filter((candidate) => candidate.type !== 'row')) {
          expect(panel.datasource?.uid, `${file}: ${panel.title}`).to.equal('prometheus');
          expect(panel.targets, `${file}: ${panel.title}`).to.not.be.empty;
        }
      }
      expect(uids.size).to.equal(files.length);
    });
  });
});

describe('traces one click from the metrics (exemplars)', () => {
  interface Datasource {
    uid: string;
    type: string;
    url: string;
    jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
  }
  const datasources = () =>
    (
      parseYaml(readFileSync(join(grafana, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
        datasources: Datasource[];
      }
    ).datasources;

  it("Grafana provisions a Jaeger datasource, and Prometheus sends the exemplars' trace ids to it", () => {
    const jaeger = datasources().find((each) => each.type === 'jaeger');
    expect(jaeger, 'a Jaeger datasource').to.not.equal(undefined);
    // Compose and the chart each tell Grafana where their Jaeger is.
    expect(jaeger!.url).to.equal('${JAEGER_URL}');
    const prometheus = datasources().find((each) => each.uid === 'prometheus')!;
    // trace_id: the exemplar label the services put on their latency buckets (request-logging.ts).
    expect(prometheus.jsonData?.exemplarTraceIdDestinations).to.deep.equal([
      { name: 'trace_id', datasourceUid: jaeger!.uid },
    ]);
  });

  it("the services' latency buckets carry the trace id under that label", async () => {
    const metrics = createHttpMetrics('exemplar-check');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    metrics.requestDuration.observe({
      labels: { method: 'GET', route: '/x', status_code: '200' },
      value: 0.2,
      exemplarLabels: { trace_id: traceId } as never,
    });
    const text = await metrics.registry.metrics();
    expect(text).to.match(
      new RegExp(
        `http_request_duration_seconds_bucket\\{[^}]*le="0\\.25"[^}]*\\} 1 # \\{trace_id="${traceId}"\\}`,
      ),
    );
  });

  it("every latency panel (a histogram's buckets) shows exemplars", async () => {
    let latencyTargets = 0;
    for (const file of dashboardFiles) {
      for (const panel of allPanels((await readDashboard(file)).panels)) {
        for (const target of panel.targets ?? []) {
          if (!target.expr.includes('_bucket')) continue;
          latencyTargets += 1;
          expect(target.exemplar, `${file}: ${panel.title} ${target.refId ?? ''}`).to.equal(true);
        }
      }
    }
    expect(latencyTargets).to.be.greaterThan(4);
  });

  it('Prometheus under Compose keeps exemplars (exemplar-storage)', () => {
    const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    expect(compose.services.prometheus!.command).to.include('--enable-feature=exemplar-storage');
    expect(compose.services.grafana!.environment?.JAEGER_URL).to.equal('http://jaeger:16686');
  });
});

describe('the OpenTelemetry collector config', () => {
  interface Pipeline {
    receivers: string[];
    processors: string[];
    exporters: string[];
  }
  interface CollectorConfig {
    receivers: Record<string, { protocols?: Record<string, { endpoint?: string }> }>;
    processors: Record<string, unknown>;
    exporters: Record<string, { endpoint?: string; tls?: { insecure?: boolean } }>;
    extensions?: Record<string, unknown>;
    service: { extensions?: string[]; pipelines: Record<string, Pipeline> };
  }
  const config = () =>
    parseYaml(readFileSync(join(root, 'grafana/otel-collector/config.yaml'), 'utf8')) as CollectorConfig;

  it('every component a pipeline names is defined, and every defined one is used', () => {
    const parsed = config();
    const used = {
      receivers: new Set<string>(),
      processors: new Set<string>(),
      exporters: new Set<string>(),
    };
    for (const pipeline of Object.values(parsed.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const name of pipeline[kind]) {
          expect(parsed[kind], `${kind}.${name}`).to.have.property(name);
          used[kind].add(name);
        }
      }
    }
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      expect([...used[kind]].sort(), kind).to.deep.equal(Object.keys(parsed[kind]).sort());
    }
    for (const name of parsed.service.extensions ?? []) expect(parsed.extensions).to.have.property(name);
  });

  it('receives OTLP over HTTP on 4318 (what the services and Envoy send), limits memory first, batches last, and sends traces to Jaeger over OTLP', () => {
    const parsed = config();
    expect(parsed.receivers.otlp?.protocols?.http?.endpoint).to.match(/:4318$/);
    const traces = parsed.service.pipelines.traces!;
    expect(traces.receivers).to.deep.equal(['otlp']);
    expect(traces.processors[0]).to.equal('memory_limiter');
    expect(traces.processors.at(-1)).to.equal('batch');
    expect(traces.exporters).to.have.length(1);
    const exporter = traces.exporters[0]!;
    expect(exporter).to.match(/^otlp\/jaeger$/);
    expect(parsed.exporters[exporter]!.endpoint).to.match(/jaeger:4317/);
  });
});
