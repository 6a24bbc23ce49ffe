/**
 * Node's bundled undici stays out of the services (ADR 0025): loading every module of a service, with the
 * tracing preload, as its image does, must not load it. An ES `import` of node:http (which reads the
 * `http.WebSocket` getter), or a call of `fetch`, anywhere in that graph would.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PLATFORM_SERVICES, ROOT } from '../packaging/support/helm.ts';

const run = promisify(execFile);

describe("the services' module graphs load no undici", function () {
  this.timeout(60_000);

  it('the check itself sees undici when node:http is imported as an ES module', async function () {
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      "await import('node:http'); process.stdout.write(String(process.moduleLoadList.some((m) => m.includes('undici'))))",
    ]);
    expect(stdout).to.equal('true');
  });

  for (const service of PLATFORM_SERVICES) {
    it(`${service}: its package, the platform and the tracing preload, loaded as the service loads them`, async function () {
      const { stdout } = await run(
        process.execPath,
        [
          '--import',
          '@mrp/platform/telemetry/register',
          '--input-type=module',
          '-e',
          `await import('@mrp/${service}'); process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))))`,
        ],
        { cwd: join(ROOT, 'services', service), env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } },
      );
      expect(JSON.parse(stdout)).to.deep.equal([]);
    });
  }
});
