import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Output } from './output.ts';

/** `node libs/operator/src/cli.ts`, as the Makefile, CI and the chart's NOTES run it. */
export const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface CliProcessOptions {
  /** Added to the environment (without the runner's own MRPCTL_PASSWORD). */
  readonly env?: Readonly<Record<string, string>>;
  /** Piped to standard input, which is then closed; undefined closes it at once. */
  readonly stdin?: string;
}

/** A `mrpctl` child process: what it printed so far, and how it ended. */
export interface CliProcess {
  readonly stdout: Output;
  readonly stderr: Output;
  /** The exit code, or null when a signal killed it (see `signal`). */
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `node src/cli.ts <args>` with this Node, as a user runs it. */
export function startCliProcess(args: readonly string[], options: CliProcessOptions = {}): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.MRPCTL_PASSWORD === undefined) delete env.MRPCTL_PASSWORD;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout = new Output();
  const stderr = new Output();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout.write(chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.write(chunk);
  });
  child.stdin.end(options.stdin);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return {
    stdout,
    stderr,
    exit,
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

/** Runs `node src/cli.ts <args>` to its end: its exit code and output. */
export async function runCliProcess(
  args: readonly string[],
  options: CliProcessOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCliProcess(args, options);
  const { code } = await run.exit;
  return { code, stdout: run.stdout.text, stderr: run.stderr.text };
}
