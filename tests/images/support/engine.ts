/**
 * The container engine for the image tests: whatever `scripts/containers.sh` picks (docker with buildx,
 * else podman, configured as that script configures it), driven through its `run` command.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from '../../packaging/support/helm.ts';

const SCRIPT = join(ROOT, 'scripts', 'containers.sh');

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `scripts/containers.sh <args>`; never throws for a non-zero exit. */
export function containers(args: readonly string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** The engine's CLI (`docker ...` or `podman ...`). */
export function engine(args: readonly string[], timeoutMs?: number): Promise<Result> {
  return containers(['run', ...args], timeoutMs);
}

/** Like `engine`, but a non-zero exit is an error carrying the command and its output. */
export async function engineOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await engine(args, timeoutMs);
  if (result.code !== 0)
    throw new Error(`${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** A label every container of one test run carries, so that it (and a crashed run's) can be removed. */
export const TEST_LABEL = 'mrp.image-test';
export const RUN_ID = randomBytes(4).toString('hex');

/** Removes every container an image test started, this run's or an earlier crashed run's. */
export async function removeTestContainers(): Promise<void> {
  const ids = (await engineOk(['ps', '-aq', '--filter', `label=${TEST_LABEL}`])).split(/\s+/).filter(Boolean);
  if (ids.length > 0) await engine(['rm', '-f', ...ids]);
}
