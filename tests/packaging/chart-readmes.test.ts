import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ROOT } from './support/helm.ts';

const exec = promisify(execFile);

/** Runs the generator with --check in `root`: its exit code and what it said. */
async function check(root: string): Promise<{ code: number; output: string }> {
  try {
    await exec(process.execPath, [join(root, 'scripts', 'chart-readme.ts'), '--check'], { cwd: root });
    return { code: 0, output: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, output: failed.stderr };
  }
}

describe("the charts' READMEs (make chart-readmes, from each values.yaml's comments)", function () {
  this.timeout(60_000);

  it('when the READMEs are checked against the values, none is stale', async function () {
    const result = await check(ROOT);
    expect(result.code, result.output).to.equal(0);
  });

  it('when a chart is read, its README has a row, with a description, for every top-level key of its values', async function () {
    const charts = (await readdir(join(ROOT, 'charts'), { withFileTypes: true })).filter(
      (entry) => entry.isDirectory() && entry.name !== 'mrp-lib',
    );
    expect(charts.length).to.be.greaterThan(12);
    for (const chart of charts) {
      const values = parse(await readFile(join(ROOT, 'charts', chart.name, 'values.yaml'), 'utf8')) as Record<
        string,
        unknown
      >;
      const readme = await readFile(join(ROOT, 'charts', chart.name, 'README.md'), 'utf8');
      for (const key of Object.keys(values))
        expect(readme, `charts/${chart.name}: ${key}`).to.match(
          new RegExp(`^\\| \`${key}\` \\| [^|]+ \\| \\S`, 'm'),
        );
    }
  });

  it('when a comment in values.yaml changes, the check names the README to regenerate', async function () {
    const copy = await mkdtemp(join(tmpdir(), 'mrp-chart-readmes-'));
    try {
      // The generator, and what it reads and writes of each chart.
      await mkdir(join(copy, 'scripts'));
      await cp(join(ROOT, 'scripts', 'chart-readme.ts'), join(copy, 'scripts', 'chart-readme.ts'));
      await cp(join(ROOT, 'package.json'), join(copy, 'package.json'));
      await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
      for (const chart of await readdir(join(ROOT, 'charts'))) {
        await mkdir(join(copy, 'charts', chart), { recursive: true });
        for (const file of ['Chart.yaml', 'values.yaml', 'README.md'])
          await cp(join(ROOT, 'charts', chart, file), join(copy, 'charts', chart, file)).catch(
            () => undefined,
          );
      }
      const values = join(copy, 'charts', 'case-service', 'values.yaml');
      const text = await readFile(values, 'utf8');
      await writeFile(values, text.replace('# Replicas when autoscaling is off.', '# How many replicas.'));
      const result = await check(copy);
      expect(result.code).to.equal(1);
      expect(result.output).to.include('charts/case-service/README.md');
      expect(result.output).to.not.include('charts/user-service/README.md');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
