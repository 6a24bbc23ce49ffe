import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Where the rotation keeps auth-service's keys and its own notes: a key directory on this machine
 * (`make dev`'s, `AUTH_KEYS_DIR`), or the Kubernetes Secret the chart mounts as that directory. The rotation
 * only reads files and applies changes; each store keeps the invariant that there is always a `current.pem`
 * and that a key stops signing only after it is published as `previous.pem`.
 */
export type KeyFileChange =
  | { readonly write: string; readonly content: string }
  | { readonly remove: string }
  | { readonly rename: string; readonly to: string };

export interface KeyFiles {
  /** What the store is, for messages: `key directory <path>` or `Secret <namespace>/<name>`. */
  readonly description: string;
  read(name: string): Promise<string | undefined>;
  /** Applies the changes in order: one at a time, each atomic (a directory), or all in one update (a Secret). */
  apply(changes: readonly KeyFileChange[]): Promise<void>;
}

/** The files `changes` leave, from `files`: what a Secret holds after one update. Pure. */
export function applyChanges(
  files: ReadonlyMap<string, string>,
  changes: readonly KeyFileChange[],
): Map<string, string> {
  const result = new Map(files);
  for (const change of changes) {
    if ('write' in change) result.set(change.write, change.content);
    else if ('remove' in change) result.delete(change.remove);
    else {
      const content = result.get(change.rename);
      if (content === undefined) throw new Error(`cannot rename ${change.rename}: there is no such file`);
      result.set(change.to, content);
      result.delete(change.rename);
    }
  }
  return result;
}

/** The rotation's own notes are not keys: a Secret keeps them as annotations, out of the mounted directory. */
export const NOTE_ANNOTATION_PREFIX = 'mrp-platform/rotation-';
const isKey = (name: string) => name.endsWith('.pem');

/**
 * The JSON merge patch that takes a Secret from `before` to `after` (null removes): keys as base64 `data`,
 * the rotation's notes as annotations. Pure.
 */
export function secretPatch(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): { data: Record<string, string | null>; metadata: { annotations: Record<string, string | null> } } {
  const data: Record<string, string | null> = {};
  const annotations: Record<string, string | null> = {};
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const value = after.get(name);
    if (value === before.get(name)) continue;
    if (isKey(name)) data[name] = value === undefined ? null : Buffer.from(value, 'utf8').toString('base64');
    else annotations[`${NOTE_ANNOTATION_PREFIX}${name}`] = value ?? null;
  }
  return { data, metadata: { annotations } };
}

/** The files a Secret (as `kubectl get -o json` prints it) holds: its `.pem` data and the rotation's notes. Pure. */
export function filesOfSecret(secret: {
  data?: Record<string, string> | null;
  metadata?: { annotations?: Record<string, string> | null };
}): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, value] of Object.entries(secret.data ?? {}))
    if (isKey(name)) files.set(name, Buffer.from(value, 'base64').toString('utf8'));
  for (const [key, value] of Object.entries(secret.metadata?.annotations ?? {}))
    if (key.startsWith(NOTE_ANNOTATION_PREFIX)) files.set(key.slice(NOTE_ANNOTATION_PREFIX.length), value);
  return files;
}

/** auth-service's key directory on this machine; every change is atomic on its own (write then rename). */
export function directoryKeyFiles(dir: string): KeyFiles {
  const at = (name: string) => join(dir, name);
  return {
    description: `key directory ${dir}`,
    read(name) {
      return Promise.resolve(existsSync(at(name)) ? readFileSync(at(name), 'utf8') : undefined);
    },
    apply(changes) {
      for (const change of changes) {
        if ('write' in change) {
          const temporary = at(`.${change.write}.${process.pid}.tmp`);
          writeFileSync(temporary, change.content, { mode: 0o600 });
          renameSync(temporary, at(change.write));
        } else if ('remove' in change) rmSync(at(change.remove), { force: true });
        else renameSync(at(change.rename), at(change.to));
      }
      return Promise.resolve();
    },
  };
}

const execute = promisify(execFile);

/** Runs kubectl; a failure says which command failed and what kubectl said (not a stack trace). */
async function run(kubectl: string, args: readonly string[]): Promise<{ stdout: string }> {
  try {
    return await execute(kubectl, args, { maxBuffer: 1 << 20 });
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: string };
    const said =
      stderr?.trim() || (code === 'ENOENT' ? `${kubectl} is not installed or not on PATH` : String(error));
    throw new Error(`${kubectl} ${args.slice(0, 5).join(' ')} failed: ${said}`, { cause: error });
  }
}

/**
 * The chart's signing-key Secret (`<namespace>/<name>`), read and patched with `kubectl` (its current
 * context). The chart mounts it whole as auth-service's `AUTH_KEYS_DIR`: the kubelet updates the mounted
 * files within about a minute of a patch, and auth-service re-reads them, so no step needs a rollout. Every
 * step is one merge patch, so the Secret is never seen half-changed.
 */
export function secretKeyFiles(reference: string, kubectl = process.env.KUBECTL ?? 'kubectl'): KeyFiles {
  const [namespace, name, ...rest] = reference.split('/');
  if (!namespace || !name || rest.length > 0)
    throw new Error(`--secret takes <namespace>/<name>, not ${JSON.stringify(reference)}`);
  const target = ['--namespace', namespace, 'secret', name];
  const current = async () => {
    const { stdout } = await run(kubectl, ['get', ...target, '--output', 'json']);
    return filesOfSecret(JSON.parse(stdout) as Parameters<typeof filesOfSecret>[0]);
  };
  return {
    description: `Secret ${namespace}/${name}`,
    async read(file) {
      return (await current()).get(file);
    },
    async apply(changes) {
      const before = await current();
      const patch = secretPatch(before, applyChanges(before, changes));
      await run(kubectl, ['patch', ...target, '--type', 'merge', '--patch', JSON.stringify(patch)]);
    },
  };
}
