import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { eventually } from '../support/eventually.ts';
import { request } from '../support/http.ts';
import { login } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';

/** The seed README's SLO indicators, verbatim (the overview dashboard shows the same three). */
const SEED_SLO_QUERIES = {
  'p95 latency': 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))',
  'error rate': 'sum(rate(http_requests_total{status_code=~"5.."}[5m]))',
  saturation: 'process_cpu_seconds_total',
};

/**
 * A real Prometheus (Debian's prometheus package, like promtool) scrapes every service and Envoy of a
 * running platform while it takes traffic; the seed's three SLO queries must return data.
 */
describe('a real Prometheus scraping the running platform', () => {
  let full: FullPlatform;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let dir: string;
  let output = '';

  before(async function () {
    this.timeout(60_000);
    full = await startFullPlatform();
    dir = mkdtempSync(join(tmpdir(), 'mrp-prometheus-'));
    const target = (port: number) => `127.0.0.1:${port}`;
    const services = [
      ['auth-service', full.platform.authPort],
      ['user-service', full.platform.userPort],
      ['case-service', full.cases.port],
      ['scoring-service', full.scoring.port],
      ['audit-telemetry-service', full.auditPort],
    ] as const;
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [
        ...services.map(([name, port]) => ({
          job_name: name,
          static_configs: [{ targets: [target(port)] }],
        })),
        {
          job_name: 'gateway',
          metrics_path: '/stats/prometheus',
          static_configs: [{ targets: [target(full.adminPort)] }],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(async () => {
      expect(prometheus.exitCode, output).to.equal(null);
      expect((await fetch(`${prometheusUrl}/-/ready`)).status).to.equal(200);
    });
  });

  after(async () => {
    prometheus.kill('SIGTERM');
    await new Promise((resolve) => prometheus.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
    await full.stop();
  });

  const query = async (expr: string) => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    expect(body.status, expr).to.equal('success');
    return body.data.result;
  };

  it('scrapes every service and Envoy, and the three SLO queries return data', async function () {
    this.timeout(60_000);
    const token = await login(full.url, 'analyst');
    // Prometheus applies new targets every few seconds: traffic before the first scrape would leave the
    // counters flat from their first sample, with no rate to compute.
    await eventually(async () => {
      const up = await query('up');
      expect(up.map((series) => series.metric.job).sort()).to.deep.equal([
        'audit-telemetry-service',
        'auth-service',
        'case-service',
        'gateway',
        'scoring-service',
        'user-service',
      ]);
      expect(
        up.every((series) => series.value[1] === '1'),
        JSON.stringify(up),
      ).to.equal(true);
    });
    // A 5xx for the error-rate query to see: scoring-service's readiness fails once shutdown has started.
    full.scoring.scoring.service.markShuttingDown();
    // Traffic through Envoy, spread over several scrapes, so rates have two samples to work with.
    for (let round = 0; round < 6; round += 1) {
      await request(`${full.url}/v1/cases`, {
        method: 'POST',
        token,
        json: { title: 'Scraped', owner_id: randomUUID() },
      });
      await request(`${full.url}/v1/cases`, { token });
      expect((await request(`${full.scoring.url}/readyz`)).status).to.equal(503);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await eventually(
      async () => {
        const p95 = await query(SEED_SLO_QUERIES['p95 latency']);
        expect(p95).to.have.length(1);
        expect(Number(p95[0]!.value[1])).to.be.greaterThan(0);
        const errors = await query(SEED_SLO_QUERIES['error rate']);
        expect(errors).to.have.length(1);
        expect(Number(errors[0]!.value[1])).to.be.greaterThan(0);
        const cpu = await query(SEED_SLO_QUERIES.saturation);
        expect(
          cpu
            .map((series) => series.metric.service)
            .filter(Boolean)
            .sort(),
        ).to.include.members([
          'audit-telemetry-service',
          'auth-service',
          'case-service',
          'scoring-service',
          'user-service',
        ]);
      },
      60,
      500,
    );
  });

  it("every service's /metrics exposes the documented series", async () => {
    const common = [
      'http_request_duration_seconds_bucket',
      'http_requests_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ];
    const own: Record<string, [number, string[]]> = {
      'auth-service': [full.platform.authPort, []],
      'user-service': [full.platform.userPort, []],
      'case-service': [
        full.cases.port,
        [
          'scoring_client_breaker_state',
          'scoring_client_retries_total',
          'scoring_client_bulkhead_rejections_total',
          'outbox_backlog',
          'outbox_oldest_unpublished_age_seconds',
          'outbox_published_total',
        ],
      ],
      'scoring-service': [full.scoring.port, ['scoring_events_queued', 'scoring_events_published_total']],
      'audit-telemetry-service': [
        full.auditPort,
        [
          'events_consumed_total',
          'events_consumer_lag',
          'events_consumer_pending',
          'events_dead_lettered_total',
        ],
      ],
    };
    for (const [service, [port, names]] of Object.entries(own)) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const series = new Set(
        text
          .split('\n')
          .filter((line) => line && !line.startsWith('#'))
          .map((line) => line.split(/[{ ]/)[0]),
      );
      for (const name of [...common, ...names])
        expect(series.has(name), `${service}: ${name}`).to.equal(true);
      expect(text, service).to.include(`service="${service}"`);
    }
  });
});
