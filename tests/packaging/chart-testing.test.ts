import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ROOT } from './support/helm.ts';

const exec = promisify(execFile);

/** Runs a tool of .tools/venv (on PATH through the toolchain): its exit code and output. */
async function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

interface CtConfig {
  'chart-dirs': string[];
  'lint-conf': string;
  'chart-yaml-schema': string;
  all?: boolean;
}

describe('chart-testing (ct.yaml): the checks ct lint runs, offline', function () {
  this.timeout(60_000);
  const config = async () => parse(await readFile(join(ROOT, 'ct.yaml'), 'utf8')) as CtConfig;
  const charts = async () =>
    (await readdir(join(ROOT, 'charts'), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => join('charts', entry.name));

  it('when ct reads its config, every file and folder it names exists, and it lints every chart', async function () {
    const ct = await config();
    expect(ct['chart-dirs']).to.deep.equal(['charts']);
    expect(ct.all).to.equal(true);
    for (const file of [ct['lint-conf'], ct['chart-yaml-schema']])
      expect(existsSync(join(ROOT, file)), file).to.be.true;
  });

  it("when yamllint checks every Chart.yaml and values file with ct's rules, it finds nothing", async function () {
    const ct = await config();
    const files: string[] = [];
    for (const chart of await charts()) {
      for (const file of await readdir(join(ROOT, chart)))
        if (file === 'Chart.yaml' || /^values.*\.yaml$/.test(file)) files.push(join(chart, file));
      if (existsSync(join(ROOT, chart, 'ci')))
        for (const file of await readdir(join(ROOT, chart, 'ci'))) files.push(join(chart, 'ci', file));
    }
    expect(files.length).to.be.greaterThan(30);
    const result = await run('yamllint', ['--strict', '-c', ct['lint-conf'], ...files]);
    expect(result.code, result.output).to.equal(0);
  });

  it("when yamale checks every Chart.yaml against ct's schema, each passes, and one missing its description does not", async function () {
    const ct = await config();
    for (const chart of await charts()) {
      const result = await run('yamale', ['-s', ct['chart-yaml-schema'], join(chart, 'Chart.yaml')]);
      expect(result.code, `${chart}: ${result.output}`).to.equal(0);
    }
    const dir = await mkdtemp(join(tmpdir(), 'mrp-ct-'));
    try {
      const broken = (await readFile(join(ROOT, 'charts', 'case-service', 'Chart.yaml'), 'utf8')).replace(
        /^description:.*$/m,
        '',
      );
      await writeFile(join(dir, 'Chart.yaml'), broken);
      const result = await run('yamale', ['-s', ct['chart-yaml-schema'], join(dir, 'Chart.yaml')]);
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include('description: Required field missing');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
