import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A command-line mistake: the CLI prints the message and the usage it carries (if any), and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

/** The options every command takes. */
export interface GlobalOptions {
  /** Undefined: the kubeconfig context's namespace, else `mrp`. */
  readonly namespace: string | undefined;
  readonly release: string;
  /** Undefined: the kubeconfig's current context. */
  readonly context: string | undefined;
}

export interface WaitArgs extends GlobalOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
}

export interface PortForwardArgs extends GlobalOptions {
  /** 0 picks a free port. */
  readonly localPort: number;
  readonly address: string;
}

export interface SmokeArgs extends GlobalOptions {
  /** The gateway to test; undefined: port-forward to the release's gateway pod for the duration. */
  readonly url: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly requestTimeoutMs: number;
  readonly auditTimeoutMs: number;
}

export interface LogsArgs extends GlobalOptions {
  readonly requestId: string;
  readonly sinceSeconds: number;
  /** Print each matching line as it was logged (after its pod/container) instead of a summary. */
  readonly raw: boolean;
}

export type CommandLine =
  | { readonly command: 'help'; readonly text: string }
  | { readonly command: 'wait'; readonly args: WaitArgs }
  | { readonly command: 'port-forward'; readonly args: PortForwardArgs }
  | { readonly command: 'smoke'; readonly args: SmokeArgs }
  | { readonly command: 'logs'; readonly args: LogsArgs };

export const DEFAULT_RELEASE = 'mrp';
export const DEFAULT_NAMESPACE = 'mrp';

const GLOBAL_HELP = `global options:
  -n, --namespace NS         namespace (default: the kubeconfig context's namespace, else ${DEFAULT_NAMESPACE})
      --release NAME         Helm release (default ${DEFAULT_RELEASE})
      --context NAME         kubeconfig context (default: the current context)
  -h, --help                 show this help`;

export const USAGE = `usage: mrpctl <command> [options]

Operates the platform on Kubernetes. Reads the kubeconfig as kubectl does (KUBECONFIG, else
~/.kube/config).

commands:
  wait                       wait until the release's Deployments and StatefulSets are ready
  port-forward               forward a local port to the Envoy gateway
  smoke                      run the seed flow through the gateway, one PASS/FAIL line per step
  logs <request-id>          print one request's log lines from every pod, merged in time order

${GLOBAL_HELP}

"mrpctl <command> --help" shows a command's options.
Exit codes: 0 success, 1 failure (not ready, a step failed, nothing matched), 2 usage error.`;

export const WAIT_USAGE = `usage: mrpctl wait [--timeout 300s] [--interval 2s] [global options]

Waits until every Deployment and StatefulSet labelled app.kubernetes.io/instance=<release>,
app.kubernetes.io/part-of=mrp-platform has its desired replicas updated, ready and available,
printing a line per workload as its state changes. A failed Job of the release (a migration
hook) fails the wait.

      --timeout DURATION     give up after this long (default 300s; e.g. 90s, 5m, 1h30m)
      --interval DURATION    pause between two looks at the cluster (default 2s)

${GLOBAL_HELP}

Exit codes: 0 all ready, 1 timed out (with what is not ready and why) or a Job failed, 2 usage error.`;

export const PORT_FORWARD_USAGE = `usage: mrpctl port-forward [--local-port 8080] [--address 127.0.0.1] [global options]

Forwards a local port to port 8080 of a Running and Ready Envoy gateway pod of the release
(app.kubernetes.io/name=gateway,app.kubernetes.io/instance=<release>) until Ctrl-C.

      --local-port PORT      local port to listen on (default 8080; 0 picks a free one)
      --address ADDRESS      local address to listen on (default 127.0.0.1)

${GLOBAL_HELP}

Exit codes: 0 stopped by Ctrl-C, 1 no ready gateway pod or the port is taken, 2 usage error.`;

export const SMOKE_USAGE = `usage: mrpctl smoke [--url http://127.0.0.1:8080] [global options]

Runs the seed flow through the gateway: healthz, login, a call without a token, create user,
create case, its idempotent replay, and the case_created audit event. Prints one PASS/FAIL line
per step with the HTTP status and x-request-id (follow one with "mrpctl logs <request-id>").
Without --url it port-forwards to the release's gateway pod for the duration (the global
options choose that pod).

      --url URL              the gateway (default: port-forward to the release's gateway pod)
      --username EMAIL       who logs in (default admin@example.com, a seeded dev user)
      --password PASSWORD    their password (default admin123)
      --request-timeout DURATION
                             longest wait for one answer (default 10s)
      --audit-timeout DURATION
                             how long the audit event may take to appear (default 20s)

${GLOBAL_HELP}

Exit codes: 0 every step passed, 1 a step failed, 2 usage error.`;

export const LOGS_USAGE = `usage: mrpctl logs <request-id> [--since 1h] [--raw] [global options]

Reads the log of every container of the release's pods (app.kubernetes.io/instance=<release>),
keeps the JSON lines whose request_id is <request-id> (services and Envoy's access log), and
prints them merged in time order, each after its pod/container.

      --since DURATION       only lines logged this recently (default 1h)
      --raw                  print each line as logged (JSON) instead of a summary

${GLOBAL_HELP}

Exit codes: 0 lines found, 1 nothing matched, 2 usage error.`;

const GLOBAL_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  release: { type: 'string' },
  context: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

const string = { type: 'string' } as const;

// Kubernetes object names: RFC 1123 labels, which is what namespaces and Helm releases must be.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/**
 * Turns the arguments after `mrpctl` into a command and its options. Throws UsageError (with the
 * usage to print) for an unknown command or option, a missing or extra argument, or a bad value.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('a command is required', USAGE);
  if (command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { command: 'help', text: USAGE };
    return { command: 'help', text: usageOf(topic) };
  }
  switch (command) {
    case 'wait': {
      const parsed = parse(rest, WAIT_USAGE, { timeout: string, interval: string });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, WAIT_USAGE);
      const intervalMs = duration(values, 'interval', '2s', WAIT_USAGE);
      if (intervalMs === 0) throw new UsageError('--interval must be more than 0', WAIT_USAGE);
      return {
        command,
        args: { ...global, timeoutMs: duration(values, 'timeout', '300s', WAIT_USAGE), intervalMs },
      };
    }
    case 'port-forward': {
      const parsed = parse(rest, PORT_FORWARD_USAGE, { 'local-port': string, address: string });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, PORT_FORWARD_USAGE);
      const address = text(values, 'address') ?? '127.0.0.1';
      if (address === '') throw new UsageError('--address must not be empty', PORT_FORWARD_USAGE);
      return {
        command,
        args: { ...global, localPort: port(values, 'local-port', 8080, PORT_FORWARD_USAGE), address },
      };
    }
    case 'smoke': {
      const parsed = parse(rest, SMOKE_USAGE, {
        url: string,
        username: string,
        password: string,
        'request-timeout': string,
        'audit-timeout': string,
      });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, SMOKE_USAGE);
      const url = text(values, 'url');
      if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
        throw new UsageError(`--url must be an http:// or https:// URL, got "${url}"`, SMOKE_USAGE);
      const requestTimeoutMs = duration(values, 'request-timeout', '10s', SMOKE_USAGE);
      if (requestTimeoutMs === 0) throw new UsageError('--request-timeout must be more than 0', SMOKE_USAGE);
      return {
        command,
        args: {
          ...global,
          url: url?.replace(/\/+$/, ''),
          username: text(values, 'username') ?? 'admin@example.com',
          password: text(values, 'password') ?? 'admin123',
          requestTimeoutMs,
          auditTimeoutMs: duration(values, 'audit-timeout', '20s', SMOKE_USAGE),
        },
      };
    }
    case 'logs': {
      const parsed = parse(rest, LOGS_USAGE, { since: string, raw: { type: 'boolean' } });
      if ('help' in parsed) return parsed.help;
      const { values, global, positionals } = parsed;
      const [requestId, ...extra] = positionals;
      if (requestId === undefined || requestId.trim() === '')
        throw new UsageError('logs needs the request ID to look for', LOGS_USAGE);
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra.join(' ')}"`, LOGS_USAGE);
      const sinceMs = duration(values, 'since', '1h', LOGS_USAGE);
      if (sinceMs === 0) throw new UsageError('--since must be more than 0', LOGS_USAGE);
      return {
        command,
        args: {
          ...global,
          requestId: requestId.trim(),
          sinceSeconds: Math.ceil(sinceMs / 1000),
          raw: values.raw === true,
        },
      };
    }
    default:
      throw new UsageError(`unknown command "${command}"`, USAGE);
  }
}

function usageOf(command: string): string {
  const usages: Readonly<Record<string, string>> = {
    wait: WAIT_USAGE,
    'port-forward': PORT_FORWARD_USAGE,
    smoke: SMOKE_USAGE,
    logs: LOGS_USAGE,
  };
  const usage = usages[command];
  if (usage === undefined) throw new UsageError(`unknown command "${command}"`, USAGE);
  return usage;
}

type Parsed =
  | { readonly help: CommandLine }
  | { readonly values: Values; readonly positionals: string[]; readonly global: GlobalOptions };

function parse(args: readonly string[], usage: string, options: ParseArgsOptionsConfig): Parsed {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...options },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    // parseArgs' messages name the option and say what is wrong with it.
    throw new UsageError((error as Error).message, usage);
  }
  if (values.help === true) return { help: { command: 'help', text: usage } };
  const namespace = text(values, 'namespace');
  const release = text(values, 'release') ?? DEFAULT_RELEASE;
  if (namespace !== undefined && !DNS_LABEL.test(namespace))
    throw new UsageError(`--namespace must be a Kubernetes name, got "${namespace}"`, usage);
  if (!DNS_LABEL.test(release))
    throw new UsageError(`--release must be a Kubernetes name, got "${release}"`, usage);
  const context = text(values, 'context');
  if (context === '') throw new UsageError('--context must not be empty', usage);
  return { values, positionals, global: { namespace, release, context } };
}

function noPositionals(positionals: readonly string[], usage: string): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals.join(' ')}"`, usage);
}

function text(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function port(values: Values, name: string, fallback: number, usage: string): number {
  const value = text(values, name);
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(number >= 0 && number <= 65535))
    throw new UsageError(`--${name} must be a port number (0-65535), got "${value}"`, usage);
  return number;
}

function duration(values: Values, name: string, fallback: string, usage: string): number {
  const value = text(values, name) ?? fallback;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new UsageError(`--${name} must be a duration such as 90s, 5m or 1h30m, got "${value}"`, usage);
  return ms;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds of a Go-style duration (`300s`, `5m`, `1h30m`, `250ms`; a bare number is seconds), or
 * undefined when the text is not one.
 */
export function parseDuration(value: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g))
    total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}
