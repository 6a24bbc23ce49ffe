/**
 * The service images, built by a real engine (`make images`: docker with buildx, else podman; offline on
 * locally built base images) and run the way the chart runs them: its uid, a read-only root filesystem,
 * every capability dropped, no new privileges, its emptyDir volumes as tmpfs, its heap cap and memory limit,
 * against the real Postgres and Redis. `make test-images` runs this file; `make test` runs it whenever an
 * engine is present. Containers use the host's network, so they reach Postgres and Redis on 127.0.0.1 and
 * listen there on a free port; every one carries a label and is removed afterwards (and at the start of the
 * next run, if a run was killed).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { API_DOCS_MERGED_FILE } from '@mrp/gateway';
import { freePort } from '../support/ports.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { PLATFORM_SERVICES, renderValueSet, ROOT, type KubeObject } from '../packaging/support/helm.ts';
import { containers, engine, engineOk, removeTestContainers, RUN_ID, TEST_LABEL } from './support/engine.ts';

// Loaded at run time for the reason given in tests/integration/bench-profile-summary.test.ts (TS2878).
const contentsModule = new URL('../../scripts/image-contents.ts', import.meta.url).href;
const { imagePackages } = (await import(contentsModule)) as {
  readonly imagePackages: (root: string, service: string) => string[];
};

const TAG = process.env.MRP_IMAGE_TAG ?? 'local';
/** The stated ceiling of what an image adds to its Node base (MB): its dependencies and its code. */
const OWN_LAYERS_LIMIT_MB = 80;

interface Container {
  readonly name?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; value?: string }[];
  readonly volumeMounts?: { name: string; mountPath: string }[];
  readonly resources?: { limits?: { memory?: string } };
  readonly securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: { runAsUser?: number; runAsGroup?: number };
  readonly volumes?: {
    name: string;
    emptyDir?: { sizeLimit?: string };
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    configMap?: { name: string };
  }[];
  readonly containers: Container[];
}

/** How the chart (default values) starts a service: its pod and its first container. */
function podOf(objects: readonly KubeObject[], kind: string, name: string): PodSpec {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`the chart renders no ${kind} ${name}`);
  return (object.spec as { template: { spec: PodSpec } }).template.spec;
}

/** `--memory` for a Kubernetes quantity (Mi, Gi). */
function memoryFlag(quantity: string): string {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return `${Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1)}m`;
}

/**
 * The engine flags for the chart's security settings, volumes and limits. An emptyDir becomes a tmpfs; a
 * Secret or ConfigMap volume becomes a read-only bind mount of the folder `folders` gives for it (by the
 * Secret's or ConfigMap's name), and the chart's variables that point into it (a key file's path) are
 * passed on.
 */
function chartFlags(pod: PodSpec, folders: Readonly<Record<string, string>> = {}): string[] {
  const container = pod.containers[0]!;
  const security = container.securityContext ?? {};
  const flags: string[] = [];
  const { runAsUser, runAsGroup } = pod.securityContext ?? {};
  if (runAsUser !== undefined) flags.push('--user', `${runAsUser}:${runAsGroup ?? runAsUser}`);
  if (security.readOnlyRootFilesystem) flags.push('--read-only');
  for (const capability of security.capabilities?.drop ?? []) flags.push('--cap-drop', capability);
  if (security.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((candidate) => candidate.name === mount.name);
    const source = volume?.secret?.secretName ?? volume?.configMap?.name;
    if (source !== undefined) {
      const folder = folders[source];
      if (!folder) throw new Error(`the test gives no files for ${source}`);
      flags.push('--volume', `${folder}:${mount.mountPath}:ro`);
      for (const variable of container.env ?? [])
        if (variable.value === mount.mountPath || variable.value?.startsWith(`${mount.mountPath}/`))
          flags.push('--env', `${variable.name}=${variable.value}`);
      continue;
    }
    if (!volume?.emptyDir)
      throw new Error(`${mount.name}: only emptyDir, Secret and ConfigMap volumes are expected`);
    const size = volume.emptyDir.sizeLimit ? `,size=${memoryFlag(volume.emptyDir.sizeLimit)}` : '';
    flags.push('--tmpfs', `${mount.mountPath}:rw,mode=1777${size}`);
  }
  const limit = container.resources?.limits?.memory;
  if (limit) flags.push('--memory', memoryFlag(limit));
  const nodeOptions = container.env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
  if (nodeOptions) flags.push('--env', `NODE_OPTIONS=${nodeOptions}`);
  return flags;
}

interface Started {
  readonly name: string;
  readonly command: string[];
}

/** Starts a container of this run; its command line is kept for the failure message. */
async function start(
  service: string,
  flags: readonly string[],
  image: string,
  args: readonly string[] = [],
): Promise<Started> {
  const name = `mrp-image-test-${RUN_ID}-${service}`;
  const command = [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${TEST_LABEL}=${RUN_ID}`,
    '--network',
    'host',
    ...flags,
    image,
    ...args,
  ];
  await engineOk(command);
  return { name, command };
}

/** The output of `program args...` run in a throw-away container of `image`, with no network. */
function inImage(image: string, program: string, ...args: string[]): Promise<string> {
  return engineOk([
    'run',
    '--rm',
    '--label',
    `${TEST_LABEL}=${RUN_ID}`,
    '--network',
    'none',
    '--entrypoint',
    program,
    image,
    ...args,
  ]);
}

/** Its logs and the command that started it: what a failed check prints. */
async function diagnose(started: Started): Promise<string> {
  const logs = await engine(['logs', started.name]);
  return `\n$ ${started.command.join(' ')}\n--- logs of ${started.name} ---\n${logs.stdout}${logs.stderr}`;
}

/**
 * Files for the Secrets a pod mounts, as the chart's install would create them: for each key it mounts (the
 * listed items, or every key of the Secret the chart renders when it is mounted whole, as auth-service's
 * key directory is) a fresh P-256 key. Readable by the container's user, since a bind mount keeps the
 * host's owner.
 */
async function secretFolders(
  pod: PodSpec,
  objects: readonly KubeObject[],
): Promise<{ folders: Record<string, string>; remove: () => Promise<void> }> {
  const folders: Record<string, string> = {};
  for (const volume of pod.volumes ?? []) {
    if (!volume.secret) continue;
    const folder = await mkdtemp(join(tmpdir(), 'mrp-image-secret-'));
    await chmod(folder, 0o755);
    const { secretName } = volume.secret;
    const rendered = objects.find(
      (object) => object.kind === 'Secret' && object.metadata.name === secretName,
    );
    const items =
      volume.secret.items ??
      Object.keys((rendered as { data?: Record<string, string> } | undefined)?.data ?? {}).map((key) => ({
        key,
        path: key,
      }));
    if (items.length === 0) throw new Error(`no test content for the Secret ${secretName}`);
    for (const item of items) {
      if (!item.key.endsWith('.pem')) throw new Error(`no test content for ${item.key}`);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await writeFile(join(folder, item.path), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o444,
      });
    }
    folders[volume.secret.secretName] = folder;
  }
  return {
    folders,
    remove: async () => {
      for (const folder of Object.values(folders)) await rm(folder, { recursive: true, force: true });
    },
  };
}

async function statusOf(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.status,
    () => 0,
  );
}

describe('the service images, built and run by a real container engine', function () {
  this.timeout(30 * 60_000);
  let chart: KubeObject[];

  before(async function () {
    await removeTestContainers();
    chart = await renderValueSet('defaults');
    const started = Date.now();
    const built = await containers(['images'], 25 * 60_000);
    if (built.code !== 0) throw new Error(`make images failed:\n${built.stderr}${built.stdout}`);
    console.log(`      make images: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });

  after(async function () {
    await removeTestContainers();
  });

  /**
   * Checks that `image` runs as the uid and gid the chart's `deployment` sets, and measures it against the
   * base `make images` built it on (its `mrp.base-image` label): its size, and how much of it is its own.
   */
  async function userAndBase(
    image: string,
    deployment: string,
  ): Promise<{ base: string; size: number; own: number }> {
    const { runAsUser, runAsGroup } = podOf(chart, 'Deployment', deployment).securityContext ?? {};
    expect(runAsUser).to.be.a('number').and.above(0);
    const user = (await engineOk(['image', 'inspect', '--format', '{{.Config.User}}', image])).trim();
    expect(user).to.equal(`${runAsUser}:${runAsGroup}`);
    const sizeOf = async (name: string) =>
      Number(await engineOk(['image', 'inspect', '--format', '{{.Size}}', name]));
    const base = (
      await engineOk(['image', 'inspect', '--format', '{{index .Config.Labels "mrp.base-image"}}', image])
    ).trim();
    const size = await sizeOf(image);
    return { base, size, own: size - (await sizeOf(base)) };
  }

  for (const service of PLATFORM_SERVICES) {
    describe(service, function () {
      const image = `mrp/${service}:${TAG}`;
      const database = existsSync(join(ROOT, 'services', service, 'migrations'));

      it(`runs as the chart's non-root uid, and adds at most ${OWN_LAYERS_LIMIT_MB} MB to its Node base`, async function () {
        const { base, size, own } = await userAndBase(image, `mrp-${service}`);
        expect(base, 'the mrp.base-image label').to.match(/node/);
        console.log(
          `      ${image}: ${(size / 1e6).toFixed(0)} MB, ${(own / 1e6).toFixed(0)} MB of it above ${base}`,
        );
        expect(own / 1e6).to.be.at.most(OWN_LAYERS_LIMIT_MB);
      });

      it('holds its own package and exactly the libraries it imports, compiled, with production dependencies only', async function () {
        const listing = await inImage(
          image,
          'find',
          '/app',
          '-path',
          '/app/node_modules',
          '-prune',
          '-o',
          '-print',
        );
        const files = listing
          .split('\n')
          .filter(Boolean)
          .map((path) => path.replace(/^\/app\/?/, ''))
          .filter(Boolean);
        const packages = files.filter((path) => /^(libs|services)\/[^/]+$/.test(path)).sort();
        expect(packages).to.deep.equal(imagePackages(ROOT, service).sort());
        // tsc's JavaScript only: no TypeScript, declarations, tsconfig, tests, source maps or .git.
        expect(
          files.filter((path) =>
            /\.(c|m)?ts$|\.map$|(^|\/)tsconfig[^/]*\.json$|(^|\/)(test|tests|\.git|src)(\/|$)/.test(
              path.replace(/\/dist\/src(\/|$)/, '/dist/'),
            ),
          ),
        ).to.deep.equal([]);
        expect(files).to.include(`services/${service}/dist/src/main.js`);
        expect(files.includes(`services/${service}/migrations`)).to.equal(database);
        const modules = (await inImage(image, 'ls', '-A', '/app/node_modules')).split(/\s+/);
        // Type packages some runtime dependencies declare are there; the test runner's are not.
        const types = (
          await inImage(image, 'sh', '-c', 'ls -A /app/node_modules/@types 2>/dev/null || true')
        ).split(/\s+/);
        for (const dev of ['mocha', 'chai'])
          expect(types, `@types/${dev} is a devDependency`).not.to.include(dev);
        for (const dev of ['mocha', 'chai', 'typescript', 'eslint', 'prettier', 'autocannon', 'yaml'])
          expect(modules, `${dev} is a devDependency`).not.to.include(dev);
        for (const runtime of ['koa', 'pg', 'pino', 'prom-client', 'jose'])
          expect(modules, runtime).to.include(runtime);
      });

      if (database) {
        it("runs the chart's migration Job command against a real database, and it exits 0", async function () {
          const job = podOf(chart, 'Job', `mrp-${service}-migrate`);
          const command = job.containers[0]!.command ?? [];
          expect(command[0]).to.equal('node');
          const db = await createTestDatabase(`image_migrate_${service.replace(/-/g, '_')}`);
          try {
            const result = await engine([
              'run',
              '--rm',
              '--label',
              `${TEST_LABEL}=${RUN_ID}`,
              '--network',
              'host',
              ...chartFlags(job),
              '--env',
              'APP_ENV=development',
              '--env',
              `DATABASE_URL=${db.url}`,
              '--env',
              'OTEL_SDK_DISABLED=true',
              '--env',
              'MIGRATE_WAIT_SECONDS=10',
              '--entrypoint',
              command[0]!,
              image,
              ...command.slice(1),
            ]);
            expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
            expect(result.stdout).to.include('migrations applied');
          } finally {
            await db.drop();
          }
        });
      }

      it("started as the chart starts it, answers /healthz and /readyz, and on SIGTERM exits 0 within the chart's grace period", async function () {
        const pod = podOf(chart, 'Deployment', `mrp-${service}`);
        const grace = pod.terminationGracePeriodSeconds ?? 30;
        const port = await freePort();
        const db = database ? await createTestDatabase(`image_${service.replace(/-/g, '_')}`) : undefined;
        const streams = `test:${RUN_ID}:${service}`;
        const secrets = await secretFolders(pod, chart);
        const env = [
          'APP_ENV=development',
          'HOST=127.0.0.1',
          `PORT=${port}`,
          'OTEL_SDK_DISABLED=true',
          'REDIS_URL=redis://127.0.0.1:6379',
          `AUTH_JWKS_URL=http://127.0.0.1:${port}/.well-known/jwks.json`,
          // Streams of this test's own, so nothing reaches a running platform's consumers.
          `CASE_EVENT_STREAM=${streams}:case`,
          `SCORING_EVENT_STREAM=${streams}:scoring`,
          `AUDIT_STREAMS=${streams}:case,${streams}:scoring`,
          `AUDIT_DEAD_LETTER_STREAM=${streams}:dead-letter`,
          ...(db ? [`DATABASE_URL=${db.url}`, 'MIGRATE_ON_START=true'] : []),
        ];
        let started: Started | undefined;
        try {
          started = await start(
            service,
            [...chartFlags(pod, secrets.folders), ...env.flatMap((pair) => ['--env', pair])],
            image,
          );
          let ready = 0;
          for (let attempt = 0; attempt < 150 && ready !== 200; attempt += 1) {
            ready = await statusOf(`http://127.0.0.1:${port}/readyz`);
            if (ready !== 200) await sleep(200);
          }
          expect(ready, await diagnose(started)).to.equal(200);
          expect(await statusOf(`http://127.0.0.1:${port}/healthz`)).to.equal(200);

          const stopping = Date.now();
          await engineOk(['stop', '--time', String(grace), started.name], (grace + 30) * 1000);
          const seconds = (Date.now() - stopping) / 1000;
          const exit = (await engineOk(['inspect', '--format', '{{.State.ExitCode}}', started.name])).trim();
          expect(exit, await diagnose(started)).to.equal('0');
          expect(seconds, `stopped after ${seconds} s`).to.be.below(grace);
        } finally {
          if (started) await engine(['rm', '-f', started.name]);
          if (db) await db.drop();
          await secrets.remove();
        }
      });
    });
  }

  describe('gateway', function () {
    const image = `mrp/gateway:${TAG}`;

    it("runs as the chart's non-root uid, and adds only the API reference's files to its Envoy base", async function () {
      const { base, own } = await userAndBase(image, 'mrp-gateway');
      expect(base, 'the mrp.base-image label').to.match(/envoy/);
      console.log(`      ${image}: ${(own / 1e6).toFixed(2)} MB above ${base}`);
      // The merged document and Swagger UI's two compressed files: about 0.6 MB.
      expect(own / 1e6).to.be.at.most(1);
    });

    it("started as the chart starts it, with the chart's config, serves the API reference without a token and nothing else, and exits 0 on SIGTERM", async function () {
      const pod = podOf(chart, 'Deployment', 'mrp-gateway');
      const container = pod.containers[0]!;
      const configMap = chart.find(
        (object) => object.kind === 'ConfigMap' && object.metadata.name === 'mrp-gateway',
      ) as (KubeObject & { data: Record<string, string> }) | undefined;
      expect(configMap, 'the gateway ConfigMap').to.exist;
      // The chart's config, on loopback ports of this test's (the container shares the host's network).
      const ports = { gateway: await freePort(), ops: await freePort(), admin: await freePort() };
      const config = JSON.parse(configMap!.data['envoy.json']!) as {
        admin: { address: { socket_address: { port_value: number } } };
        static_resources: {
          listeners: {
            name: 'gateway' | 'ops';
            address: { socket_address: { address: string; port_value: number } };
          }[];
          clusters: { name: string; load_assignment: unknown }[];
        };
      };
      config.admin.address.socket_address.port_value = ports.admin;
      // The ops listener forwards to the admin interface, wherever it listens.
      const admin = config.static_resources.clusters.find((cluster) => cluster.name === 'envoy-admin')!;
      admin.load_assignment = JSON.parse(
        JSON.stringify(admin.load_assignment).replace(/"port_value":\d+/, `"port_value":${ports.admin}`),
      ) as unknown;
      for (const listener of config.static_resources.listeners)
        listener.address.socket_address = { address: '127.0.0.1', port_value: ports[listener.name] };
      const folder = await mkdtemp(join(tmpdir(), 'mrp-image-gateway-'));
      await chmod(folder, 0o755);
      await writeFile(join(folder, 'envoy.json'), JSON.stringify(config), { mode: 0o444 });
      const base = `http://127.0.0.1:${ports.gateway}`;
      let started: Started | undefined;
      try {
        // The chart's args after the image's entry point (envoy), as the kubelet runs them.
        started = await start(
          'gateway',
          chartFlags(pod, { 'mrp-gateway': folder }),
          image,
          container.args ?? [],
        );
        let health = 0;
        for (let attempt = 0; attempt < 100 && health !== 200; attempt += 1) {
          health = await statusOf(`${base}/healthz`);
          if (health !== 200) await sleep(200);
        }
        expect(health, await diagnose(started)).to.equal(200);
        const ready = await fetch(`http://127.0.0.1:${ports.ops}/ready`);
        expect(await ready.text()).to.include('LIVE');

        const document = await fetch(`${base}/openapi.json`);
        expect(document.status).to.equal(200);
        expect(await document.text()).to.equal(readFileSync(API_DOCS_MERGED_FILE, 'utf8'));
        const page = await fetch(`${base}/docs`);
        expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8');
        expect(await page.text()).to.include('swagger-ui-bundle.js');
        // fetch decompresses: the bundle arrives whole, as swagger-ui-dist ships it.
        const bundle = await fetch(`${base}/docs/swagger-ui-bundle.js`);
        expect(bundle.headers.get('content-encoding')).to.equal('gzip');
        expect((await bundle.text()).length).to.be.above(1_000_000);
        expect(await statusOf(`${base}/v1/users`), 'a routed path still needs a token').to.equal(401);

        await engineOk(
          ['stop', '--time', String(pod.terminationGracePeriodSeconds ?? 30), started.name],
          60_000,
        );
        const exit = (await engineOk(['inspect', '--format', '{{.State.ExitCode}}', started.name])).trim();
        expect(exit, await diagnose(started)).to.equal('0');
      } finally {
        if (started) await engine(['rm', '-f', started.name]);
        await rm(folder, { recursive: true, force: true });
      }
    });
  });
});
