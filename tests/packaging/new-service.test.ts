/**
 * make new-service, for real, in a temporary copy of the repository (its tracked and new files, a
 * node_modules of links to this one's, the same toolchain): the scaffolded service typechecks, lints, passes
 * its own unit and integration tests (real auth, real Postgres), is routed by the gateway, and the
 * packaging checks (the registry's lists, the charts with their NetworkPolicies, Compose, Skaffold, Tilt, the
 * generated files) pass with it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from './support/helm.ts';

const exec = promisify(execFile);

/** Runs a command in the copy; its output is part of the failure when it fails. */
async function run(cwd: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  try {
    return await exec(command, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`, {
      cause: error,
    });
  }
}

/** A copy of the working tree (what git tracks or would add), with node_modules linked to this one's. */
async function copyRepository(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'mrp-new-service-'));
  const { stdout } = await run(ROOT, 'git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(join(copy, file, '..'), { recursive: true });
    await cp(join(ROOT, file), join(copy, file), { verbatimSymlinks: true }).catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    });
  }
  await mkdir(join(copy, 'node_modules', '@mrp'), { recursive: true });
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry !== '@mrp') await symlink(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
  }
  // The workspace links are relative (../../services/x): in the copy they point at the copy's packages.
  for (const entry of await readdir(join(ROOT, 'node_modules', '@mrp')))
    await symlink(
      await readlink(join(ROOT, 'node_modules', '@mrp', entry)),
      join(copy, 'node_modules', '@mrp', entry),
    );
  await symlink(join(ROOT, '.tools'), join(copy, '.tools'));
  // The API reference's files the gateway serves (git-ignored, staged by the toolchain).
  for (const file of await readdir(join(ROOT, 'charts', 'gateway', 'files', 'docs')))
    if (file.endsWith('.gz'))
      await cp(join(ROOT, 'charts/gateway/files/docs', file), join(copy, 'charts/gateway/files/docs', file));
  await run(copy, 'git', ['init', '-q']);
  await run(copy, 'git', ['add', '-A']);
  await run(copy, 'git', [
    '-c',
    'user.name=test',
    '-c',
    'user.email=test@localhost',
    'commit',
    '-q',
    '-m',
    'copy',
  ]);
  return copy;
}

describe('make new-service (scaffolded into a temporary copy of the repository)', function () {
  this.timeout(1_200_000);
  let copy: string;

  before(async function () {
    copy = await copyRepository();
  });

  after(async function () {
    await rm(copy, { recursive: true, force: true });
  });

  it('refuses a name that is taken, malformed, or a port in use, and writes nothing', async function () {
    for (const [args, message] of [
      [['NAME=case-service'], 'case-service exists already'],
      [['NAME=Invoices'], 'must be lowercase words joined by "-" ending in "-service"'],
      [['NAME=invoice-service', 'PORT=3001'], 'PORT 3001 is taken'],
      [['NAME=invoice-service', 'DB=maybe'], 'DB must be yes or no'],
      [[], 'NAME is required'],
    ] as const) {
      const failed = await exec(process.execPath, ['scripts/new-service.ts', ...args], { cwd: copy }).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(failed, args.join(' ')).not.to.equal(undefined);
      expect(failed!.code).to.equal(2);
      expect(failed!.stderr).to.include(message);
    }
    const { stdout } = await run(copy, 'git', ['status', '--porcelain']);
    expect(stdout).to.equal('');
  });

  it('scaffolds a service with a database and one without: each builds, lints, passes its tests and the packaging checks, the gateway routes it and its API reference lists it', async function () {
    const scaffold = await run(
      copy,
      process.execPath,
      ['scripts/new-service.ts', 'NAME=invoice-service', 'DB=yes'],
      {
        NEW_SERVICE_INSTALL: 'no',
      },
    );
    expect(scaffold.stdout).to.include(
      'invoice-service is scaffolded on port 3006 with the database mrp_invoice',
    );
    const second = await run(
      copy,
      process.execPath,
      ['scripts/new-service.ts', 'NAME=notice-board-service'],
      {
        NEW_SERVICE_INSTALL: 'no',
      },
    );
    expect(second.stdout).to.include(
      'notice-board-service is scaffolded on port 3007, routed at /v1/notice-board',
    );
    // What npm install does for a new workspace: its link in node_modules.
    for (const name of ['invoice-service', 'notice-board-service'])
      await symlink(`../../services/${name}`, join(copy, 'node_modules', '@mrp', name));
    const registry = JSON.parse(await readFile(join(copy, 'services', 'registry.json'), 'utf8')) as {
      services: { name: string; port: number; database: string | null }[];
    };
    expect(registry.services.slice(-2)).to.deep.equal([
      {
        name: 'invoice-service',
        port: 3006,
        database: 'invoice',
        routes: [{ name: 'invoice', pathPrefix: '/v1/invoice' }],
      },
      {
        name: 'notice-board-service',
        port: 3007,
        database: null,
        routes: [{ name: 'notice-board', pathPrefix: '/v1/notice-board' }],
      },
    ]);

    await run(copy, process.execPath, ['node_modules/typescript/bin/tsc', '--build']);
    await run(copy, process.execPath, [
      'node_modules/eslint/bin/eslint.js',
      '--max-warnings',
      '0',
      'services/invoice-service',
      'services/notice-board-service',
      'tests/integration/invoice-service.test.ts',
      'tests/integration/notice-board-service.test.ts',
    ]);
    // What the scaffold does last when it installs (make api-docs): the gateway's API reference.
    await run(copy, process.execPath, ['node_modules/mocha/bin/mocha.js', '--grep', 'as committed'], {
      MRP_WRITE_API_DOCS: '1',
      MOCHA_SPEC: 'tests/integration/openapi.test.ts',
    });
    const reference = await readFile(join(copy, 'charts/gateway/files/docs/openapi.json'), 'utf8');
    expect(reference).to.include('"x-service": "invoice-service"').and.to.include('"/v1/invoice/items"');
    expect(reference).to.include('"x-service": "notice-board-service"');
    await run(copy, process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '.']);
    const tests = await run(copy, process.execPath, ['node_modules/mocha/bin/mocha.js'], {
      MOCHA_SPEC: [
        'services/invoice-service/test/**/*.test.ts',
        'services/notice-board-service/test/**/*.test.ts',
        'tests/integration/invoice-service.test.ts',
        'tests/integration/notice-board-service.test.ts',
        'tests/integration/openapi.test.ts',
        'tests/packaging/service-registry.test.ts',
        'tests/packaging/contract-types.test.ts',
        'tests/packaging/chart-readmes.test.ts',
        'tests/packaging/charts.test.ts',
        'tests/packaging/dev-loop.test.ts',
        'tests/packaging/compose.test.ts',
        'tests/packaging/gateway-chart.test.ts',
        'envoy/test/render-envoy-config.test.ts',
      ].join(' '),
    });
    expect(tests.stdout).to.match(/mocha: \d+ passed, 0 failed, 0 skipped/);
    expect(tests.stdout).to.include('invoice-service (in-process, real auth, real Postgres)');
    expect(tests.stdout).to.include('notice-board-service (in-process, real auth)');

    // The gateway routes each prefix to its service, in every rendering.
    for (const file of ['charts/gateway/files/envoy.json', 'envoy/rendered/compose.json']) {
      const config = await readFile(join(copy, file), 'utf8');
      for (const [prefix, cluster] of [
        ['/v1/invoice', 'invoice-service'],
        ['/v1/notice-board', 'notice-board-service'],
      ])
        expect(config, file)
          .to.include(`"path_separated_prefix": "${prefix}"`)
          .and.to.include(`"cluster": "${cluster}"`);
    }
  });
});
