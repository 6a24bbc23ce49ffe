import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The root of the package a module belongs to: the nearest folder above `moduleDir` (pass
 * `import.meta.dirname`) holding a package.json. A module runs from src/ in development and from tsc's
 * dist/src/ in the images, so files it ships beside its code (migrations, JSON schemas) are found from the
 * package root, never by counting `..`.
 */
export function packageRoot(moduleDir: string): string {
  for (let dir = moduleDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${moduleDir}`);
  }
}
