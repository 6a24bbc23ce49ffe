import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServiceName } from './gateway.ts';
import { SERVICE_NAMES } from './service-registry.ts';
import { renderHelmBootstrapTemplate } from './helm-template.ts';
import {
  composeTarget,
  kubernetesTarget,
  localTarget,
  renderEnvoyConfig,
  type RateLimitOverrides,
  type RenderTarget,
  type Upstream,
} from './render-envoy-config.ts';

export const USAGE = `usage: node envoy/src/render-cli.ts --target local|kubernetes|compose|helm [--out <file>]
  [--listener-port N] [--admin-port N] [--issuer S] [--audience S] [--login-limit N]
  [--otlp-collector HOST:PORT]
  local:      [--<service>-port N] for each service of services/registry.json, e.g. --case-service-port 4003
  kubernetes: --release NAME [--namespace NS]
  compose:    services by their Compose names
  helm:       [--traced]  the Helm chart's template (its release values are Go template actions)
Writes the Envoy bootstrap as JSON to --out (or stdout).`;

/** A command-line mistake; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--<service>-port N` for each registered service, e.g. `--case-service-port 4003`. */
const PORT_FLAGS: Readonly<Record<string, ServiceName>> = Object.fromEntries(
  SERVICE_NAMES.map((service) => [`${service}-port`, service]),
);

export interface RenderCommand {
  /** What is rendered: a target's bootstrap, or the Helm chart's template of it. */
  readonly target: RenderTarget | { readonly helm: { readonly traced: boolean } };
  /** Where to write; stdout when absent. */
  readonly out: string | undefined;
}

const LOCAL_ONLY = Object.keys(PORT_FLAGS);
const KUBERNETES_ONLY = ['release', 'namespace'];

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
        'otlp-collector': stringOption,
        traced: { type: 'boolean' },
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
  const collector = text('otlp-collector');
  const common = {
    listenerPort: integer('listener-port'),
    adminPort: integer('admin-port'),
    issuer: text('issuer'),
    audience: text('audience'),
    rateLimits,
    otlpCollector: collector === undefined ? undefined : parseUpstream(collector),
  };
  const refuse = (flags: readonly string[], only: string): void => {
    for (const flag of flags) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} only applies to --target ${only}`);
    }
  };

  const targetName = text('target');
  if (targetName !== 'helm') refuse(['traced'], 'helm');
  if (targetName === 'local') {
    refuse(KUBERNETES_ONLY, 'kubernetes');
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
    refuse(LOCAL_ONLY, 'local');
    return {
      target: kubernetesTarget({ ...common, release, namespace: text('namespace') }),
      out: text('out'),
    };
  }
  if (targetName === 'compose') {
    refuse([...LOCAL_ONLY, ...KUBERNETES_ONLY], 'local or kubernetes');
    return { target: composeTarget(common), out: text('out') };
  }
  if (targetName === 'helm') {
    // The chart decides these from its values.
    refuse(
      [
        ...LOCAL_ONLY,
        ...KUBERNETES_ONLY,
        'listener-port',
        'admin-port',
        'issuer',
        'audience',
        'login-limit',
        'otlp-collector',
      ],
      'local, kubernetes or compose',
    );
    return { target: { helm: { traced: values.traced === true } }, out: text('out') };
  }
  throw new UsageError(
    targetName === undefined ? '--target is required' : `unknown --target "${targetName}"`,
  );
}

/** `host:port` of an upstream. */
function parseUpstream(value: string): Upstream {
  const match = /^([^:\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (!match) throw new UsageError(`--otlp-collector must be HOST:PORT, got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** The text written for a command: the bootstrap as JSON, or the chart's template. */
export function renderCommand(command: RenderCommand): string {
  if ('helm' in command.target) return renderHelmBootstrapTemplate(command.target.helm);
  return `${JSON.stringify(renderEnvoyConfig(command.target), null, 2)}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  let command: RenderCommand;
  let json: string;
  try {
    command = parseRenderArgs(argv);
    json = renderCommand(command);
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
