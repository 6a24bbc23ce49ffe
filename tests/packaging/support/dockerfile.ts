/**
 * The project's Dockerfiles, read and built offline (there is no Docker engine here): the facts compose and
 * the charts rely on (a stage's base image, environment and user), and `buildImageTree`, which carries out
 * a target's COPY and RUN instructions into a folder so the image's files can be checked and its program
 * started. Only the instructions our Dockerfiles use are supported; anything else throws rather than guess.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';

export interface ImageSettings {
  /** The external image the stage is built on (ARG defaults substituted). */
  readonly baseImage: string;
  /** ENV set by the stage and the stages it builds on, in order. */
  readonly env: Readonly<Record<string, string>>;
  /** The last USER of the stage and the stages it builds on. */
  readonly user: string | undefined;
}

export interface Stage {
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: readonly { readonly keyword: string; readonly args: string }[];
}

export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  // Continuation lines joined; comments (and parser directives, which are comments) dropped.
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: { name: string | undefined; from: string; instructions: Stage['instructions'][number][] }[] =
    [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const from = rest.filter((word) => !word.startsWith('--'));
      stages.push({ from: from[0] ?? '', name: from[2]?.toLowerCase(), instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** `ENV A=1 B="two"` (or the legacy `ENV A 1`) as pairs. */
function envPairs(args: string): [string, string][] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [name = '', ...value] = args.split(/\s+/);
    return [[name, value.join(' ')]];
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)].map(
    ([, name, value]) => [name!, value!.replace(/^(["'])(.*)\1$/s, '$2')],
  );
}

/** What a Dockerfile's `target` stage (the last one when absent) runs with: base image, ENV and USER. */
export function imageSettings(dockerfile: string, target?: string): ImageSettings {
  const { args, stages } = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const stageNamed = (name: string | undefined) =>
    name === undefined ? stages.at(-1) : stages.find((stage) => stage.name === name.toLowerCase());
  const chain: Stage[] = [];
  for (let stage = stageNamed(target); stage; stage = stageNamed(stage.from)) {
    chain.unshift(stage);
  }
  if (chain.length === 0) throw new Error(`${dockerfile} has no stage ${target ?? '(last)'}`);
  const env: Record<string, string> = {};
  let user: string | undefined;
  for (const stage of chain) {
    for (const { keyword, args: instructionArgs } of stage.instructions) {
      if (keyword === 'ENV') for (const [name, value] of envPairs(instructionArgs)) env[name] = value;
      if (keyword === 'USER') user = instructionArgs;
    }
  }
  const baseImage = chain[0]!.from.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
    (_, name: string) => args[name] ?? '',
  );
  return { baseImage, env, user };
}

/** The names of a Dockerfile's stages. */
export function stageNames(dockerfile: string): string[] {
  return parseDockerfile(readFileSync(dockerfile, 'utf8'))
    .stages.map((stage) => stage.name)
    .filter((name): name is string => name !== undefined);
}

/** A Docker build context with its .dockerignore, which decides what a COPY can see. */
export class BuildContext {
  /** The context's folder. */
  readonly root: string;
  readonly #patterns: readonly { readonly negated: boolean; readonly regex: RegExp }[];

  constructor(root: string) {
    this.root = root;
    const ignore = join(root, '.dockerignore');
    const lines = existsSync(ignore) ? readFileSync(ignore, 'utf8').split(/\r?\n/) : [];
    this.#patterns = lines
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const negated = line.startsWith('!');
        const pattern = posix.normalize(line.slice(negated ? 1 : 0).replace(/^\/+/, '')).replace(/\/+$/, '');
        return { negated, regex: globToRegex(pattern) };
      });
  }

  /**
   * Docker's rule (moby's patternmatcher): the last pattern that matches the path or one of its parent
   * folders decides; `!` patterns bring a path back in.
   */
  includes(path: string): boolean {
    const parts = path.split('/');
    let excluded = false;
    for (const pattern of this.#patterns) {
      const matches = parts.some((_, index) => pattern.regex.test(parts.slice(0, index + 1).join('/')));
      if (matches) excluded = !pattern.negated;
    }
    return !excluded;
  }

  /** The context's files under `source` (a file or a folder) that a COPY would see, relative to it. */
  files(source: string): string[] {
    const start = join(this.root, source);
    if (!existsSync(start)) throw new Error(`COPY ${source}: not in the build context`);
    const found: string[] = [];
    const walk = (path: string): void => {
      const rel = relative(this.root, path).split('\\').join('/');
      if (!this.includes(rel)) return;
      if (statSync(path).isDirectory()) {
        for (const entry of readdirSync(path)) walk(join(path, entry));
      } else {
        found.push(rel);
      }
    };
    walk(start);
    return found;
  }
}

/** A .dockerignore pattern as a regular expression over a whole relative path. */
function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index]!;
    if (char === '*' && pattern[index + 1] === '*') {
      source += '.*';
      index += pattern[index + 2] === '/' ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export interface ImageTree {
  /** The image's root filesystem (the base image's own files are not in it). */
  readonly root: string;
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | undefined;
  readonly cmd: readonly string[];
  readonly exposed: readonly string[];
}

/**
 * Carries out the Dockerfile's default target (its last stage) and the stages it copies from into folders
 * under `into`, like `docker build` would: COPY from the context (through .dockerignore) or from a stage,
 * RUN with `sh -c` in the stage's WORKDIR with its ENV (cache mounts dropped; a command naming an absolute
 * path is refused, since it would touch this machine). The base image's files are not there: Node and
 * npm come from this machine.
 */
export function buildImageTree(dockerfile: string, context: BuildContext, into: string): ImageTree {
  const { stages } = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const built = new Map<string, ImageTree>();
  const build = (index: number): ImageTree => {
    const stage = stages[index]!;
    const key = stage.name ?? String(index);
    const done = built.get(key);
    if (done) return done;
    const root = join(into, key);
    const parentIndex = stages.findIndex((candidate) => candidate.name === stage.from.toLowerCase());
    let state: {
      workdir: string;
      env: Record<string, string>;
      user: string | undefined;
      cmd: string[];
      exposed: string[];
    } = {
      workdir: '/',
      env: {},
      user: undefined,
      cmd: [],
      exposed: [],
    };
    if (parentIndex >= 0) {
      const parent = build(parentIndex);
      // A stage that only names its parent (runtime) is its parent: no copy.
      if (stage.instructions.length === 0) {
        built.set(key, parent);
        return parent;
      }
      copyTree(parent.root, root);
      state = {
        workdir: parent.workdir,
        env: { ...parent.env },
        user: parent.user,
        cmd: [...parent.cmd],
        exposed: [...parent.exposed],
      };
    } else {
      mkdirSync(root, { recursive: true });
    }
    const inRoot = (path: string): string => join(root, posix.resolve(state.workdir, path));
    for (const { keyword, args: text } of stage.instructions) {
      const words = text.split(/\s+/).filter((word) => word !== '');
      switch (keyword) {
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, text);
          mkdirSync(join(root, state.workdir), { recursive: true });
          break;
        case 'ENV':
          for (const [name, value] of envPairs(text)) state.env[name] = value;
          break;
        case 'USER':
          state.user = text;
          break;
        case 'EXPOSE':
          state.exposed.push(...words);
          break;
        case 'CMD':
          state.cmd = JSON.parse(text) as string[];
          break;
        case 'COPY': {
          const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
          const operands = words.filter((word) => !word.startsWith('--'));
          const dest = operands.pop()!;
          for (const source of operands) {
            if (from) {
              const fromIndex = stages.findIndex((candidate) => candidate.name === from);
              if (fromIndex < 0) throw new Error(`COPY --from=${from}: no such stage`);
              copyFromStage(join(build(fromIndex).root, source), inRoot(dest), dest.endsWith('/'));
              continue;
            }
            const isDirectory = statSync(join(context.root, source)).isDirectory();
            const intoFolder = isDirectory || dest.endsWith('/') || operands.length > 1;
            for (const file of context.files(source)) {
              // A folder's contents go into dest; a file goes into dest/ (or becomes dest).
              const name = isDirectory ? posix.relative(source, file) : posix.basename(file);
              const to = intoFolder ? join(inRoot(dest), name) : inRoot(dest);
              mkdirSync(dirname(to), { recursive: true });
              cpSync(join(context.root, file), to);
            }
          }
          break;
        }
        case 'RUN': {
          const command = words.filter((word) => !word.startsWith('--mount=')).join(' ');
          if (/(^|\s)\/[a-z]/.test(command))
            throw new Error(`RUN ${command}: names an absolute path, not run here`);
          const result = spawnSync('sh', ['-c', command], {
            cwd: join(root, state.workdir),
            env: { ...process.env, ...state.env },
            encoding: 'utf8',
          });
          if (result.status !== 0) throw new Error(`RUN ${command} failed: ${result.stderr}`);
          break;
        }
        case 'ARG':
          break;
        default:
          throw new Error(`${keyword} is not supported by this offline build`);
      }
    }
    const tree = { root, ...state };
    built.set(key, tree);
    return tree;
  };
  return build(stages.length - 1);
}

/** Copies a folder with its symlinks as they are; hard links where cp can (node_modules is large). */
function copyTree(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const linked = spawnSync('cp', ['-a', '-l', from, to], { encoding: 'utf8' });
  if (linked.status !== 0) cpSync(from, to, { recursive: true, verbatimSymlinks: true });
}

/**
 * `COPY --from=<stage> <from> <to>` as Docker does it: a folder's contents go into `to` (merged with what
 * is there), a file goes into `to` when that is a folder (or written `to/`), else becomes `to`.
 */
function copyFromStage(from: string, to: string, intoFolder: boolean): void {
  if (!existsSync(from)) throw new Error(`COPY --from: ${from} does not exist in that stage`);
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    const linked = spawnSync('cp', ['-a', '-l', `${from}/.`, to], { encoding: 'utf8' });
    if (linked.status !== 0) cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    return;
  }
  const folder = intoFolder || (existsSync(to) && statSync(to).isDirectory());
  copyTree(from, folder ? join(to, basename(from)) : to);
}
