#!/usr/bin/env node
import type { KubeConfig } from '@kubernetes/client-node';
import { parseCommandLine, UsageError, type GlobalOptions } from './cli-args.ts';
import { requestLogs } from './commands/logs.command.ts';
import { portForwardGateway } from './commands/port-forward.command.ts';
import { smokeTest } from './commands/smoke.command.ts';
import { waitForRelease } from './commands/wait.command.ts';
import { loadDefaultKubeConfig, resolveTarget, type KubeTarget } from './kube.ts';
import { writeLine, type Writer } from './output.ts';

/** A kubeconfig that cannot be read: exit 1 with the reason, not a stack trace. */
class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export interface CliDeps {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Stops a long-running command (port-forward, wait, smoke): SIGINT/SIGTERM in the real CLI. */
  readonly signal?: AbortSignal;
  /** The kubeconfig before `--context` applies; the default places when absent (tests pass a fake API's). */
  readonly loadKubeConfig?: () => KubeConfig;
  /** Pause between two audit queries of `smoke` (tests shorten it). */
  readonly auditIntervalMs?: number;
}

/**
 * Runs `mrpctl <argv>` and resolves to its exit code: 0 success, 1 failure, 2 usage error (the message and
 * the usage on stderr). Writes only through `deps`, so tests read what a user would see.
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const io = {
    stdout: deps.stdout,
    stderr: deps.stderr,
    signal: deps.signal ?? new AbortController().signal,
  };
  const target = (options: GlobalOptions): KubeTarget => {
    let kc: KubeConfig;
    try {
      kc = (deps.loadKubeConfig ?? loadDefaultKubeConfig)();
    } catch (error) {
      throw new KubeConfigError(`cannot read the kubeconfig: ${(error as Error).message}`);
    }
    return resolveTarget(kc, options);
  };
  try {
    const line = parseCommandLine(argv);
    switch (line.command) {
      case 'help':
        writeLine(io.stdout, line.text);
        return 0;
      case 'wait':
        return await waitForRelease({ ...line.args, ...target(line.args) }, io);
      case 'port-forward':
        return await portForwardGateway({ ...line.args, ...target(line.args) }, io);
      case 'logs':
        return await requestLogs({ ...line.args, ...target(line.args) }, io);
      case 'smoke':
        return await smokeTest(
          {
            ...line.args,
            target: () => target(line.args),
            ...(deps.auditIntervalMs === undefined ? {} : { auditIntervalMs: deps.auditIntervalMs }),
          },
          io,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      writeLine(
        io.stderr,
        `mrpctl: ${error.message}\n\n${error.usage ?? 'Run "mrpctl --help" for the commands and options.'}`,
      );
      return 2;
    }
    if (error instanceof KubeConfigError) {
      writeLine(io.stderr, `✖ ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  const stop = new AbortController();
  const onSignal = (): void => {
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.exitCode = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      signal: stop.signal,
    });
  } catch (error) {
    process.stderr.write(
      `mrpctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
