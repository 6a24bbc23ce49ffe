import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from './support/helm.ts';

const exec = promisify(execFile);
const SCRIPT = join(ROOT, 'scripts', 'contract-types.ts');
const GENERATED = join(ROOT, 'libs', 'schemas', 'src', 'contracts.generated.ts');

describe("the contracts' generated TypeScript types (make contract-types)", function () {
  this.timeout(60_000);

  it('are what the JSON Schemas in libs/schemas/json generate (make contract-types writes them)', async () => {
    await exec(process.execPath, [SCRIPT, '--check'], { cwd: ROOT });
  });

  it('--check fails, naming the fix, when the committed file is stale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrp-contract-types-'));
    const stale = join(dir, 'contracts.generated.ts');
    const committed = await readFile(GENERATED, 'utf8');
    expect(committed).to.include('export interface User {');
    await writeFile(
      stale,
      committed.replace('export interface User {', 'export interface User {\n  stale: true;'),
    );
    try {
      const failed = await exec(process.execPath, [SCRIPT, '--check', '--file', stale], { cwd: ROOT }).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(failed, 'the check passed a stale file').to.not.equal(undefined);
      expect(failed!.code).to.equal(1);
      expect(failed!.stderr).to.include('make contract-types');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
