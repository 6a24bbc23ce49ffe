import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnvoyConfig } from '../src/testing/envoy-process.ts';
import {
  API_DOCS,
  PUBLIC_ENDPOINTS,
  SERVICE_ROUTES,
  SERVICES,
  STRIPPED_IDENTITY_HEADERS,
  UPSTREAM_LIMITS,
} from '../src/gateway.ts';
import {
  composeTarget,
  kubernetesTarget,
  localTarget,
  renderEnvoyConfig,
  type EnvoyBootstrap,
  type RenderTarget,
} from '../src/render-envoy-config.ts';

/** The parts of the rendered bootstrap these tests look at. */
interface Address {
  socket_address: { address: string; port_value: number };
}
interface Bootstrap {
  admin: { address: Address };
  static_resources: {
    listeners: {
      address: Address;
      filter_chains: { filters: { typed_config: Hcm }[] }[];
    }[];
    clusters: {
      name: string;
      type: string;
      load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: Address } }[] }[] };
    }[];
  };
}
interface Route {
  name: string;
  match: {
    path?: string;
    path_separated_prefix?: string;
    headers?: { name: string; string_match: { exact: string } }[];
  };
  route?: { cluster: string };
  direct_response?: { status: number };
  typed_per_filter_config?: Record<string, { descriptors?: { token_bucket: { max_tokens: number } }[] }>;
}
interface Hcm {
  use_remote_address: boolean;
  xff_num_trusted_hops: number;
  route_config: { virtual_hosts: { routes: Route[] }[] };
  http_filters: { name: string; typed_config: Record<string, unknown> }[];
}

const shape = (config: EnvoyBootstrap): Bootstrap => config as unknown as Bootstrap;
const hcmOf = (config: EnvoyBootstrap): Hcm =>
  shape(config).static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
const routesOf = (config: EnvoyBootstrap): Route[] => hcmOf(config).route_config.virtual_hosts[0]!.routes;
const upstreamOf = (
  config: EnvoyBootstrap,
  cluster: string,
): { type: string; address: string; port: number } => {
  const found = shape(config).static_resources.clusters.find((each) => each.name === cluster)!;
  const socket = found.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
  return { type: found.type, address: socket.address, port: socket.port_value };
};

async function expectEnvoyAccepts(config: EnvoyBootstrap): Promise<void> {
  const { exitCode, output } = await validateEnvoyConfig(config);
  expect(exitCode, output).to.equal(0);
  expect(output).to.match(/configuration .* OK/);
  // A deprecated field works today and breaks on a later Envoy; catch it while it is one line to fix.
  expect(output).not.to.match(/deprecated/i);
}

describe('renderEnvoyConfig', function () {
  describe('every rendering passes the real envoy --mode validate', function () {
    const renderings: readonly (readonly [name: string, target: () => RenderTarget])[] = [
      ['local, default ports', () => localTarget()],
      [
        'local, custom ports, issuer, audience and rate limits',
        () =>
          localTarget({
            listenerPort: 18_080,
            adminPort: 19_901,
            servicePorts: {
              'auth-service': 13_001,
              'user-service': 13_002,
              'case-service': 13_003,
              'scoring-service': 13_004,
              'audit-telemetry-service': 13_005,
            },
            issuer: 'https://auth.example.test',
            audience: 'example-platform',
            rateLimits: {
              gateway: { maxTokens: 50 },
              loginPerClient: { maxTokens: 3, tokensPerFill: 3 },
              loginTrackedClients: 100,
            },
          }),
      ],
      ['kubernetes', () => kubernetesTarget({ release: 'mrp' })],
      ['kubernetes with a namespace', () => kubernetesTarget({ release: 'mrp', namespace: 'platform' })],
      [
        'docker-compose, traced',
        () => composeTarget({ otlpCollector: { host: 'otel-collector', port: 4318 } }),
      ],
      [
        'local, with an OTLP collector (tracing on)',
        () => localTarget({ otlpCollector: { host: '127.0.0.1', port: 4318 } }),
      ],
      [
        'kubernetes, with an OTLP collector (tracing on)',
        () =>
          kubernetesTarget({
            release: 'mrp',
            namespace: 'platform',
            otlpCollector: { host: 'otel-collector.observability', port: 4318 },
          }),
      ],
    ];
    for (const [name, target] of renderings) {
      it(`when rendered for ${name}, Envoy accepts it without deprecation warnings`, async function () {
        await expectEnvoyAccepts(renderEnvoyConfig(target()));
      });
    }
  });

  describe('local replicas (make dev with DEV_REPLICAS_<SERVICE>)', function () {
    interface ClusterView {
      name: string;
      load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: Address } }[] }[] };
      health_checks?: {
        http_health_check: { path: string };
        interval: string;
        unhealthy_threshold: number;
      }[];
    }
    const clustersOf = (target: RenderTarget) =>
      (renderEnvoyConfig(target) as unknown as { static_resources: { clusters: ClusterView[] } })
        .static_resources.clusters;
    const ports = (cluster: ClusterView | undefined) =>
      cluster?.load_assignment.endpoints[0]!.lb_endpoints.map(
        (each) => each.endpoint.address.socket_address.port_value,
      );

    it('when a service has replicas, its cluster has every instance, and every service cluster checks /readyz', async function () {
      const target = localTarget({
        servicePorts: { 'case-service': 4103 },
        replicaPorts: { 'case-service': [4203, 4303] },
      });
      const clusters = clustersOf(target);
      expect(ports(clusters.find((cluster) => cluster.name === 'case-service'))).to.deep.equal([
        4103, 4203, 4303,
      ]);
      for (const service of SERVICES) {
        const checks = clusters.find((cluster) => cluster.name === service.name)?.health_checks;
        expect(
          checks?.map((check) => check.http_health_check.path),
          service.name,
        ).to.deep.equal(['/readyz']);
      }
      await expectEnvoyAccepts(renderEnvoyConfig(target));
    });

    it('without replicas (and on Kubernetes and Compose, where a Service balances), nothing is health-checked', function () {
      for (const target of [localTarget(), kubernetesTarget({ release: 'mrp' }), composeTarget({})])
        for (const cluster of clustersOf(target))
          expect(cluster.health_checks, cluster.name).to.equal(undefined);
    });

    it('a retried request goes to another instance when there is one', function () {
      const routes = (
        renderEnvoyConfig(localTarget()) as unknown as {
          static_resources: {
            listeners: {
              filter_chains: {
                filters: {
                  typed_config: {
                    route_config?: {
                      virtual_hosts: {
                        routes: { route?: { retry_policy?: { retry_host_predicate: { name: string }[] } } }[];
                      }[];
                    };
                  };
                }[];
              }[];
            }[];
          };
        }
      ).static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config!
        .virtual_hosts[0]!.routes;
      const retried = routes.filter((route) => route.route?.retry_policy);
      expect(retried).to.not.be.empty;
      for (const route of retried)
        expect(
          route.route!.retry_policy!.retry_host_predicate.map((predicate) => predicate.name),
        ).to.deep.equal(['envoy.retry_host_predicates.previous_hosts']);
    });
  });

  describe('per-service limits (circuit breakers)', function () {
    it('when rendered for any target, every service cluster carries the gateway limits, per instance and in all; a target may change some', function () {
      const breakersOf = (config: EnvoyBootstrap) =>
        (
          config as unknown as {
            static_resources: { clusters: { name: string; circuit_breakers?: unknown }[] };
          }
        ).static_resources.clusters
          .filter((cluster) => SERVICES.some((service) => service.name === cluster.name))
          .map((cluster) => cluster.circuit_breakers);
      const expected = (limits: typeof UPSTREAM_LIMITS) => ({
        thresholds: [
          {
            priority: 'DEFAULT',
            max_connections: limits.maxConnections,
            max_pending_requests: limits.maxPendingRequests,
            max_requests: limits.maxRequests,
            max_retries: limits.maxRetries,
          },
        ],
        per_host_thresholds: [{ priority: 'DEFAULT', max_connections: limits.maxConnectionsPerHost }],
      });
      expect(UPSTREAM_LIMITS.maxConnectionsPerHost).to.be.below(UPSTREAM_LIMITS.maxConnections);
      for (const target of [localTarget(), composeTarget({})]) {
        const breakers = breakersOf(renderEnvoyConfig(target));
        expect(breakers).to.have.length(SERVICES.length);
        for (const each of breakers) expect(each).to.deep.equal(expected(UPSTREAM_LIMITS));
      }
      // On Kubernetes a host is a Service's cluster IP, with every pod behind it: no per-instance bound there.
      for (const each of breakersOf(renderEnvoyConfig(kubernetesTarget({ release: 'mrp' }))))
        expect(each).to.deep.equal(
          expected({ ...UPSTREAM_LIMITS, maxConnectionsPerHost: UPSTREAM_LIMITS.maxConnections }),
        );
      for (const each of breakersOf(
        renderEnvoyConfig(
          localTarget({ upstreamLimits: { maxPendingRequests: 3, maxConnectionsPerHost: 5 } }),
        ),
      ))
        expect(each).to.deep.equal(
          expected({ ...UPSTREAM_LIMITS, maxPendingRequests: 3, maxConnectionsPerHost: 5 }),
        );
    });
  });

  describe('tracing', function () {
    it('when no OTLP collector is given, the config has no tracing, no collector cluster and no trace_id', function () {
      const config = renderEnvoyConfig(localTarget()) as unknown as {
        static_resources: {
          listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[];
          clusters: { name: string }[];
        };
      };
      const hcm = config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
      expect(hcm).not.to.have.property('tracing');
      expect(JSON.stringify(hcm.access_log)).not.to.include('%TRACE_ID%');
      expect(config.static_resources.clusters.map((cluster) => cluster.name)).not.to.include(
        'otlp-collector',
      );
    });

    it('when an OTLP collector is given, Envoy traces as "gateway" to it over OTLP/HTTP and logs the trace id', function () {
      const config = renderEnvoyConfig(
        localTarget({ otlpCollector: { host: '127.0.0.1', port: 14_318 } }),
      ) as unknown as {
        static_resources: {
          listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[];
          clusters: { name: string; load_assignment: unknown }[];
        };
      };
      const hcm = config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
      expect(hcm.tracing).to.deep.equal({
        provider: {
          name: 'envoy.tracers.opentelemetry',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
            service_name: 'gateway',
            http_service: {
              http_uri: { uri: 'http://127.0.0.1:14318/v1/traces', cluster: 'otlp-collector', timeout: '1s' },
            },
          },
        },
      });
      expect(JSON.stringify(hcm.access_log)).to.include('"trace_id":"%TRACE_ID%"');
      const collector = config.static_resources.clusters.find((cluster) => cluster.name === 'otlp-collector');
      expect(JSON.stringify(collector?.load_assignment)).to.include('"port_value":14318');
    });

    it('when a STATIC target names the collector by host name, it is refused before Envoy sees it', function () {
      expect(() =>
        renderEnvoyConfig(localTarget({ otlpCollector: { host: 'localhost', port: 4318 } })),
      ).to.throw(/OTLP collector host "localhost" is not an IP address/);
    });
  });

  describe('targets', function () {
    it('when rendered for local processes, everything is on 127.0.0.1 with the documented ports', function () {
      const config = renderEnvoyConfig(localTarget());
      expect(shape(config).static_resources.listeners[0]!.address.socket_address).to.deep.equal({
        address: '127.0.0.1',
        port_value: 8080,
      });
      expect(shape(config).admin.address.socket_address).to.deep.equal({
        address: '127.0.0.1',
        port_value: 9901,
      });
      for (const service of SERVICES) {
        expect(upstreamOf(config, service.name)).to.deep.equal({
          type: 'STATIC',
          address: '127.0.0.1',
          port: service.localPort,
        });
      }
    });

    it('when rendered with custom local ports, it uses them', function () {
      const config = renderEnvoyConfig(
        localTarget({ listenerPort: 18_080, adminPort: 19_901, servicePorts: { 'case-service': 13_003 } }),
      );
      expect(shape(config).static_resources.listeners[0]!.address.socket_address.port_value).to.equal(18_080);
      expect(shape(config).admin.address.socket_address.port_value).to.equal(19_901);
      expect(upstreamOf(config, 'case-service').port).to.equal(13_003);
      expect(upstreamOf(config, 'user-service').port).to.equal(3002);
    });

    it('when rendered for Kubernetes, it listens on 0.0.0.0:8080, keeps admin on loopback and finds services by DNS', function () {
      const config = renderEnvoyConfig(kubernetesTarget({ release: 'mrp' }));
      expect(shape(config).static_resources.listeners[0]!.address.socket_address).to.deep.equal({
        address: '0.0.0.0',
        port_value: 8080,
      });
      expect(shape(config).admin.address.socket_address.address).to.equal('127.0.0.1');
      for (const service of SERVICES) {
        expect(upstreamOf(config, service.name)).to.deep.equal({
          type: 'STRICT_DNS',
          address: `mrp-${service.name}`,
          port: 8080,
        });
      }
    });

    it('when rendered for a container, an ops listener on 0.0.0.0:9902 forwards only GET /stats/prometheus and GET /ready to the loopback admin', function () {
      for (const config of [
        renderEnvoyConfig(kubernetesTarget({ release: 'mrp' })),
        renderEnvoyConfig(composeTarget()),
      ]) {
        const ops = shape(config).static_resources.listeners[1]!;
        expect(ops.address.socket_address).to.deep.equal({ address: '0.0.0.0', port_value: 9902 });
        const routes = ops.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
        expect(
          routes.filter((route) => route.route).map((route) => [route.match.path, route.route!.cluster]),
        ).to.deep.equal([
          ['/stats/prometheus', 'envoy-admin'],
          ['/ready', 'envoy-admin'],
        ]);
        expect(routes.at(-1)!.direct_response!.status).to.equal(404);
        expect(upstreamOf(config, 'envoy-admin')).to.deep.equal({
          type: 'STATIC',
          address: '127.0.0.1',
          port: 9901,
        });
      }
      expect(shape(renderEnvoyConfig(localTarget())).static_resources.listeners).to.have.length(1);
    });

    it('when rendered for docker-compose, services are found by their Compose names on their container ports', function () {
      const config = renderEnvoyConfig(composeTarget());
      for (const service of SERVICES) {
        expect(upstreamOf(config, service.name)).to.deep.equal({
          type: 'STRICT_DNS',
          address: service.name,
          port: 8080,
        });
      }
    });

    it('when a namespace is given, Kubernetes service names are fully qualified', function () {
      const config = renderEnvoyConfig(kubernetesTarget({ release: 'mrp', namespace: 'platform' }));
      expect(upstreamOf(config, 'auth-service').address).to.equal(
        'mrp-auth-service.platform.svc.cluster.local',
      );
    });

    it('when a STATIC target names a host instead of an IP address, it is refused before Envoy sees it', function () {
      const target = localTarget();
      const broken: RenderTarget = {
        ...target,
        upstreams: { ...target.upstreams, 'user-service': { host: 'localhost', port: 3002 } },
      };
      expect(() => renderEnvoyConfig(broken)).to.throw(/user-service host "localhost" is not an IP address/);
    });

    it('when a port or a rate limit is out of range, it is refused', function () {
      expect(() => renderEnvoyConfig(localTarget({ listenerPort: 70_000 }))).to.throw(/listener port 70000/);
      expect(() =>
        renderEnvoyConfig(localTarget({ rateLimits: { loginPerClient: { maxTokens: 0 } } })),
      ).to.throw(/maxTokens/);
    });
  });

  describe('policies from gateway.ts', function () {
    const config = renderEnvoyConfig(localTarget());

    it('when rendered, every service route is a path-separated prefix to its service, and nothing else is forwarded', function () {
      const forwarded = routesOf(config)
        .filter((route) => route.match.path_separated_prefix !== undefined)
        .map((route) => [route.match.path_separated_prefix, route.route?.cluster]);
      expect(forwarded).to.deep.equal(SERVICE_ROUTES.map((route) => [route.pathPrefix, route.service]));
      const others = routesOf(config).filter((route) => route.match.path_separated_prefix === undefined);
      expect(others.map((route) => route.match.path)).to.deep.equal([
        '/healthz',
        ...API_DOCS.endpoints.map((endpoint) => endpoint.path),
        '/v1/auth/login',
      ]);
    });

    it('when rendered, exactly the public endpoints are exempt from the JWT requirement, and the catch-all requires it', function () {
      const jwt = hcmOf(config).http_filters.find(
        (filter) => filter.name === 'envoy.filters.http.jwt_authn',
      )!;
      const rules = jwt.typed_config.rules as {
        match: { path?: string; prefix?: string; headers?: { string_match: { exact: string } }[] };
        requires?: unknown;
      }[];
      const exempt = rules
        .filter((rule) => rule.requires === undefined)
        .map((rule) => [rule.match.headers?.[0]?.string_match.exact, rule.match.path]);
      expect(exempt).to.deep.equal(
        [...PUBLIC_ENDPOINTS, ...API_DOCS.endpoints].map((endpoint) => [endpoint.method, endpoint.path]),
      );
      expect(rules.at(-1)).to.deep.equal({ match: { prefix: '/' }, requires: { provider_name: 'mrp-auth' } });
    });

    it('when rendered, identity headers are stripped first in the chain, then CORS preflights are answered, before the limits, jwt_authn and the router', function () {
      const filters = hcmOf(config).http_filters;
      expect(filters.map((filter) => filter.name)).to.deep.equal([
        'envoy.filters.http.header_mutation',
        'envoy.filters.http.cors',
        'envoy.filters.http.local_ratelimit',
        'envoy.filters.http.jwt_authn',
        'envoy.filters.http.router',
      ]);
      const removed = (
        filters[0]!.typed_config.mutations as { request_mutations: { remove: string }[] }
      ).request_mutations.map((mutation) => mutation.remove);
      expect(removed).to.deep.equal([...STRIPPED_IDENTITY_HEADERS]);
      expect(removed).to.include.members([
        'x-jwt-payload',
        'x-user-id',
        'x-user-email',
        'x-user-roles',
        'x-forwarded-user',
        'x-forwarded-email',
        'x-remote-user',
      ]);
    });

    it('when rendered, the client address is the connection peer: no X-Forwarded-For hop is trusted', function () {
      expect(hcmOf(config)).to.include({ use_remote_address: true, xff_num_trusted_hops: 0 });
    });

    it('when rate limits are overridden, the login route gets the overridden per-client bucket', function () {
      const overridden = renderEnvoyConfig(localTarget({ rateLimits: { loginPerClient: { maxTokens: 3 } } }));
      const login = routesOf(overridden).find((route) => route.match.path === '/v1/auth/login')!;
      expect(
        login.typed_per_filter_config?.['envoy.filters.http.local_ratelimit']?.descriptors?.[0]?.token_bucket
          .max_tokens,
      ).to.equal(3);
    });
  });

  describe('render-cli', function () {
    let dir: string;
    before(async function () {
      dir = await mkdtemp(join(tmpdir(), 'mrp-render-cli-'));
    });
    after(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    const runCli = (args: readonly string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(import.meta.dirname, '../src/render-cli.ts'), ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.once('error', reject);
        child.once('close', (code) => {
          resolve({ code, stderr });
        });
      });

    it('when asked for a local target with ports, it writes JSON with those ports that Envoy accepts', async function () {
      const out = join(dir, 'nested', 'envoy.json');
      const result = await runCli([
        '--target',
        'local',
        '--out',
        out,
        '--listener-port',
        '18181',
        '--admin-port',
        '19191',
        '--auth-service-port',
        '14001',
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const config = JSON.parse(await readFile(out, 'utf8')) as EnvoyBootstrap;
      expect(shape(config).static_resources.listeners[0]!.address.socket_address.port_value).to.equal(18_181);
      expect(shape(config).admin.address.socket_address.port_value).to.equal(19_191);
      expect(upstreamOf(config, 'auth-service').port).to.equal(14_001);
      await expectEnvoyAccepts(config);
    });

    it('when asked for compose with a collector, it writes a traced config for the Compose names that Envoy accepts', async function () {
      const out = join(dir, 'compose.json');
      const result = await runCli([
        '--target',
        'compose',
        '--otlp-collector',
        'otel-collector:4318',
        '--out',
        out,
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const config = JSON.parse(await readFile(out, 'utf8')) as EnvoyBootstrap;
      expect(upstreamOf(config, 'otlp-collector')).to.deep.equal({
        type: 'STRICT_DNS',
        address: 'otel-collector',
        port: 4318,
      });
      await expectEnvoyAccepts(config);
    });

    it('when a flag belongs to another target, or the collector is not HOST:PORT, it exits 2 and says why', async function () {
      const traced = await runCli(['--target', 'compose', '--traced']);
      expect(traced.code).to.equal(2);
      expect(traced.stderr).to.include('--traced only applies to --target helm');
      const issuer = await runCli(['--target', 'helm', '--issuer', 'x']);
      expect(issuer.code).to.equal(2);
      expect(issuer.stderr).to.include('--issuer only applies to --target local, kubernetes or compose');
      const collector = await runCli(['--target', 'compose', '--otlp-collector', 'otel-collector']);
      expect(collector.code).to.equal(2);
      expect(collector.stderr).to.include('--otlp-collector must be HOST:PORT');
    });

    it('when the target is unknown or incomplete, it exits 2 with the usage', async function () {
      const unknown = await runCli(['--target', 'mars']);
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.include('unknown --target "mars"').and.include('usage:');
      const noRelease = await runCli(['--target', 'kubernetes']);
      expect(noRelease.code).to.equal(2);
      expect(noRelease.stderr).to.include('needs --release');
    });
  });
});
