import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const FILES = join(resolve(import.meta.dirname, '..', '..'), 'charts', 'platform', 'files');

/**
 * Runs one of the umbrella chart's shell scripts (charts/platform/files: the helm test's seed flow, the load
 * generator) with sh and curl, as its pod does, with only PATH and `env` in its environment: its exit code
 * and everything it printed.
 */
export async function runChartScript(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec('sh', [join(FILES, script)], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}
