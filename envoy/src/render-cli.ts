import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServiceName } from './gateway.ts';
import {
  kubernetesTarget,
  localTarget,
  renderEnvoyConfig,
  type RateLimitOverrides,
  type RenderTarget,
} from './render-envoy-config.ts';

export const USAGE = `usage: node envoy/src/render-cli.ts --target local|kubernetes [--out <file>]
  [--listener-port N] [--admin-port N] [--issuer S] [--audience S] [--login-limit N]
  local:      [--auth-port N] [--user-port N] [--case-port N] [--scoring-port N] [--audit-port N]
  kubernetes: --release NAME [--namespace NS]
Writes the Envoy bootstrap as JSON to --out (or stdout).`;

/** A command-line mistake; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const PORT_FLAGS: Readonly<Record<string, ServiceName>> = {
  'auth-port': 'auth-service',
  'user-port': 'user-service',
  'case-port': 'case-service',
  'scoring-port': 'scoring-service',
  'audit-port': 'audit-telemetry-service',
};

export interface RenderCommand {
  readonly target: RenderTarget;
  /** Where to write; stdout when absent. */
  readonly out: string | undefined;
}

/** Turns the CLI arguments into a render target. Throws UsageError for anything it cannot use. */
export function parseRenderArgs(argv: readonly string[]): RenderCommand {
  const stringOption = { type: 'string' } as const;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        target: stringOption,
        out: stringOption,
        'listener-port': stringOption,
        'admin-port': stringOption,
        issuer: stringOption,
        audience: stringOption,
        'login-limit': stringOption,
        release: stringOption,
        namespace: stringOption,
        ...Object.fromEntries(Object.keys(PORT_FLAGS).map((flag) => [flag, stringOption])),
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const integer = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
    return Number(value);
  };

  const loginLimit = integer('login-limit');
  const rateLimits: RateLimitOverrides | undefined =
    loginLimit === undefined
      ? undefined
      : { loginPerClient: { maxTokens: loginLimit, tokensPerFill: loginLimit } };
  const common = {
    listenerPort: integer('listener-port'),
    adminPort: integer('admin-port'),
    issuer: text('issuer'),
    audience: text('audience'),
    rateLimits,
  };

  const targetName = text('target');
  if (targetName === 'local') {
    for (const flag of ['release', 'namespace']) {
      if (text(flag) !== undefined) throw new UsageError(`--${flag} only applies to --target kubernetes`);
    }
    const servicePorts: Partial<Record<ServiceName, number>> = {};
    for (const [flag, service] of Object.entries(PORT_FLAGS)) {
      const port = integer(flag);
      if (port !== undefined) servicePorts[service] = port;
    }
    return { target: localTarget({ ...common, servicePorts }), out: text('out') };
  }
  if (targetName === 'kubernetes') {
    const release = text('release');
    if (!release) throw new UsageError('--target kubernetes needs --release');
    for (const flag of Object.keys(PORT_FLAGS)) {
      if (text(flag) !== undefined) throw new UsageError(`--${flag} only applies to --target local`);
    }
    return {
      target: kubernetesTarget({ ...common, release, namespace: text('namespace') }),
      out: text('out'),
    };
  }
  throw new UsageError(
    targetName === undefined ? '--target is required' : `unknown --target "${targetName}"`,
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let command: RenderCommand;
  let json: string;
  try {
    command = parseRenderArgs(argv);
    json = `${JSON.stringify(renderEnvoyConfig(command.target), null, 2)}\n`;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (!(error instanceof Error)) throw error;
    // A target the renderer refuses (a bad port, a host name with STATIC discovery).
    process.stderr.write(`cannot render the Envoy config: ${error.message}\n`);
    return 1;
  }
  if (command.out === undefined) {
    process.stdout.write(json);
  } else {
    await mkdir(dirname(command.out), { recursive: true });
    await writeFile(command.out, json);
  }
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
