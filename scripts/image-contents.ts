/**
 * What a service's image holds, and nothing more: copies the service and every workspace library it imports
 * (directly or through another library), each as its package.json plus the folders it reads at run time
 * (tsc's JavaScript in dist/src, the JSON schemas, the SQL migrations), from a built workspace into a folder.
 * The Dockerfile's build stage runs it; `make images` tests check what it produced.
 *
 *   node scripts/image-contents.ts <service> <workspace root> <out dir>
 *
 * It reads the workspace's package.json files only: a library added to a service's dependencies reaches
 * its image with no Dockerfile change.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The folders of a package that its code reads at run time, when the package has them. */
export const RUNTIME_FOLDERS = ['dist/src', 'json', 'migrations'] as const;

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
}

const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Every workspace package by name, with its folder relative to the root. */
export function workspacePackages(root: string): Map<string, string> {
  const packages = new Map<string, string>();
  for (const parent of ['libs', 'services']) {
    if (!existsSync(join(root, parent))) continue;
    for (const entry of readdirSync(join(root, parent))) {
      const folder = `${parent}/${entry}`;
      if (existsSync(join(root, folder, 'package.json')))
        packages.set(readManifest(join(root, folder)).name, folder);
    }
  }
  return packages;
}

/** The workspace folders a service's image needs: its own, then the libraries it imports, sorted. */
export function imagePackages(root: string, service: string): string[] {
  const packages = workspacePackages(root);
  const serviceFolder = `services/${service}`;
  if (!existsSync(join(root, serviceFolder, 'package.json')))
    throw new Error(`no service ${service}: ${serviceFolder}/package.json does not exist`);
  const libraries = new Set<string>();
  const visit = (folder: string): void => {
    for (const name of Object.keys(readManifest(join(root, folder)).dependencies ?? {})) {
      const dependency = packages.get(name);
      if (dependency === undefined) continue;
      if (!libraries.has(dependency)) {
        libraries.add(dependency);
        visit(dependency);
      }
    }
  };
  visit(serviceFolder);
  return [serviceFolder, ...[...libraries].sort()];
}

/** Copies each package's manifest and runtime folders from `root` to `out`; returns what it copied. */
export function stageImage(root: string, service: string, out: string): string[] {
  const copied: string[] = [];
  for (const folder of imagePackages(root, service)) {
    mkdirSync(join(out, folder), { recursive: true });
    cpSync(join(root, folder, 'package.json'), join(out, folder, 'package.json'));
    copied.push(`${folder}/package.json`);
    for (const runtime of RUNTIME_FOLDERS) {
      const source = join(root, folder, runtime);
      if (!existsSync(source)) continue;
      // tsc's declarations are for tsc alone.
      cpSync(source, join(out, folder, runtime), {
        recursive: true,
        filter: (path) => !/\.d\.ts(\.map)?$/.test(path),
      });
      copied.push(`${folder}/${runtime}`);
    }
  }
  return copied;
}

if (import.meta.main) {
  const [service, root, out] = process.argv.slice(2);
  if (!service || !root || !out) {
    console.error('usage: node scripts/image-contents.ts <service> <workspace root> <out dir>');
    process.exit(2);
  }
  for (const path of stageImage(root, service, out)) console.log(path);
}
