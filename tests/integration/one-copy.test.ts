/**
 * Each package that ships both a CommonJS and an ES build is loaded once per service (ADR 0027): loading
 * every module of a service with the flags its image starts it with (the Dockerfile's CMD), no file is
 * loaded in both builds. Without `--conditions=require` the OpenTelemetry API is loaded twice, once for
 * the ES imports and once for prom-client's require.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PLATFORM_SERVICES, ROOT } from '../packaging/support/helm.ts';

const run = promisify(execFile);

/** The node flags of the Dockerfile's last CMD (the runtime stage), but the one that needs dist/. */
function imageFlags(): string[] {
  const commands = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^CMD (\[.*\])$/gm)];
  const last = commands.at(-1)?.[1];
  if (!last) throw new Error('the Dockerfile has no CMD in exec form');
  const command = JSON.parse(last) as string[];
  const preload = command.indexOf('--import');
  return command.slice(1, preload).filter((flag) => flag !== '--conditions=mrp-compiled');
}

/** Every file under node_modules the child loads, recorded by a load hook registered first. */
const RECORDER = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; globalThis.__loaded = []; registerHooks({ load(url, context, next) { globalThis.__loaded.push(url); return next(url, context); } });",
)}`;

/** The package files loaded in both builds: `x.cjs` beside `x.mjs` (or `x.js` in a cjs/esm folder pair). */
function loadedTwice(urls: string[]): string[] {
  const stems = new Map<string, Set<string>>();
  for (const url of urls) {
    const match = /node_modules\/(.+?)\.(c|m)?js$/.exec(url);
    if (!match?.[1]) continue;
    const stem = match[1].replace(/\/(cjs|esm|commonjs|module)\//, '/<build>/');
    const kinds = stems.get(stem) ?? new Set<string>();
    kinds.add(url);
    stems.set(stem, kinds);
  }
  return [...stems].filter(([, files]) => files.size > 1).map(([stem]) => stem);
}

async function loadService(service: string, flags: string[]): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    [
      ...flags,
      '--import',
      RECORDER,
      '--import',
      '@mrp/platform/telemetry/register',
      '--input-type=module',
      '-e',
      `await import('@mrp/${service}'); process.stdout.write(JSON.stringify(globalThis.__loaded))`,
    ],
    {
      cwd: join(ROOT, 'services', service),
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', NODE_NO_WARNINGS: '1' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as string[];
}

describe('each dual package is loaded once per service', function () {
  this.timeout(60_000);

  it('the image starts the services with the require condition', function () {
    expect(imageFlags()).to.include('--conditions=require');
  });

  it('the check itself sees OpenTelemetry loaded twice without it', async function () {
    const twice = loadedTwice(await loadService('scoring-service', []));
    expect(twice.some((stem) => stem.startsWith('@opentelemetry/api/'))).to.equal(true);
  });

  for (const service of PLATFORM_SERVICES) {
    it(`${service}: with the image's flags, no package file is loaded in both builds`, async function () {
      const loaded = await loadService(service, imageFlags());
      expect(loaded.some((url) => url.includes('/@opentelemetry/sdk-trace/'))).to.equal(true);
      expect(loadedTwice(loaded)).to.deep.equal([]);
    });
  }
});
