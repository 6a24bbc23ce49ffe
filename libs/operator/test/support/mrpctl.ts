import { runCli } from '../../src/cli.ts';
import type { FakeKubeApi } from './fake-kube-api.ts';
import { captureIo, type Output } from './output.ts';

export interface MrpctlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface MrpctlOptions {
  /** The API the kubeconfig points at; without one, loading a kubeconfig fails the test. */
  readonly api?: Pick<FakeKubeApi, 'kubeConfig'>;
  /** Pause between the smoke's audit queries. */
  readonly auditIntervalMs?: number;
  /** The environment (MRPCTL_PASSWORD); none of the test runner's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** What is piped to standard input (nothing by default). */
  readonly stdin?: string;
}

/** A running `mrpctl` (in this process), for commands that run until stopped. */
export interface RunningMrpctl {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly exit: Promise<number>;
  /** Ctrl-C. */
  stop(): void;
}

/** Starts `mrpctl <argv>` with its kubeconfig pointing at the fake API, as a user would run it. */
export function startMrpctl(argv: readonly string[], options: MrpctlOptions = {}): RunningMrpctl {
  const io = captureIo();
  const stop = new AbortController();
  const { api } = options;
  const exit = runCli(argv, {
    ...io,
    env: options.env ?? {},
    stdin: options.stdin === undefined ? [] : [options.stdin],
    signal: stop.signal,
    loadKubeConfig: () => {
      if (!api) throw new Error('this test runs no fake Kubernetes API');
      return api.kubeConfig();
    },
    ...(options.auditIntervalMs === undefined ? {} : { auditIntervalMs: options.auditIntervalMs }),
  });
  return {
    ...io,
    exit,
    stop: () => {
      stop.abort();
    },
  };
}

/** Runs `mrpctl <argv>` to its end and returns its exit code and output. */
export async function mrpctl(argv: readonly string[], options: MrpctlOptions = {}): Promise<MrpctlRun> {
  const run = startMrpctl(argv, options);
  const code = await run.exit;
  return { code, stdout: run.stdout.text, stderr: run.stderr.text };
}
