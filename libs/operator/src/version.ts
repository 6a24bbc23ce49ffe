import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The `version` of the nearest package.json at or above `from` (this module's directory by default):
 * libs/operator/package.json whether mrpctl runs from src/ or from tsc's dist/src/, read when asked so it
 * never goes stale in a build.
 */
export function readVersion(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
      if (typeof version !== 'string' || version === '') throw new Error(`${file} has no version`);
      return version;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json at or above ${from}`);
  }
}
