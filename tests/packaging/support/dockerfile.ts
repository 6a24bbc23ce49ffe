/**
 * The project's Dockerfile, read (not built: tests/images builds and runs the images with a real engine):
 * the facts Compose, Skaffold, Tilt and the charts rely on, such as a stage's name, base image, environment
 * and user, checked offline by the packaging tests.
 */
import { readFileSync } from 'node:fs';

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
