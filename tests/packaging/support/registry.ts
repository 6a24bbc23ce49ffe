/**
 * The one list of services (services/registry.json) as the packaging tests see it, and the commands by
 * which files that cannot import it (the GitHub workflows) read it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SERVICE_NAMES } from '@mrp/gateway';
import { ROOT } from './helm.ts';

const exec = promisify(execFile);

export { SERVICE_NAMES };

/**
 * What each `node -p '<expression>'` of a shell script that reads services/registry.json prints, run from
 * the repository's root as the workflow runs it from its checkout.
 */
export async function registryReads(script: string): Promise<string[]> {
  const expressions = [...script.matchAll(/node -p '([^']*services\/registry\.json[^']*)'/g)].map(
    ([, expression]) => expression!,
  );
  const printed: string[] = [];
  for (const expression of expressions) {
    const { stdout } = await exec(process.execPath, ['-p', expression], { cwd: ROOT });
    printed.push(stdout.trim());
  }
  return printed;
}
