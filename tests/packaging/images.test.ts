/**
 * The Dockerfiles, read offline: hadolint, and the stages and settings the other packaging files rely on.
 * The images themselves are built and run by a real engine in tests/images (`make test-images`).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { imageSettings, stageNames } from './support/dockerfile.ts';
import { PLATFORM_SERVICES, ROOT } from './support/helm.ts';

const exec = promisify(execFile);

const SERVICE_DOCKERFILE = join(ROOT, 'Dockerfile');
const BASE_DOCKERFILES = readdirSync(join(ROOT, 'images'))
  .filter((name) => name.endsWith('.Dockerfile'))
  .map((name) => join(ROOT, 'images', name));

describe('the Dockerfiles (read offline; tests/images builds and runs them)', function () {
  this.timeout(60_000);

  it('when hadolint reads the service Dockerfile and the local base images’, it has nothing to say, not even at the info level', async function () {
    for (const dockerfile of [SERVICE_DOCKERFILE, ...BASE_DOCKERFILES]) {
      const result = await exec('hadolint', ['--failure-threshold', 'info', '--no-color', dockerfile]).then(
        () => '',
        (error: unknown) => (error as { stdout?: string }).stdout ?? String(error),
      );
      expect(result, dockerfile).to.equal('');
    }
  });

  it('one Dockerfile builds every service: its stages are deps, build, base, dev and runtime, runtime last (what ships by default)', function () {
    expect(stageNames(SERVICE_DOCKERFILE)).to.deep.equal(['deps', 'build', 'base', 'dev', 'runtime']);
    const runtime = imageSettings(SERVICE_DOCKERFILE);
    expect(runtime.baseImage).to.match(/^node:24(-|\.|$)/);
    expect(runtime.user).to.match(/^[1-9]\d*:[1-9]\d*$/);
    expect(runtime.env).to.include({
      NODE_ENV: 'production',
      APP_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '8080',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });

  it('no service keeps a Dockerfile of its own', function () {
    for (const service of PLATFORM_SERVICES)
      expect(readdirSync(join(ROOT, 'services', service)), service).not.to.include('Dockerfile');
  });
});
