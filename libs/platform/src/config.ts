/**
 * Typed configuration read once at boot from the environment. Every key has an env var, a default (or is
 * required) and a one-line doc; `loadConfig` lists every problem at once instead of failing on the first.
 */

type Parser<T> = (raw: string) => T;

/** One configuration key: where it comes from, how it is parsed and what it means. */
export interface ConfigKey<T> {
  readonly env: string;
  readonly doc: string;
  readonly parse: Parser<T>;
  /** Used when the variable is unset; `undefined` makes the key required. */
  readonly default: T | undefined;
  /** A secret: never printed, and refused in production at its development default. */
  readonly secret: boolean;
  /** An optional key may stay unset (its value is then `undefined`). */
  readonly optional: boolean;
}

export type ConfigSpec = Record<string, ConfigKey<unknown>>;
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: S[K] extends ConfigKey<infer T> ? T : never;
};

/** Raised by `loadConfig` with every problem found, one per line. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function key<T>(
  env: string,
  parse: Parser<T>,
  fallback: T | undefined,
  doc: string,
  flags: { secret?: boolean; optional?: boolean } = {},
): ConfigKey<T> {
  return {
    env,
    doc,
    parse,
    default: fallback,
    secret: flags.secret ?? false,
    optional: flags.optional ?? false,
  };
}

/** Builders for config keys; each parser throws an Error whose message explains what was expected. */
export const env = {
  string: (name: string, fallback: string | undefined, doc: string) => key(name, (raw) => raw, fallback, doc),
  secret: (name: string, fallback: string | undefined, doc: string) =>
    key(name, (raw) => raw, fallback, doc, { secret: true }),
  /** An optional string: unset or empty means `undefined`. */
  optional: (name: string, doc: string) =>
    key<string | undefined>(name, (raw) => raw, undefined, doc, { optional: true }),
  /** An optional secret: never printed, and unset or empty means `undefined`. */
  optionalSecret: (name: string, doc: string) =>
    key<string | undefined>(name, (raw) => raw, undefined, doc, { optional: true, secret: true }),
  int: (
    name: string,
    fallback: number | undefined,
    doc: string,
    range: { min?: number; max?: number } = {},
  ) =>
    key(
      name,
      (raw) => {
        if (!/^-?\d+$/.test(raw.trim())) throw new Error(`expected an integer, got "${raw}"`);
        const value = Number(raw);
        if (range.min !== undefined && value < range.min)
          throw new Error(`must be >= ${range.min}, got ${value}`);
        if (range.max !== undefined && value > range.max)
          throw new Error(`must be <= ${range.max}, got ${value}`);
        return value;
      },
      fallback,
      doc,
    ),
  bool: (name: string, fallback: boolean | undefined, doc: string) =>
    key(
      name,
      (raw) => {
        const value = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(value)) return true;
        if (['false', '0', 'no', 'off'].includes(value)) return false;
        throw new Error(`expected true or false, got "${raw}"`);
      },
      fallback,
      doc,
    ),
  oneOf: <const T extends string>(name: string, values: readonly T[], fallback: T | undefined, doc: string) =>
    key<T>(
      name,
      (raw) => {
        if (!(values as readonly string[]).includes(raw))
          throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
        return raw as T;
      },
      fallback,
      doc,
    ),
  url: (name: string, fallback: string | undefined, doc: string) =>
    key(
      name,
      (raw) => {
        if (!URL.canParse(raw)) throw new Error(`expected a URL, got "${raw}"`);
        return raw;
      },
      fallback,
      doc,
    ),
  /** A comma-separated list; empty entries are dropped. */
  list: (name: string, fallback: string[] | undefined, doc: string) =>
    key(
      name,
      (raw) =>
        raw
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      fallback,
      doc,
    ),
};

/**
 * The secrets this repository publishes for local use (Compose's defaults, Tilt's fixed Secrets, the dev
 * service client): as public as the dev users' passwords. With APP_ENV=production a service refuses to start
 * with any of them, or with a secret key left at its development default, or with one of them as the
 * password of a URL it is given. They are named by a convention (`mrp-dev-...`, `...-dev-only`), so that a
 * service added later (make new-service) is covered too; the one that predates it is listed.
 * tests/integration/dev-secrets.test.ts checks every secret Compose and the Tiltfile publish.
 */
export const DEVELOPMENT_SECRETS: readonly string[] = ['dev-case-service-secret'];

const DEVELOPMENT_SECRET_CONVENTION = /^mrp-dev-|-dev-only$/;

/** Whether a value is one of the repository's published development secrets. */
export function isDevelopmentSecret(value: string): boolean {
  return DEVELOPMENT_SECRETS.includes(value) || DEVELOPMENT_SECRET_CONVENTION.test(value);
}

/** The password of a URL, if it has one. */
function urlPassword(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.includes('@')) return undefined;
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a production config must not start: a development secret where a real one belongs. */
function developmentSecretProblems(spec: ConfigSpec, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(spec)) {
    const value = config[name];
    if (entry.secret && typeof value === 'string') {
      if (isDevelopmentSecret(value) || (entry.default !== undefined && value === entry.default))
        problems.push(
          `${entry.env} is a development secret, which APP_ENV=production refuses: set a secret of your own`,
        );
    }
    const password = urlPassword(value);
    if (password !== undefined && isDevelopmentSecret(password))
      problems.push(
        `${entry.env} carries a development password, which APP_ENV=production refuses: set a password of your own`,
      );
  }
  return problems;
}

/**
 * Reads every key of `spec` from `source` (the process environment by default) and returns the typed
 * config, or throws a ConfigError listing every missing or malformed value. A config whose `appEnv` is
 * production is also refused when it carries a development secret (`isDevelopmentSecret`).
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  source: Readonly<Record<string, string | undefined>> = process.env,
): ConfigOf<S> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(spec)) {
    const raw = source[entry.env];
    if (raw === undefined || raw === '') {
      if (entry.default === undefined && !entry.optional) {
        problems.push(`${entry.env} is required: ${entry.doc}`);
      }
      config[name] = entry.default;
      continue;
    }
    try {
      config[name] = entry.parse(raw);
    } catch (error) {
      problems.push(`${entry.env}: ${(error as Error).message}`);
    }
  }
  if (problems.length === 0 && config.appEnv === 'production')
    problems.push(...developmentSecretProblems(spec, config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}
