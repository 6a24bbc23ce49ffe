// docker-compose.yml, checked offline (there is no Docker engine in CI): the Compose specification's schema
// and dclint, every path it names, each service's environment against that service's own config loader,
// every address against what listens there, the gateway's config with the real Envoy, the Prometheus
// config with the real promtool, and the security posture.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadScoringServiceConfig } from '@mrp/scoring-service';
import { loadUserServiceConfig } from '@mrp/user-service';
import {
  API_DOCS,
  composeTarget,
  OPS_ENDPOINTS,
  renderEnvoyConfig,
  SERVICE_NAMES,
  SERVICE_REGISTRY,
  SERVICES,
} from '@mrp/gateway';
import {
  argv,
  COMPOSE_FILE,
  dependenciesOf,
  durationMs,
  environmentOf,
  imageParts,
  imageSettings,
  interpolate,
  loadCompose,
  mountsOf,
  publishedPortsOf,
  readComposeDocument,
  REPO_ROOT,
  stageNames,
  type ComposeBuild,
  type ComposeFile,
  type ComposeService,
  type ImageSettings,
  type Mount,
} from './support/compose-file.ts';
import { composeSpecErrors, dclint, run } from './support/compose-tools.ts';

interface LoadedConfig {
  readonly appEnv: string;
  readonly host: string;
  readonly port: number;
}

/** A service of services/registry.json: its config spec and loader, as its package exports them. */
interface PlatformService {
  readonly spec: Readonly<Record<string, { readonly env: string; readonly default: unknown }>>;
  readonly load: (source: Record<string, string | undefined>) => LoadedConfig;
}

/**
 * Each registered service's package exports its config spec (`...ConfigSpec`) and its loader
 * (`load...Config`), as every service's index.ts does (and make new-service writes).
 */
async function platformService(name: string): Promise<PlatformService> {
  const exports = (await import(`@mrp/${name}`)) as Record<string, unknown>;
  const find = (pattern: RegExp) => {
    const found = Object.entries(exports).filter(([key]) => pattern.test(key));
    if (found.length !== 1) throw new Error(`@mrp/${name} must export one ${String(pattern)}`);
    return found[0]![1];
  };
  return {
    spec: find(/ConfigSpec$/) as PlatformService['spec'],
    load: find(/^load\w+Config$/) as PlatformService['load'],
  };
}

const PLATFORM_SERVICES: Readonly<Record<string, PlatformService>> = Object.fromEntries(
  await Promise.all(SERVICE_NAMES.map(async (name) => [name, await platformService(name)] as const)),
);
const PLATFORM_NAMES = Object.keys(PLATFORM_SERVICES);

/** Variables every program reads besides its config spec: the OpenTelemetry SDK's and Node's own. */
const STANDARD_VARIABLE = /^(OTEL|NODE)_[A-Z0-9_]+$/;

/** What the images of the infrastructure listen on by default (compose does not move them). */
const IMAGE_PORTS: Readonly<Record<string, readonly number[]>> = {
  postgres: [5432],
  redis: [6379],
  'jaegertracing/jaeger': [4317, 4318, 16686],
  'prom/prometheus': [9090],
  'grafana/grafana': [3000],
};

/** Images whose own USER is not root (the uids the charts' runAsUser names), so compose sets none. */
const NON_ROOT_IMAGES: Readonly<Record<string, string>> = {
  'otel/opentelemetry-collector-contrib': 'uid 10001',
  'jaegertracing/jaeger': 'uid 10001',
  'prom/prometheus': 'nobody, uid 65534',
  'grafana/grafana': 'grafana, uid 472',
};

/** The one directory of the service images that their user, uid 10001, owns (Dockerfile, base stage). */
const SERVICE_STATE_DIR = '/var/lib/mrp';

/** How long runService drains HTTP requests after SIGTERM (libs/platform/src/server.ts). */
const HTTP_DRAIN_MS = 10_000;

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'redis:': 6379,
  'postgres:': 5432,
};

let cached: ComposeFile | undefined;
/** docker-compose.yml with no variable set, as `docker compose up` on a fresh clone reads it. */
function composeFile(): ComposeFile {
  cached ??= loadCompose();
  return cached;
}

function service(name: string, file = composeFile()): ComposeService {
  const found = file.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** The one service running an image of `repository` (e.g. envoyproxy/envoy). */
function serviceRunning(repository: string): [name: string, service: ComposeService] {
  const matches = Object.entries(composeFile().services).filter(
    ([, each]) => each.image !== undefined && imageParts(each.image).repository === repository,
  );
  expect(matches, `services running ${repository}`).to.have.length(1);
  return matches[0]!;
}

function buildOf(name: string): Required<ComposeBuild> {
  const build = service(name).build;
  if (typeof build !== 'object') throw new Error(`${name} has no build section`);
  return { dockerfile: 'Dockerfile', target: '', args: {}, ...build };
}

function dockerfileOf(name: string): string {
  const build = buildOf(name);
  return join(REPO_ROOT, build.context, build.dockerfile);
}

/** Base image, ENV and USER of the image compose builds for `name`. */
function imageOf(name: string): ImageSettings {
  return imageSettings(dockerfileOf(name), buildOf(name).target || undefined);
}

/** The environment a platform service's process sees: its image's ENV, then compose's. */
function runtimeEnvironment(name: string, file = composeFile()): Record<string, string> {
  return { ...imageOf(name).env, ...environmentOf(service(name, file)) };
}

function configOf(name: string): LoadedConfig {
  return PLATFORM_SERVICES[name]!.load(runtimeEnvironment(name));
}

/** The value of `--flag=value`, `--flag value` or `-f value` in an argument list. */
function flagValue(args: readonly string[], flag: string): string {
  const inline = args.find((arg) => arg.startsWith(`${flag}=`));
  if (inline) return inline.slice(flag.length + 1);
  const index = args.indexOf(flag);
  if (index < 0 || index + 1 >= args.length) throw new Error(`no ${flag} in ${args.join(' ')}`);
  return args[index + 1]!;
}

/** The host path behind `containerPath` in a service: a bind mount of it or of a directory above it. */
function hostPathOf(name: string, containerPath: string): string {
  const binds = mountsOf(service(name)).filter((mount) => mount.type === 'bind');
  const mount = binds.find(
    (each) => containerPath === each.target || containerPath.startsWith(`${each.target}/`),
  );
  if (!mount?.source) throw new Error(`${name} does not mount anything at ${containerPath}`);
  return join(mount.source, posix.relative(mount.target, containerPath));
}

function readYaml(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8'));
}

interface EnvoySocket {
  readonly address: string;
  readonly port_value: number;
}
interface EnvoyBootstrapShape {
  readonly static_resources: {
    readonly listeners: readonly {
      readonly name: string;
      readonly address: { socket_address: EnvoySocket };
    }[];
    readonly clusters: readonly {
      readonly name: string;
      readonly type: string;
      readonly load_assignment: {
        readonly endpoints: readonly {
          readonly lb_endpoints: readonly {
            readonly endpoint: { address: { socket_address: EnvoySocket } };
          }[];
        }[];
      };
    }[];
  };
}

function gateway(): {
  name: string;
  service: ComposeService;
  configPath: string;
  config: EnvoyBootstrapShape;
} {
  const [name, gatewayService] = serviceRunning('envoyproxy/envoy');
  const configPath = hostPathOf(name, flagValue(argv(gatewayService.command), '-c'));
  return {
    name,
    service: gatewayService,
    configPath,
    config: JSON.parse(readFileSync(configPath, 'utf8')) as EnvoyBootstrapShape,
  };
}

function envoyListenerPort(name: string): number {
  const listener = gateway().config.static_resources.listeners.find((each) => each.name === name);
  if (!listener) throw new Error(`the gateway config has no ${name} listener`);
  return listener.address.socket_address.port_value;
}

interface CollectorConfig {
  readonly receivers: Readonly<Record<string, { protocols?: Record<string, { endpoint?: string }> }>>;
}

function collectorConfigPath(): [name: string, path: string] {
  const [name, collector] = serviceRunning('otel/opentelemetry-collector-contrib');
  return [name, hostPathOf(name, flagValue(argv(collector.command), '--config'))];
}

/** The `host:port` listen addresses in `endpoint`s that take connections from other containers. */
function reachablePorts(endpoints: readonly string[]): number[] {
  return endpoints
    .map((endpoint) => /^(.*):(\d+)$/.exec(endpoint))
    .filter(
      (match): match is RegExpExecArray => match !== null && ['0.0.0.0', '', '[::]'].includes(match[1]!),
    )
    .map((match) => Number(match[2]));
}

/** The ports a Compose service accepts connections on from the other containers. */
function listeningPorts(name: string): number[] {
  if (name in PLATFORM_SERVICES) {
    const config = configOf(name);
    return config.host === '0.0.0.0' ? [config.port] : [];
  }
  const { repository } = imageParts(service(name).image ?? '');
  if (repository === 'envoyproxy/envoy') {
    return reachablePorts(
      gateway().config.static_resources.listeners.map(
        (listener) =>
          `${listener.address.socket_address.address}:${listener.address.socket_address.port_value}`,
      ),
    );
  }
  if (repository === 'otel/opentelemetry-collector-contrib') {
    const config = readYaml(collectorConfigPath()[1]) as CollectorConfig;
    return reachablePorts(
      Object.values(config.receivers).flatMap((receiver) =>
        Object.values(receiver.protocols ?? {}).map((protocol) => protocol.endpoint ?? ''),
      ),
    );
  }
  return [...(IMAGE_PORTS[repository] ?? [])];
}

interface PrometheusConfig {
  readonly rule_files?: readonly string[];
  readonly scrape_configs: readonly {
    readonly job_name: string;
    readonly metrics_path?: string;
    readonly static_configs?: readonly { readonly targets: readonly string[] }[];
    readonly relabel_configs?: unknown;
    readonly metric_relabel_configs?: unknown;
  }[];
}

function prometheus(): {
  name: string;
  service: ComposeService;
  containerConfigPath: string;
  config: PrometheusConfig;
} {
  const [name, prometheusService] = serviceRunning('prom/prometheus');
  const containerConfigPath = flagValue(argv(prometheusService.command), '--config.file');
  return {
    name,
    service: prometheusService,
    containerConfigPath,
    config: readYaml(hostPathOf(name, containerConfigPath)) as PrometheusConfig,
  };
}

function targetsOf(config: PrometheusConfig, job: string): string[] {
  const found = config.scrape_configs.find((each) => each.job_name === job);
  if (!found) throw new Error(`Prometheus has no job ${job}`);
  return (found.static_configs ?? []).flatMap((each) => each.targets);
}

/** A URL's host and port, the port defaulting to its protocol's. */
function hostAndPort(url: URL): { host: string; port: number } {
  return { host: url.hostname, port: url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? -1) };
}

const isUrl = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//.test(value);

describe('docker-compose.yml', function () {
  describe('the Compose specification', () => {
    it('needs no variable set: every ${VAR} it uses has a default', () => {
      expect(() => loadCompose()).not.to.throw();
      // The check is strict: an unset variable without a default is refused, not replaced by "".
      expect(() => interpolate('${MRP_UNSET_FOR_THIS_TEST}', {})).to.throw(/without a default/);
    });

    it('is valid against the Compose specification schema, after interpolation as Compose validates it', () => {
      const errors = composeSpecErrors(composeFile());
      expect(errors, JSON.stringify(errors, null, 2)).to.deep.equal([]);
      // The validator does reject what the specification does not allow.
      expect(composeSpecErrors({ services: { app: { image: 'x', restart_policy: 'always' } } })).not.to.be
        .empty;
    });

    it('passes dclint with no error and no warning', async function () {
      this.timeout(60_000);
      const { code, messages, output } = await dclint(COMPOSE_FILE);
      expect(messages, output).to.deep.equal([]);
      expect(code, output).to.equal(0);
    });

    it('names the project mrp, whatever the directory of the checkout is called', () => {
      expect((readComposeDocument() as { name?: unknown }).name).to.equal('mrp');
    });
  });

  describe('what it names', () => {
    it('puts the observability containers, and only those, in the observability profile: the platform starts without them', () => {
      const profiled = Object.entries(composeFile().services)
        .filter(([, each]) => (each.profiles ?? []).length > 0)
        .map(([name, each]) => [name, each.profiles]);
      expect(Object.fromEntries(profiled)).to.deep.equal({
        'otel-collector': ['observability'],
        jaeger: ['observability'],
        prometheus: ['observability'],
        grafana: ['observability'],
        // The load generator (make traffic's script in a container), started on purpose only.
        'load-generator': ['traffic'],
      });
      // Nothing outside the profile waits for something inside it.
      for (const [name, each] of Object.entries(composeFile().services)) {
        if ((each.profiles ?? []).length > 0) continue;
        for (const dependency of Object.keys(dependenciesOf(each)))
          expect(composeFile().services[dependency]?.profiles, `${name} depends on ${dependency}`).to.equal(
            undefined,
          );
      }
    });

    it('builds each service of services/registry.json from the repository root with the one Dockerfile and its SERVICE, as mrp/<service>:dev, never pulled', () => {
      const built = Object.entries(composeFile().services)
        .filter(([, each]) => each.build !== undefined)
        .map(([name]) => name);
      expect(built.sort()).to.deep.equal(SERVICES.map((each) => each.name).sort());
      expect(built.sort()).to.deep.equal([...PLATFORM_NAMES].sort());
      for (const name of built) {
        const build = buildOf(name);
        expect(build.context, name).to.equal('.');
        expect(build.dockerfile, name).to.equal('Dockerfile');
        expect(build.args, name).to.include({ SERVICE: name });
        expect(statSync(join(REPO_ROOT, build.context)).isDirectory(), name).to.be.true;
        expect(existsSync(dockerfileOf(name)), `${dockerfileOf(name)} exists`).to.be.true;
        expect(stageNames(dockerfileOf(name)), `${name}: stages of its Dockerfile`).to.include(build.target);
        expect(service(name).image, name).to.equal(`mrp/${name}:dev`);
        expect(service(name).pull_policy, `${name}: pull_policy`).to.equal('build');
      }
    });

    it('bind-mounts only paths that exist in the repository, and declares exactly the named volumes it uses', () => {
      const used = new Set<string>();
      for (const [name, each] of Object.entries(composeFile().services)) {
        for (const mount of mountsOf(each)) {
          if (mount.type === 'bind') {
            expect(existsSync(mount.source!), `${name}: ${relative(REPO_ROOT, mount.source!)} exists`).to.be
              .true;
          }
          if (mount.type === 'volume') {
            expect(mount.source, `${name}: ${mount.target} is a named volume, not an anonymous one`).to.be.a(
              'string',
            );
            used.add(mount.source!);
          }
        }
      }
      expect([...used].sort()).to.deep.equal(Object.keys(composeFile().volumes ?? {}).sort());
    });

    it('mounts each program its config where its command line reads it', () => {
      const { name: gatewayName, service: gatewayService } = gateway();
      expect(existsSync(hostPathOf(gatewayName, flagValue(argv(gatewayService.command), '-c')))).to.be.true;
      const [collectorName, collectorConfig] = collectorConfigPath();
      expect(relative(REPO_ROOT, collectorConfig), collectorName).to.equal(
        'grafana/otel-collector/config.yaml',
      );
      const { name: prometheusName, containerConfigPath, config } = prometheus();
      expect(relative(REPO_ROOT, hostPathOf(prometheusName, containerConfigPath))).to.equal(
        'grafana/prometheus/prometheus.compose.yml',
      );
      // Prometheus resolves rule_files against its config file's directory.
      expect(config.rule_files).not.to.be.empty;
      for (const rules of config.rule_files ?? []) {
        const containerRules = posix.join(posix.dirname(containerConfigPath), rules);
        expect(existsSync(hostPathOf(prometheusName, containerRules)), containerRules).to.be.true;
      }
    });

    it('mounts every Grafana provisioning directory, and the dashboards where the dashboard provider reads them', () => {
      const [name] = serviceRunning('grafana/grafana');
      for (const directory of readdirSync(join(REPO_ROOT, 'grafana/provisioning'))) {
        expect(relative(REPO_ROOT, hostPathOf(name, `/etc/grafana/provisioning/${directory}`))).to.equal(
          `grafana/provisioning/${directory}`,
        );
      }
      const providers = (
        readYaml(join(REPO_ROOT, 'grafana/provisioning/dashboards/dashboards.yml')) as {
          providers: { options: { path: string } }[];
        }
      ).providers;
      expect(providers).not.to.be.empty;
      for (const provider of providers) {
        expect(relative(REPO_ROOT, hostPathOf(name, provider.options.path))).to.equal('grafana/dashboards');
      }
    });
  });

  describe("each service's configuration", () => {
    it('sets on each service only variables its config spec knows, plus the standard OTEL_* and NODE_* ones', () => {
      for (const name of PLATFORM_NAMES) {
        const known = new Set(Object.values(PLATFORM_SERVICES[name]!.spec).map((key) => key.env));
        const unknown = Object.keys(environmentOf(service(name))).filter(
          (variable) => !known.has(variable) && !STANDARD_VARIABLE.test(variable),
        );
        expect(unknown, `${name}: variables its config does not read`).to.deep.equal([]);
      }
    });

    it("passes each service's own config loader, in development, listening on all interfaces", () => {
      for (const name of PLATFORM_NAMES) {
        let config: LoadedConfig | undefined;
        expect(() => (config = configOf(name)), name).not.to.throw();
        expect(config?.appEnv, `${name}: APP_ENV (the seed users and the dev key need development)`).to.equal(
          'development',
        );
        expect(config?.host, `${name}: HOST`).to.equal('0.0.0.0');
        expect(environmentOf(service(name)).OTEL_SERVICE_NAME, `${name}: OTEL_SERVICE_NAME`).to.equal(name);
      }
      expect(loadUserServiceConfig(runtimeEnvironment('user-service')).seedDevUsers).to.be.true;
    });

    it('points every address it configures at a Compose service, on a port that service listens on', () => {
      const addresses: { where: string; host: string; port: number }[] = [];
      for (const name of PLATFORM_NAMES) {
        for (const [variable, value] of Object.entries(environmentOf(service(name)))) {
          if (isUrl(value)) addresses.push({ where: `${name} ${variable}`, ...hostAndPort(new URL(value)) });
        }
      }
      const [collectorName, collector] = serviceRunning('otel/opentelemetry-collector-contrib');
      const [jaegerHost = '', jaegerPort = ''] = (environmentOf(collector).JAEGER_OTLP_ENDPOINT ?? '').split(
        ':',
      );
      addresses.push({
        where: `${collectorName} JAEGER_OTLP_ENDPOINT`,
        host: jaegerHost,
        port: Number(jaegerPort),
      });
      const { name: prometheusName, config } = prometheus();
      for (const job of config.scrape_configs) {
        for (const target of targetsOf(config, job.job_name)) {
          const [host = '', port = ''] = target.split(':');
          addresses.push({ where: `${prometheusName} job ${job.job_name}`, host, port: Number(port) });
        }
      }
      const datasources = (
        readYaml(join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yml')) as {
          datasources: { name: string; url: string }[];
        }
      ).datasources;
      const [, grafana] = serviceRunning('grafana/grafana');
      for (const datasource of datasources) {
        // Grafana expands ${VAR} in provisioning files from its own environment.
        const url = datasource.url.replace(
          /\$\{(\w+)\}/g,
          (_, name: string) => environmentOf(grafana)[name] ?? '',
        );
        addresses.push({ where: `Grafana datasource ${datasource.name}`, ...hostAndPort(new URL(url)) });
      }
      expect(addresses.length).to.be.greaterThan(PLATFORM_NAMES.length);
      for (const { where, host, port } of addresses) {
        expect(composeFile().services, `${where}: ${host} is a Compose service`).to.have.property(host);
        expect(listeningPorts(host), `${where}: ${host} listens on ${port}`).to.include(port);
      }
    });

    it('connects each data service to Postgres as its own role, with the password the init script gives it', () => {
      const environments: Record<string, string>[] = [
        {},
        { MRP_USER_DB_PASSWORD: 'set-in-the-shell', MRP_AUDIT_DB_PASSWORD: 'also-set' },
      ];
      for (const variables of environments) {
        const file = loadCompose(variables);
        const dataServices = PLATFORM_NAMES.filter((name) => environmentOf(service(name, file)).DATABASE_URL);
        expect(dataServices.sort()).to.deep.equal(
          SERVICE_REGISTRY.filter((each) => each.database !== null)
            .map((each) => each.name)
            .sort(),
        );
        const hosts = new Set(
          dataServices.map((name) => new URL(environmentOf(service(name, file)).DATABASE_URL!).hostname),
        );
        expect(hosts.size, 'one Postgres for every data service').to.equal(1);
        const postgres = environmentOf(service([...hosts][0]!, file));
        const databases = (postgres.MRP_DATABASES ?? '').split(/\s+/).filter(Boolean);
        for (const name of dataServices) {
          const url = new URL(environmentOf(service(name, file)).DATABASE_URL!);
          const database = url.pathname.slice(1);
          const ownDefault = new URL(
            String(PLATFORM_SERVICES[name]!.spec.databaseUrl!.default),
          ).pathname.slice(1);
          expect(database, `${name}: its own database`).to.equal(ownDefault);
          expect(url.username, `${name}: the role named after its database`).to.equal(database);
          expect(databases, `MRP_DATABASES creates ${database}`).to.include(database);
          expect(url.password, `${name}: the password of role ${database}`).to.equal(
            postgres[`MRP_PASSWORD_${database.toUpperCase()}`],
          );
        }
        expect(databases.sort()).to.have.length(dataServices.length);
      }
      const [postgresName, postgresService] = serviceRunning('postgres');
      const init = mountsOf(postgresService).filter((mount) =>
        mount.target.startsWith('/docker-entrypoint-initdb.d/'),
      );
      expect(
        init.map((mount) => relative(REPO_ROOT, mount.source ?? '')),
        postgresName,
      ).to.deep.equal(['charts/postgres/files/init-databases.sh']);
      expect(init[0]!.target).to.match(/\.sh$/);
      const script = readFileSync(init[0]!.source!, 'utf8');
      expect(script).to.include('MRP_DATABASES').and.to.include('MRP_PASSWORD_');
    });

    it("keeps auth-service's generated signing key on a named volume that its uid 10001 can write", () => {
      const keysDir = environmentOf(service('auth-service')).AUTH_DEV_KEYS_DIR ?? '';
      const volume = mountsOf(service('auth-service')).find(
        (mount) =>
          mount.type === 'volume' && (keysDir === mount.target || keysDir.startsWith(`${mount.target}/`)),
      );
      expect(volume, `AUTH_DEV_KEYS_DIR (${keysDir}) is on a named volume`).to.not.equal(undefined);
      // A fresh named volume takes the owner of the image directory it is mounted on: /var/lib/mrp is uid
      // 10001's in the service images, where any path the image lacks would be created root's.
      expect(volume?.target).to.equal(SERVICE_STATE_DIR);
      const image = imageOf('auth-service');
      expect(image.baseImage).to.match(/^node:\d+-alpine/);
      expect(image.user).to.equal('10001:10001');
    });

    it('keeps Postgres and Redis data on named volumes, Redis in an append-only file fsynced on every write', () => {
      const [name, redis] = serviceRunning('redis');
      const args = argv(redis.command);
      expect(flagValue(args, '--appendonly'), name).to.equal('yes');
      expect(flagValue(args, '--appendfsync'), name).to.equal('always');
      expect(flagValue(args, '--maxmemory-policy'), 'refuses writes when full, never evicts events').to.equal(
        'noeviction',
      );
      expect(mountsOf(redis).find((mount) => mount.target === '/data')?.type, '/data').to.equal('volume');
      const [, postgres] = serviceRunning('postgres');
      expect(
        mountsOf(postgres).find((mount) => mount.target === '/var/lib/postgresql/data')?.type,
        'PGDATA',
      ).to.equal('volume');
    });

    it('runs the same infrastructure images, at the same versions, as the Helm charts', () => {
      const infrastructure = Object.entries(composeFile().services).filter(
        ([, each]) => each.build === undefined,
      );
      expect(infrastructure.map(([name]) => name).sort()).to.deep.equal([
        'gateway',
        'grafana',
        'jaeger',
        'load-generator',
        'otel-collector',
        'postgres',
        'prometheus',
        'redis',
      ]);
      for (const [name, each] of infrastructure) {
        // The load generator runs in the image of the umbrella chart's helm test and load generator; the
        // chart's gateway runs our image built on Envoy's (images/gateway.Dockerfile), where Compose runs
        // Envoy's own with the API reference's files mounted.
        const gatewayBase = /^ARG ENVOY_IMAGE=(\S+)$/m.exec(
          readFileSync(join(REPO_ROOT, 'images', 'gateway.Dockerfile'), 'utf8'),
        )?.[1];
        const chart =
          name === 'gateway'
            ? imageParts(gatewayBase ?? '')
            : name === 'load-generator'
              ? (
                  readYaml(join(REPO_ROOT, 'charts', 'platform', 'values.yaml')) as {
                    tests: { image: { repository: string; tag: string } };
                  }
                ).tests.image
              : (
                  readYaml(join(REPO_ROOT, 'charts', name, 'values.yaml')) as {
                    image: { repository: string; tag: string };
                  }
                ).image;
        const { repository, tag } = imageParts(each.image ?? '');
        expect(repository, `${name}: the chart's image`).to.equal(chart.repository);
        // The same release. The gateway chart runs Envoy's distroless variant; compose runs the default
        // one, whose shell its healthcheck needs (Kubernetes probes over HTTP instead).
        expect(
          chart.tag === tag || chart.tag.endsWith(`-${tag}`),
          `${name}: ${tag} vs the chart's ${chart.tag}`,
        ).to.be.true;
      }
    });
  });

  describe('start order and health', () => {
    it('has a healthcheck on every service another waits for, and each service probes its own readiness', () => {
      for (const [name, each] of Object.entries(composeFile().services)) {
        for (const [dependency, condition] of Object.entries(dependenciesOf(each))) {
          expect(composeFile().services, `${name} depends on ${dependency}`).to.have.property(dependency);
          if (condition !== 'service_healthy') continue;
          const check = service(dependency).healthcheck;
          expect(
            check?.test,
            `${dependency} (${name} waits for it to be healthy) has a healthcheck`,
          ).to.not.equal(undefined);
          expect(check?.disable, dependency).to.not.equal(true);
        }
      }
      for (const name of PLATFORM_NAMES) {
        const test = argv(service(name).healthcheck?.test);
        expect(test[0], name).to.equal('CMD');
        expect(test, name).to.include(`http://127.0.0.1:${configOf(name).port}/readyz`);
      }
      const { service: gatewayService } = gateway();
      const probe = argv(gatewayService.healthcheck?.test).join(' ');
      expect(probe).to.include(`/dev/tcp/127.0.0.1/${envoyListenerPort('ops')}`);
      expect(probe).to.include(`GET ${OPS_ENDPOINTS.ready.path} HTTP/1.1`);
    });

    it('starts Postgres and auth-service healthy before their users, Redis before its users, and every service before the gateway', () => {
      for (const name of PLATFORM_NAMES) {
        const environment = environmentOf(service(name));
        const dependencies = dependenciesOf(service(name));
        const hostOf = (variable: string) => new URL(environment[variable]!).hostname;
        for (const variable of ['DATABASE_URL', 'AUTH_JWKS_URL', 'AUTH_TOKEN_URL']) {
          if (!environment[variable]) continue;
          expect(dependencies[hostOf(variable)], `${name} (${variable})`).to.equal('service_healthy');
        }
        if (environment.REDIS_URL) {
          expect(['service_started', 'service_healthy'], `${name} (REDIS_URL)`).to.include(
            dependencies[hostOf('REDIS_URL')],
          );
        }
      }
      const { service: gatewayService } = gateway();
      const gatewayDependencies = dependenciesOf(gatewayService);
      for (const { name } of SERVICES)
        expect(gatewayDependencies[name], `gateway -> ${name}`).to.equal('service_healthy');
    });

    it('has no dependency cycle (Compose refuses one)', () => {
      const services = composeFile().services;
      const visiting = new Set<string>();
      const done = new Set<string>();
      const visit = (name: string, path: readonly string[]) => {
        expect(visiting.has(name), `cycle: ${[...path, name].join(' -> ')}`).to.be.false;
        if (done.has(name)) return;
        visiting.add(name);
        for (const dependency of Object.keys(dependenciesOf(services[name] ?? {})))
          visit(dependency, [...path, name]);
        visiting.delete(name);
        done.add(name);
      };
      for (const name of Object.keys(services)) visit(name, []);
    });

    it('gives each service time to drain and flush on SIGTERM before it is killed', () => {
      const flushMs = loadScoringServiceConfig({}).eventFlushTimeoutMs;
      for (const name of PLATFORM_NAMES) {
        expect(durationMs(service(name).stop_grace_period ?? '10s'), name).to.be.greaterThan(
          HTTP_DRAIN_MS + flushMs,
        );
      }
      for (const [name, each] of Object.entries(composeFile().services)) {
        expect(each.restart, `${name}: restart`).to.equal('unless-stopped');
      }
    });
  });

  describe('the gateway', () => {
    it('mounts the committed compose rendering of the gateway, tracing to the collector the services use', () => {
      const { configPath } = gateway();
      expect(relative(REPO_ROOT, configPath)).to.equal('envoy/rendered/compose.json');
      const endpoints = new Set(
        PLATFORM_NAMES.map((name) => environmentOf(service(name)).OTEL_EXPORTER_OTLP_ENDPOINT ?? ''),
      );
      expect(endpoints.size, 'one collector').to.equal(1);
      const collector = hostAndPort(new URL([...endpoints][0]!));
      expect(readFileSync(configPath, 'utf8'), 'stale: run make render-gateway').to.equal(
        `${JSON.stringify(renderEnvoyConfig(composeTarget({ otlpCollector: collector })), null, 2)}\n`,
      );
    });

    it('routes to upstreams that are Compose services listening on those ports', () => {
      const clusters = gateway().config.static_resources.clusters.filter(
        (cluster) => cluster.type === 'STRICT_DNS',
      );
      expect(clusters.map((cluster) => cluster.name)).to.include.members(SERVICES.map((each) => each.name));
      for (const cluster of clusters) {
        for (const { lb_endpoints } of cluster.load_assignment.endpoints) {
          for (const { endpoint } of lb_endpoints) {
            const { address, port_value } = endpoint.address.socket_address;
            expect(composeFile().services, `cluster ${cluster.name}`).to.have.property(address);
            expect(listeningPorts(address), `cluster ${cluster.name}: ${address}:${port_value}`).to.include(
              port_value,
            );
          }
        }
      }
    });

    it('publishes the gateway on localhost:8080, where the README sends its curl calls', () => {
      const { service: gatewayService } = gateway();
      expect(publishedPortsOf(gatewayService)).to.deep.include({
        hostIp: '127.0.0.1',
        published: '8080',
        target: envoyListenerPort('gateway'),
      });
    });

    it('runs the Envoy release the tests validate with, and that Envoy accepts the config with compose’s command line', async function () {
      this.timeout(60_000);
      const { name, service: gatewayService, configPath } = gateway();
      const version = await run('envoy', ['--version']);
      const release = /\/(\d+\.\d+\.\d+)\//.exec(version.output)?.[1];
      expect(imageParts(gatewayService.image ?? '').tag, version.output).to.equal(`v${release ?? '?'}`);
      const args = argv(gatewayService.command);
      // The image's entrypoint execs the command as is when it starts with `envoy` and runs as non-root.
      expect(args[0]).to.equal('envoy');
      const containerConfig = flagValue(args, '-c');
      // Envoy opens the API reference's files to validate: they are read where Compose mounts them from.
      const docs = hostPathOf(name, API_DOCS.containerDirectory);
      expect(relative(REPO_ROOT, docs)).to.equal(API_DOCS.repositoryDirectory);
      const dir = await mkdtemp(join(tmpdir(), 'mrp-compose-envoy-'));
      try {
        const config = join(dir, 'envoy.json');
        await writeFile(
          config,
          readFileSync(configPath, 'utf8').replaceAll(`"${API_DOCS.containerDirectory}/`, `"${docs}/`),
        );
        const validate = await run('envoy', [
          '--mode',
          'validate',
          ...args.slice(1).map((arg) => (arg === containerConfig ? config : arg)),
        ]);
        expect(validate.code, validate.output).to.equal(0);
        expect(validate.output).to.match(/configuration .* OK/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('Prometheus', () => {
    it('passes promtool check config, with the config and rules laid out as in the container', async function () {
      this.timeout(60_000);
      const { service: prometheusService, containerConfigPath } = prometheus();
      const root = await mkdtemp(join(tmpdir(), 'mrp-compose-prometheus-'));
      try {
        const binds = mountsOf(prometheusService).filter(
          (mount): mount is Mount & { source: string } => mount.type === 'bind',
        );
        for (const mount of binds) {
          await cp(mount.source, join(root, mount.target), { recursive: true });
        }
        const { code, output } = await run('promtool', ['check', 'config', join(root, containerConfigPath)]);
        expect(code, output).to.equal(0);
        expect(output).to.match(/slo\.rules\.yml\s+SUCCESS: \d+ rules found/);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });

    it("scrapes the local config's jobs, at each service's Compose address and at Envoy's ops listener", () => {
      const local = readYaml(join(REPO_ROOT, 'grafana/prometheus/prometheus.yml')) as PrometheusConfig;
      const { config } = prometheus();
      const jobs = (each: PrometheusConfig) =>
        each.scrape_configs.map((job) => [job.job_name, job.metrics_path ?? '/metrics']);
      // The dashboards and rules select on job names and on the `service` label each service sets.
      expect(jobs(config)).to.deep.equal(jobs(local));
      expect(config.rule_files).to.deep.equal(local.rule_files);
      for (const job of config.scrape_configs) {
        expect(job.relabel_configs, `${job.job_name}: no relabelling`).to.equal(undefined);
        expect(job.metric_relabel_configs, `${job.job_name}: no relabelling`).to.equal(undefined);
      }
      for (const name of PLATFORM_NAMES) {
        expect(targetsOf(config, name)).to.deep.equal([`${name}:${configOf(name).port}`]);
      }
      const { name: gatewayName } = gateway();
      const envoyJobs = config.scrape_configs.filter(
        (job) => job.metrics_path === OPS_ENDPOINTS.metrics.path,
      );
      expect(envoyJobs).to.have.length(1);
      expect(targetsOf(config, envoyJobs[0]!.job_name)).to.deep.equal([
        `${gatewayName}:${envoyListenerPort('ops')}`,
      ]);
    });
  });

  describe('security posture', () => {
    it('runs nothing privileged, on the host namespaces, with added capabilities or with the Docker socket', () => {
      for (const [name, each] of Object.entries(composeFile().services)) {
        expect(each.privileged, `${name}: privileged`).to.not.equal(true);
        expect(each.cap_add ?? [], `${name}: cap_add`).to.deep.equal([]);
        expect(each.devices ?? [], `${name}: devices`).to.deep.equal([]);
        for (const namespace of [each.network_mode, each.pid, each.ipc]) {
          expect(namespace, `${name}: host namespace`).to.not.equal('host');
        }
        for (const mount of mountsOf(each)) {
          expect(mount.source ?? '', `${name}: the Docker socket`).not.to.match(/docker\.sock$/);
          if (mount.type === 'bind') expect(mount.readOnly, `${name}: ${mount.target} read-only`).to.be.true;
        }
      }
    });

    it('runs every container on a read-only root filesystem, with every capability dropped and no privilege escalation', () => {
      for (const [name, each] of Object.entries(composeFile().services)) {
        expect(each.read_only, `${name}: read_only`).to.equal(true);
        expect(each.cap_drop, `${name}: cap_drop`).to.include('ALL');
        expect(each.security_opt, `${name}: security_opt`).to.include('no-new-privileges:true');
      }
    });

    it('runs every container as a non-root user', () => {
      const root = /^(0|root)(:.*)?$/;
      for (const [name, each] of Object.entries(composeFile().services)) {
        if (each.user !== undefined) {
          expect(each.user, `${name}: user`).not.to.match(root);
        } else if (each.build !== undefined) {
          const user = imageOf(name).user ?? 'root';
          expect(user, `${name}: its Dockerfile's USER`).to.match(/^[1-9]\d*:[1-9]\d*$/);
        } else {
          const { repository } = imageParts(each.image ?? '');
          expect(
            NON_ROOT_IMAGES,
            `${name}: sets no user, so its image (${repository}) must not run as root`,
          ).to.have.property(repository);
        }
      }
    });

    it('publishes ports on 127.0.0.1 only, each to something listening in the container', () => {
      let published = 0;
      const environments: Record<string, string>[] = [
        {},
        { MRP_GATEWAY_PORT: '18080', MRP_GRAFANA_PORT: '13000' },
      ];
      for (const variables of environments) {
        for (const [name, each] of Object.entries(loadCompose(variables).services)) {
          for (const port of publishedPortsOf(each)) {
            published += 1;
            expect(port.hostIp, `${name}: ${port.published}:${port.target} host address`).to.equal(
              '127.0.0.1',
            );
            expect(port.published, `${name}: a fixed host port`).to.match(/^\d+$/);
            expect(listeningPorts(name), `${name} listens on ${port.target}`).to.include(port.target);
          }
        }
      }
      expect(published).to.be.greaterThan(0);
    });

    it('pins every image it pulls to a version', () => {
      for (const [name, each] of Object.entries(composeFile().services)) {
        if (each.build !== undefined) continue;
        const { tag } = imageParts(each.image ?? '');
        expect(tag, `${name}: ${each.image ?? '(no image)'}`).to.match(/\d/);
        expect(tag, name).not.to.match(/latest/);
      }
    });
  });
});
