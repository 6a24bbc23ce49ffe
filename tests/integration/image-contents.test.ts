// What scripts/image-contents.ts stages for each service's image (the Dockerfile's build stage runs it):
// the service and the workspace libraries it imports, directly or through another, read from the
// repository's own package.json files; and only the folders a package reads at run time.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';

// Loaded at run time for the reason given in bench-profile-summary.test.ts (TS2878 between projects).
interface ImageContentsModule {
  readonly imagePackages: (root: string, service: string) => string[];
  readonly stageImage: (root: string, service: string, out: string) => string[];
}
const contentsModule = new URL('../../scripts/image-contents.ts', import.meta.url).href;
const { imagePackages, stageImage } = (await import(contentsModule)) as ImageContentsModule;

const ROOT = resolve(import.meta.dirname, '..', '..');

describe("scripts/image-contents.ts: what goes into a service's image", () => {
  it('takes each service and the libraries it imports, events only where a service uses Redis', () => {
    expect(imagePackages(ROOT, 'auth-service')).to.deep.equal([
      'services/auth-service',
      'libs/platform',
      'libs/schemas',
    ]);
    // user-service publishes token revocations to Redis (ADR 0021).
    for (const service of ['user-service', 'case-service', 'scoring-service', 'audit-telemetry-service'])
      expect(imagePackages(ROOT, service), service).to.deep.equal([
        `services/${service}`,
        'libs/events',
        'libs/platform',
        'libs/schemas',
      ]);
  });

  it('refuses a service that does not exist', () => {
    expect(() => imagePackages(ROOT, 'no-such-service')).to.throw(/no service no-such-service/);
  });

  it('stages manifests and run-time folders only: no sources, tests or declarations', async function () {
    this.timeout(60_000);
    const out = await mkdtemp(join(tmpdir(), 'mrp-image-contents-'));
    try {
      // The repository's own build output (the test run compiles every project first).
      const copied = stageImage(ROOT, 'case-service', out);
      expect(copied).to.include.members([
        'services/case-service/package.json',
        'services/case-service/dist/src',
        'services/case-service/migrations',
        'libs/schemas/json',
      ]);
      expect(await readdir(join(out, 'services', 'case-service'))).to.have.members([
        'package.json',
        'dist',
        'migrations',
      ]);
      const files = await readdir(out, { recursive: true });
      expect(files.filter((path) => /\.d\.ts(\.map)?$|\/src\/.*\.ts$|\/test\//.test(path))).to.deep.equal([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
