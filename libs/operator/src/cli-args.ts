import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { EXIT } from './exit-codes.ts';
import {
  DEV_PASSWORD,
  PASSWORD_ENV,
  PASSWORD_HINT,
  passwordSource,
  type PasswordSource,
} from './password.ts';
import { UsageError } from './usage-error.ts';

export { UsageError } from './usage-error.ts';

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
  /** Never the command line: MRPCTL_PASSWORD, standard input, or the dev admin's. */
  readonly password: PasswordSource;
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
  | { readonly command: 'version' }
  | { readonly command: 'wait'; readonly args: WaitArgs }
  | { readonly command: 'port-forward'; readonly args: PortForwardArgs }
  | { readonly command: 'smoke'; readonly args: SmokeArgs }
  | { readonly command: 'logs'; readonly args: LogsArgs };

/** The environment the command line is read with (MRPCTL_PASSWORD). */
export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_RELEASE = 'mrp';
export const DEFAULT_NAMESPACE = 'mrp';

const COMMANDS = ['wait', 'port-forward', 'smoke', 'logs', 'version'] as const;

const GLOBAL_HELP = `global options:
  -n, --namespace NS         namespace (default: the kubeconfig context's namespace, else ${DEFAULT_NAMESPACE})
      --release NAME         Helm release (default ${DEFAULT_RELEASE})
      --context NAME         kubeconfig context (default: the current context)
  -h, --help                 show this help`;

const INTERRUPTED = `${EXIT.interrupted} interrupted by Ctrl-C (143 for SIGTERM)`;

export const USAGE = `usage: mrpctl <command> [options]
       mrpctl --version | --help

Operates the platform on Kubernetes. Reads the kubeconfig as kubectl does (KUBECONFIG, else
~/.kube/config).

commands:
  wait                       wait until the release's Deployments and StatefulSets are ready
  port-forward               forward a local port to the Envoy gateway
  smoke                      run the seed flow through the gateway, one PASS/FAIL line per step
  logs <request-id>          print one request's log lines from every pod, merged in time order
  version                    print mrpctl's version (also --version)

${GLOBAL_HELP}

"mrpctl <command> --help" shows a command's options.

exit codes:
  ${EXIT.ok}    success
  ${EXIT.failed}    failure: not ready in time, a step failed, nothing matched, no ready gateway pod, no kubeconfig
  ${EXIT.usage}    usage error: one line says what is wrong, the next where the usage is; nothing was done
  ${EXIT.interrupted}  interrupted by Ctrl-C (SIGINT; 143 for SIGTERM)`;

export const WAIT_USAGE = `usage: mrpctl wait [--timeout 300s] [--interval 2s] [global options]

Waits until every Deployment and StatefulSet labelled app.kubernetes.io/instance=<release>,
app.kubernetes.io/part-of=mrp-platform has its desired replicas updated, ready and available,
printing a line per workload as its state changes. A failed Job of the release (a migration
hook) fails the wait.

      --timeout DURATION     give up after this long (default 300s; e.g. 90s, 5m, 1h30m)
      --interval DURATION    pause between two looks at the cluster (default 2s)

${GLOBAL_HELP}

Exit codes: 0 all ready, 1 timed out (with what is not ready and why) or a Job failed, 2 usage error,
${INTERRUPTED}.`;

export const PORT_FORWARD_USAGE = `usage: mrpctl port-forward [--local-port 8080] [--address 127.0.0.1] [global options]

Forwards a local port to port 8080 of a Running and Ready Envoy gateway pod of the release
(app.kubernetes.io/name=gateway,app.kubernetes.io/instance=<release>) until Ctrl-C.

      --local-port PORT      local port to listen on (default 8080; 0 picks a free one)
      --address ADDRESS      local address to listen on (default 127.0.0.1)

${GLOBAL_HELP}

Exit codes: 1 no ready gateway pod or the port is taken, 2 usage error, ${EXIT.interrupted} stopped by Ctrl-C
(how forwarding ends; 143 for SIGTERM).`;

export const SMOKE_USAGE = `usage: mrpctl smoke [--url http://127.0.0.1:8080] [--username EMAIL] [--password-stdin] [global options]

Runs the seed flow through the gateway: healthz, login, a call without a token, create user,
create case, its idempotent replay, and the case_created audit event. Prints one PASS/FAIL line
per step with the HTTP status and x-request-id (follow one with "mrpctl logs <request-id>").
Without --url it port-forwards to the release's gateway pod for the duration (the global
options choose that pod).

      --url URL              the gateway (default: port-forward to the release's gateway pod)
      --username EMAIL       who logs in (default admin@example.com, a seeded dev user)
      --password-stdin       read their password from standard input (one line)
      --request-timeout DURATION
                             longest wait for one answer (default 10s)
      --audit-timeout DURATION
                             how long the audit event may take to appear (default 20s)

${GLOBAL_HELP}

The password is never an option: on the command line other users can read it in the process
list, and the shell keeps it in its history. Pipe it to --password-stdin, or set ${PASSWORD_ENV};
with neither, it is ${DEV_PASSWORD} (the seeded dev admin's, development profile).

Exit codes: 0 every step passed, 1 a step failed, 2 usage error, ${INTERRUPTED}.`;

export const LOGS_USAGE = `usage: mrpctl logs <request-id> [--since 1h] [--raw] [global options]

Reads the log of every container of the release's pods (app.kubernetes.io/instance=<release>),
keeps the JSON lines whose request_id is <request-id> (services and Envoy's access log), and
prints them merged in time order, each after its pod/container.

      --since DURATION       only lines logged this recently (default 1h)
      --raw                  print each line as logged (JSON) instead of a summary

${GLOBAL_HELP}

Exit codes: 0 lines found, 1 nothing matched, 2 usage error, ${INTERRUPTED}.`;

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
 * Turns the arguments after `mrpctl` into a command and its options, reading MRPCTL_PASSWORD from `env`.
 * Throws UsageError (naming the command whose usage applies) for an unknown command or option, a missing
 * or extra argument, a bad value, or a password on the command line.
 */
export function parseCommandLine(argv: readonly string[], env: Env = {}): CommandLine {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`no command given (commands: ${COMMANDS.join(', ')})`);
  if (command === '--help' || command === '-h' || command === 'help') {
    const [topic, ...extra] = rest;
    noPositionals(extra);
    if (topic === undefined) return { command: 'help', text: USAGE };
    return { command: 'help', text: usageOf(topic) };
  }
  if (command === '--version' || command === 'version') {
    noPositionals(rest);
    return { command: 'version' };
  }
  switch (command) {
    case 'wait': {
      const parsed = parse(rest, command, { timeout: string, interval: string });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, command);
      const intervalMs = duration(values, 'interval', '2s', command);
      if (intervalMs === 0) throw new UsageError('--interval must be more than 0', command);
      return {
        command,
        args: { ...global, timeoutMs: duration(values, 'timeout', '300s', command), intervalMs },
      };
    }
    case 'port-forward': {
      const parsed = parse(rest, command, { 'local-port': string, address: string });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, command);
      const address = text(values, 'address') ?? '127.0.0.1';
      if (address === '') throw new UsageError('--address must not be empty', command);
      return {
        command,
        args: { ...global, localPort: port(values, 'local-port', 8080, command), address },
      };
    }
    case 'smoke': {
      refusePasswordOption(rest, command);
      const parsed = parse(rest, command, {
        url: string,
        username: string,
        'password-stdin': { type: 'boolean' },
        'request-timeout': string,
        'audit-timeout': string,
      });
      if ('help' in parsed) return parsed.help;
      const { values, global } = parsed;
      noPositionals(parsed.positionals, command);
      const url = text(values, 'url');
      if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
        throw new UsageError(`--url must be an http:// or https:// URL, got "${url}"`, command);
      const requestTimeoutMs = duration(values, 'request-timeout', '10s', command);
      if (requestTimeoutMs === 0) throw new UsageError('--request-timeout must be more than 0', command);
      return {
        command,
        args: {
          ...global,
          url: url?.replace(/\/+$/, ''),
          username: text(values, 'username') ?? 'admin@example.com',
          password: passwordSource(values['password-stdin'] === true, env, command),
          requestTimeoutMs,
          auditTimeoutMs: duration(values, 'audit-timeout', '20s', command),
        },
      };
    }
    case 'logs': {
      const parsed = parse(rest, command, { since: string, raw: { type: 'boolean' } });
      if ('help' in parsed) return parsed.help;
      const { values, global, positionals } = parsed;
      const [requestId, ...extra] = positionals;
      if (requestId === undefined || requestId.trim() === '')
        throw new UsageError('logs needs the request ID to look for', command);
      noPositionals(extra, command);
      const sinceMs = duration(values, 'since', '1h', command);
      if (sinceMs === 0) throw new UsageError('--since must be more than 0', command);
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
      throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  }
}

function usageOf(command: string): string {
  const usages: Readonly<Record<string, string>> = {
    wait: WAIT_USAGE,
    'port-forward': PORT_FORWARD_USAGE,
    smoke: SMOKE_USAGE,
    logs: LOGS_USAGE,
    version: USAGE,
  };
  const usage = usages[command];
  if (usage === undefined)
    throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  return usage;
}

/**
 * `--password` (and `--password=...`) is refused before anything else, with how to pass the password
 * instead: accepted, it would sit in the process list and the shell's history.
 */
function refusePasswordOption(args: readonly string[], command: string): void {
  const end = args.indexOf('--');
  const options = end === -1 ? args : args.slice(0, end);
  if (options.some((arg) => arg === '--password' || arg.startsWith('--password=')))
    throw new UsageError(
      `--password is not accepted: a password on the command line is visible to other users; ${PASSWORD_HINT}`,
      command,
    );
}

type Parsed =
  | { readonly help: CommandLine }
  | { readonly values: Values; readonly positionals: string[]; readonly global: GlobalOptions };

function parse(args: readonly string[], command: string, options: ParseArgsOptionsConfig): Parsed {
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
    throw new UsageError(describeParseError(error as Error), command);
  }
  if (values.help === true) return { help: { command: 'help', text: usageOf(command) } };
  const namespace = text(values, 'namespace');
  const release = text(values, 'release') ?? DEFAULT_RELEASE;
  if (namespace !== undefined && !DNS_LABEL.test(namespace))
    throw new UsageError(`--namespace must be a Kubernetes name, got "${namespace}"`, command);
  if (!DNS_LABEL.test(release))
    throw new UsageError(`--release must be a Kubernetes name, got "${release}"`, command);
  const context = text(values, 'context');
  if (context === '') throw new UsageError('--context must not be empty', command);
  return { values, positionals, global: { namespace, release, context } };
}

/**
 * parseArgs' complaint as one short line: `unknown option "--tiemout"`, `--timeout needs a value`,
 * `--raw takes no value`. Its own text spans lines and explains `--` escapes nobody here needs.
 */
export function describeParseError(error: Error): string {
  const { message } = error;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option "${unknown[1]!}"`;
  // "Option '-n, --namespace <value>' argument missing", "Option '--timeout' argument is ambiguous."
  const missing = /^Option '(?:-\w, )?(-[^' ]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(message);
  if (missing) return `${missing[1]!} needs a value`;
  const extra = /^Option '(?:-\w, )?(-[^' ]+)' does not take an argument/.exec(message);
  if (extra) return `${extra[1]!} takes no value`;
  return message.split('\n')[0]!;
}

function noPositionals(positionals: readonly string[], command?: string): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals.join(' ')}"`, command);
}

function text(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function port(values: Values, name: string, fallback: number, command: string): number {
  const value = text(values, name);
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(number >= 0 && number <= 65535))
    throw new UsageError(`--${name} must be a port number (0-65535), got "${value}"`, command);
  return number;
}

function duration(values: Values, name: string, fallback: string, command: string): number {
  const value = text(values, name) ?? fallback;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new UsageError(`--${name} must be a duration such as 90s, 5m or 1h30m, got "${value}"`, command);
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
