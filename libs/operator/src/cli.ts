#!/usr/bin/env node
import type { KubeConfig } from '@kubernetes/client-node';
import { parseCommandLine, UsageError, type CommandLine, type Env, type GlobalOptions } from './cli-args.ts';
import { EXIT, interruptedExitCode } from './exit-codes.ts';
import type { KubeTarget } from './kube.ts';
import { writeLine, type CommandIo, type Writer } from './output.ts';
import { resolvePassword } from './password.ts';
import { usageErrorLines } from './usage-error.ts';
import { readVersion } from './version.ts';

/** A kubeconfig that cannot be read: exit 1 with the reason, not a stack trace. */
class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export interface CliDeps {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Where MRPCTL_PASSWORD is read: process.env in the real CLI; no variables when absent. */
  readonly env?: Env;
  /** What `smoke --password-stdin` reads: process.stdin in the real CLI; nothing when absent. */
  readonly stdin?: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
  /** Stops a long-running command (port-forward, wait, smoke): SIGINT/SIGTERM in the real CLI. */
  readonly signal?: AbortSignal;
  /** The kubeconfig before `--context` applies; the default places when absent (tests pass a fake API's). */
  readonly loadKubeConfig?: () => KubeConfig;
  /** Pause between two audit queries of `smoke` (tests shorten it). */
  readonly auditIntervalMs?: number;
}

/**
 * Runs `mrpctl <argv>` and resolves to its exit code: 0 success, 1 failure, 2 usage error (one line naming
 * it and one pointing to the usage, on stderr), 130 stopped by the signal (128 + the signal's number when
 * its reason names one, as SIGTERM's 143). Writes only through `deps`, so tests read what a user would see.
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const io: CommandIo = {
    stdout: deps.stdout,
    stderr: deps.stderr,
    signal: deps.signal ?? new AbortController().signal,
  };
  let command: string | undefined;
  try {
    const line = parseCommandLine(argv, deps.env ?? {});
    command = line.command;
    const code = await runCommand(line, deps, io);
    // However the command ended once stopped (wait's 130, port-forward's clean close, smoke's FAIL lines).
    return io.signal.aborted ? interruptedExitCode(io.signal.reason) : code;
  } catch (error) {
    if (error instanceof UsageError) {
      for (const line of usageErrorLines(error, error.command ?? command)) writeLine(io.stderr, line);
      return EXIT.usage;
    }
    if (error instanceof KubeConfigError) {
      writeLine(io.stderr, `✖ ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  }
}

async function runCommand(line: CommandLine, deps: CliDeps, io: CommandIo): Promise<number> {
  if (line.command === 'help') {
    writeLine(io.stdout, line.text);
    return EXIT.ok;
  }
  if (line.command === 'version') {
    writeLine(io.stdout, readVersion());
    return EXIT.ok;
  }
  // The Kubernetes client takes a second or more to load: --help, --version and usage errors do not wait
  // for it, only the commands that may talk to a cluster.
  const { loadDefaultKubeConfig, resolveTarget } = await import('./kube.ts');
  const target = (options: GlobalOptions): KubeTarget => {
    let kc: KubeConfig;
    try {
      kc = (deps.loadKubeConfig ?? loadDefaultKubeConfig)();
    } catch (error) {
      throw new KubeConfigError(`cannot read the kubeconfig: ${(error as Error).message}`);
    }
    return resolveTarget(kc, options);
  };
  switch (line.command) {
    case 'wait': {
      const { waitForRelease } = await import('./commands/wait.command.ts');
      return await waitForRelease({ ...line.args, ...target(line.args) }, io);
    }
    case 'port-forward': {
      const { portForwardGateway } = await import('./commands/port-forward.command.ts');
      return await portForwardGateway({ ...line.args, ...target(line.args) }, io);
    }
    case 'logs': {
      const { requestLogs } = await import('./commands/logs.command.ts');
      return await requestLogs({ ...line.args, ...target(line.args) }, io);
    }
    case 'smoke': {
      const password = await resolvePassword(line.args.password, deps.stdin ?? [], line.command);
      const { smokeTest } = await import('./commands/smoke.command.ts');
      return await smokeTest(
        {
          ...line.args,
          password,
          target: () => target(line.args),
          ...(deps.auditIntervalMs === undefined ? {} : { auditIntervalMs: deps.auditIntervalMs }),
        },
        io,
      );
    }
  }
}

/**
 * How long a stopped command has to clean up (close a port-forward, finish its FAIL lines) before mrpctl
 * exits without it: a call to an API that does not answer must not keep Ctrl-C waiting. A second Ctrl-C
 * exits at once.
 */
export const STOP_GRACE_MS = 2000;

if (import.meta.main) {
  const stop = new AbortController();
  let finished = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = interruptedExitCode(signal);
    if (stop.signal.aborted) process.exit(code);
    stop.abort(signal);
    setTimeout(() => {
      if (!finished)
        process.stderr.write(`mrpctl: interrupted (the command did not stop within ${STOP_GRACE_MS} ms)\n`);
      process.exit(finished ? process.exitCode : code);
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      // Touched only by --password-stdin: a command that does not read stdin leaves it alone.
      stdin: { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() },
      signal: stop.signal,
    });
  } catch (error) {
    process.stderr.write(
      `mrpctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT.failed;
  } finally {
    finished = true;
  }
}
