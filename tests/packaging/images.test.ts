import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { freePort } from '../support/ports.ts';
import { createTestDatabase } from '../support/test-database.ts';
import {
  BuildContext,
  buildImageTree,
  imageSettings,
  stageNames,
  type ImageTree,
} from './support/dockerfile.ts';
import { PLATFORM_SERVICES, renderValueSet, ROOT } from './support/helm.ts';

const exec = promisify(execFile);

interface Service {
  readonly name: string;
  /** The workspace packages it imports, directly or through another (from the package.json files). */
  readonly libs: readonly string[];
  readonly database: boolean;
}

/** The @mrp/* packages a workspace depends on, transitively, as their folders. */
function workspaceClosure(packageDir: string): string[] {
  const folders = new Map<string, string>([
    ['@mrp/platform', 'libs/platform'],
    ['@mrp/schemas', 'libs/schemas'],
    ['@mrp/events', 'libs/events'],
  ]);
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const folder = folders.get(name);
      if (name.startsWith('@mrp/') && !folder)
        throw new Error(`${dir} depends on ${name}, which no image copies`);
      if (folder && !seen.has(folder)) {
        seen.add(folder);
        visit(folder);
      }
    }
  };
  visit(packageDir);
  return [...seen].sort();
}

const SERVICES: readonly Service[] = PLATFORM_SERVICES.map((name) => ({
  name,
  libs: workspaceClosure(`services/${name}`),
  database: existsSync(join(ROOT, 'services', name, 'migrations')),
}));

const dockerfileOf = (service: string): string => join(ROOT, 'services', service, 'Dockerfile');

/** The files under `dir`, relative to it, node_modules left out (its packages ship their own typings). */
function ownFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
    (path) => !path.split('/').includes('node_modules') && !statSync(join(dir, path)).isDirectory(),
  );
}

/** The command of a data service's migration Job, as the chart renders it with its defaults. */
async function migrationCommand(service: string): Promise<string[]> {
  const job = (await renderValueSet('defaults')).find(
    (object) => object.kind === 'Job' && object.metadata.name === `mrp-${service}-migrate`,
  );
  if (!job) throw new Error(`the chart renders no migration Job for ${service}`);
  return (job.spec as { template: { spec: { containers: { command: string[] }[] } } }).template.spec
    .containers[0]!.command;
}

describe('the service images (Dockerfiles checked with hadolint, then built offline into a folder and started)', function () {
  this.timeout(240_000);

  it('when hadolint reads each Dockerfile, it has nothing to say, not even at the info level', async function () {
    for (const service of SERVICES) {
      const result = await exec('hadolint', [
        '--failure-threshold',
        'info',
        '--no-color',
        dockerfileOf(service.name),
      ]).then(
        () => '',
        (error: unknown) => (error as { stdout?: string }).stdout ?? String(error),
      );
      expect(result, service.name).to.equal('');
    }
  });

  it('when a Dockerfile declares its stages, they are deps, build, base, dev and runtime, with runtime last (what ships by default)', function () {
    for (const service of SERVICES) {
      expect(stageNames(dockerfileOf(service.name)), service.name).to.deep.equal([
        'deps',
        'build',
        'base',
        'dev',
        'runtime',
      ]);
      const runtime = imageSettings(dockerfileOf(service.name));
      expect(runtime.baseImage, service.name).to.match(/^node:24(-|\.|$)/);
      expect(runtime.user, service.name).to.match(/^[1-9]\d*:[1-9]\d*$/);
      expect(runtime.env, service.name).to.include({
        NODE_ENV: 'production',
        APP_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: '8080',
      });
    }
  });

  it('when .dockerignore filters the build context, an image can see the manifests, tsconfig files, libraries and services, but no tests, builds or node_modules', function () {
    const context = new BuildContext(ROOT);
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'libs/platform/tsconfig.json',
      'services/case-service/tsconfig.json',
      'libs/platform/src/index.ts',
      'libs/schemas/json/user/User.json',
      'services/case-service/migrations',
    ]) {
      expect(context.includes(path), path).to.be.true;
    }
    for (const path of [
      'tests/e2e/seed-flow.test.ts',
      'libs/platform/test/config.test.ts',
      'node_modules/pg/package.json',
      'services/case-service/node_modules/x',
      'libs/platform/dist/x.d.ts',
      'services/case-service/dist/src/main.js',
      'libs/platform/dist/.tsbuildinfo',
      '.tools/venv/bin/envoy',
      'charts/platform/Chart.yaml',
      '.git/HEAD',
      'services/case-service/Dockerfile',
      'libs/operator/src/cli.ts',
      'envoy/src/gateway.ts',
    ]) {
      expect(context.includes(path), path).to.be.false;
    }
  });

  for (const service of SERVICES) {
    describe(service.name, function () {
      let dir: string;
      let image: ImageTree;
      before(async function () {
        dir = await mkdtemp(join(tmpdir(), `mrp-image-${service.name}-`));
        image = buildImageTree(dockerfileOf(service.name), new BuildContext(ROOT), dir);
      });
      after(async function () {
        await rm(dir, { recursive: true, force: true });
      });

      it(`when built, the image holds exactly the libraries ${service.name} imports, its own package, and production dependencies only`, function () {
        const app = join(image.root, 'app');
        expect(
          readdirSync(join(app, 'libs'))
            .sort()
            .map((lib) => `libs/${lib}`),
        ).to.deep.equal([...service.libs]);
        expect(readdirSync(join(app, 'services'))).to.deep.equal([service.name]);
        const modules = join(app, 'node_modules');
        for (const dev of [
          'mocha',
          'chai',
          'typescript',
          'eslint',
          'prettier',
          'typescript-eslint',
          'autocannon',
          'dclint',
          '@types/mocha',
        ]) {
          expect(existsSync(join(modules, dev)), `${dev} is a devDependency`).to.be.false;
        }
        for (const runtime of ['koa', 'pg', 'pino', 'prom-client', '@opentelemetry/sdk-trace']) {
          expect(existsSync(join(modules, runtime)), runtime).to.be.true;
        }
        expect(existsSync(join(app, 'services', service.name, 'test'))).to.be.false;
        expect(existsSync(join(app, 'services', service.name, 'migrations'))).to.equal(service.database);
      });

      it(`when built, the image runs tsc's JavaScript: no TypeScript source, declaration or tsconfig of ${service.name} or its libraries is in it`, function () {
        const app = join(image.root, 'app');
        const files = ownFiles(app);
        expect(
          files.filter((path) => /\.(c|m)?ts$|\.d\.ts\.map$|(^|\/)tsconfig[^/]*\.json$/.test(path)),
        ).to.deep.equal([]);
        for (const pkg of [...service.libs, `services/${service.name}`]) {
          expect(existsSync(join(app, pkg, 'src')), `${pkg}/src`).to.be.false;
          expect(existsSync(join(app, pkg, 'dist', 'src', 'index.js')), `${pkg}/dist/src/index.js`).to.be
            .true;
        }
        const entry = image.cmd.at(-1)!;
        expect(image.cmd).to.include('--conditions=mrp-compiled');
        // The footprint settings docs/benchmarks.md measured: a small young generation, and glibc's
        // mmap threshold fixed so freed argon2 blocks go back to the system.
        expect(image.cmd).to.include('--max-semi-space-size=2');
        expect(image.env.MALLOC_MMAP_THRESHOLD_).to.equal('131072');
        expect(entry).to.match(/^dist\/src\/.+\.js$/);
        expect(existsSync(join(image.root, image.workdir, entry)), entry).to.be.true;
      });

      if (service.database) {
        it(`when the chart's migration Job command runs in the image, it applies ${service.name}'s migrations from that tree and exits 0`, async function () {
          const [command, ...args] = await migrationCommand(service.name);
          expect(command).to.equal('node');
          expect(existsSync(join(image.root, image.workdir, args.at(-1)!)), args.at(-1)).to.be.true;
          const database = await createTestDatabase(`image_migrate_${service.name.replace(/-/g, '_')}`);
          try {
            const result = await exec(process.execPath, args, {
              cwd: join(image.root, image.workdir),
              env: {
                PATH: process.env.PATH,
                ...image.env,
                APP_ENV: 'development',
                DATABASE_URL: database.url,
                MIGRATE_WAIT_SECONDS: '10',
                OTEL_SDK_DISABLED: 'true',
              },
            }).then(
              ({ stdout }) => ({ code: 0, output: stdout }),
              (error: unknown) => {
                const failed = error as { code?: number; stdout?: string; stderr?: string };
                return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
              },
            );
            expect(result.code, result.output).to.equal(0);
            expect(result.output).to.include('migrations applied');
          } finally {
            await database.drop();
          }
        });
      }

      it(`when started with the image's command and environment, ${service.name} boots from that tree and answers /healthz`, async function () {
        const port = await freePort();
        const database = service.database
          ? await createTestDatabase(`image_${service.name.replace(/-/g, '_')}`)
          : undefined;
        let child: ChildProcess | undefined;
        try {
          const [command, ...args] = image.cmd;
          expect(command).to.equal('node');
          let output = '';
          child = spawn(process.execPath, args, {
            cwd: join(image.root, image.workdir),
            env: {
              PATH: process.env.PATH,
              ...image.env,
              // What a deployment sets (the chart does the same): a profile, and where the others are.
              APP_ENV: 'development',
              HOST: '127.0.0.1',
              PORT: String(port),
              OTEL_SDK_DISABLED: 'true',
              AUTH_DEV_KEYS_DIR: join(dir, 'keys'),
              ...(database ? { DATABASE_URL: database.url, MIGRATE_ON_START: 'true' } : {}),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
          let status = 0;
          for (let attempt = 0; attempt < 100 && status !== 200; attempt += 1) {
            if (child.exitCode !== null) break;
            status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
              (response) => response.status,
              () => 0,
            );
            if (status !== 200) await sleep(100);
          }
          expect(status, output).to.equal(200);
          expect(output).to.include('"message":"listening"');
        } finally {
          if (child && child.exitCode === null) {
            const exited = new Promise((resolve) => child!.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
          }
          await database?.drop();
        }
      });
    });
  }
});
