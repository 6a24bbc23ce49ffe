/**
 * docker-compose.yml read the way Docker Compose reads it, for offline checks: YAML with merge keys, then
 * `${VAR}` interpolation, then its short syntaxes (volumes, ports, tmpfs, environment) spelled out. The
 * Dockerfile facts compose relies on are read by ./dockerfile.ts.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

export interface ComposeBuild {
  readonly context: string;
  readonly dockerfile?: string;
  readonly target?: string;
  readonly args?: Readonly<Record<string, string>>;
}

export interface ComposeHealthcheck {
  readonly test?: string | readonly string[];
  readonly disable?: boolean;
}

export interface ComposeDependency {
  readonly condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
}

type ShortOrLong = string | number | Readonly<Record<string, unknown>>;

/** The keys of a service these tests read (the Compose schema test checks the file as a whole). */
export interface ComposeService {
  readonly image?: string;
  readonly build?: string | ComposeBuild;
  readonly pull_policy?: string;
  readonly depends_on?: readonly string[] | Readonly<Record<string, ComposeDependency>>;
  readonly volumes?: readonly ShortOrLong[];
  readonly environment?: readonly string[] | Readonly<Record<string, string | number | boolean | null>>;
  readonly ports?: readonly ShortOrLong[];
  readonly command?: string | readonly string[];
  readonly entrypoint?: string | readonly string[];
  readonly healthcheck?: ComposeHealthcheck;
  readonly user?: string;
  readonly read_only?: boolean;
  readonly privileged?: boolean;
  readonly cap_add?: readonly string[];
  readonly cap_drop?: readonly string[];
  readonly security_opt?: readonly string[];
  readonly network_mode?: string;
  readonly pid?: string;
  readonly ipc?: string;
  readonly devices?: readonly unknown[];
  readonly tmpfs?: string | readonly string[];
  readonly profiles?: readonly string[];
  readonly stop_grace_period?: string;
  readonly restart?: string;
}

export interface ComposeFile {
  readonly name?: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

/** The file parsed as Compose parses YAML (merge keys `<<` resolved), before interpolation. */
export function readComposeDocument(file = COMPOSE_FILE): unknown {
  return parseYaml(readFileSync(file, 'utf8'), { merge: true }) as unknown;
}

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)(.*))?$/s;
const TOKEN = /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * Compose's interpolation of one value: `$$` is a literal `$`; `${VAR}` and `$VAR`; `${VAR:-default}`
 * (unset or empty) and `${VAR-default}` (unset); `${VAR:?error}` and `${VAR?error}`; `${VAR:+alt}` and
 * `${VAR+alt}`. Stricter than Compose where that catches mistakes: a variable without a default that is
 * unset is an error (Compose would warn and use ""), and so are nested or malformed expressions.
 */
export function interpolate(text: string, variables: Readonly<Record<string, string>>): string {
  const stray = text.replace(TOKEN, '');
  if (stray.includes('$')) throw new Error(`invalid interpolation in ${JSON.stringify(text)}`);
  return text.replace(TOKEN, (match: string, braced: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const [name, operator, operand] = bare
      ? [bare, undefined, undefined]
      : (VARIABLE.exec(braced ?? '')?.slice(1) ?? []);
    if (!name) throw new Error(`invalid interpolation ${match} in ${JSON.stringify(text)}`);
    if (operand?.includes('$')) throw new Error(`nested interpolation is not supported: ${match}`);
    const value = variables[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (operator) {
      case ':-':
        return nonEmpty ? value : (operand ?? '');
      case '-':
        return set ? value : (operand ?? '');
      case ':?':
      case '?':
        if (operator === ':?' ? nonEmpty : set) return value ?? '';
        throw new Error(`${name} is required: ${operand ?? ''}`);
      case ':+':
        return nonEmpty ? (operand ?? '') : '';
      case '+':
        return set ? (operand ?? '') : '';
      default:
        if (!set) throw new Error(`${name} is used without a default and is not set (in ${match})`);
        return value;
    }
  });
}

/** Every string value of `document` interpolated (keys are not, as in Compose). */
export function interpolateDocument(document: unknown, variables: Readonly<Record<string, string>>): unknown {
  if (typeof document === 'string') return interpolate(document, variables);
  if (Array.isArray(document)) return document.map((item: unknown) => interpolateDocument(item, variables));
  if (document !== null && typeof document === 'object') {
    return Object.fromEntries(
      Object.entries(document).map(([key, value]) => [key, interpolateDocument(value, variables)]),
    );
  }
  return document;
}

/** docker-compose.yml as `docker compose config` would see it with `variables` as the environment. */
export function loadCompose(variables: Readonly<Record<string, string>> = {}): ComposeFile {
  return interpolateDocument(readComposeDocument(), variables) as ComposeFile;
}

/** A service's environment as strings (map or `KEY=VALUE` list; a bare key takes nothing here). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      (environment as readonly string[])
        .filter((entry) => entry.includes('='))
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
  }
  return Object.fromEntries(
    Object.entries(environment as Readonly<Record<string, string | number | boolean | null>>)
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== null)
      .map(([key, value]) => [key, String(value)]),
  );
}

export interface Mount {
  readonly type: 'bind' | 'volume' | 'tmpfs';
  /** A bind mount's host path (absolute, resolved against the compose file's directory) or a volume name. */
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** Every mount of a service: `volumes` (short and long syntax) and `tmpfs`. */
export function mountsOf(service: ComposeService): Mount[] {
  const mounts: Mount[] = [];
  for (const entry of service.volumes ?? []) {
    if (typeof entry === 'string') {
      const parts = entry.split(':');
      if (parts.length === 1) {
        mounts.push({ type: 'volume', target: entry, readOnly: false });
        continue;
      }
      const [source = '', target = '', mode = ''] = parts;
      const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
      mounts.push({
        type: bind ? 'bind' : 'volume',
        source: bind ? hostPath(source) : source,
        target,
        readOnly: mode.split(',').includes('ro'),
      });
    } else if (typeof entry === 'object') {
      const type = entry.type as Mount['type'];
      const source = typeof entry.source === 'string' ? entry.source : undefined;
      mounts.push({
        type,
        ...(source === undefined ? {} : { source: type === 'bind' ? hostPath(source) : source }),
        target: String(entry.target),
        readOnly: entry.read_only === true,
      });
    }
  }
  const tmpfs = typeof service.tmpfs === 'string' ? [service.tmpfs] : (service.tmpfs ?? []);
  for (const entry of tmpfs) {
    mounts.push({ type: 'tmpfs', target: entry.split(':')[0] ?? entry, readOnly: false });
  }
  return mounts;
}

function hostPath(source: string): string {
  return isAbsolute(source) ? source : resolve(REPO_ROOT, source);
}

export interface PublishedPort {
  /** The host address the port is bound to; empty means every interface. */
  readonly hostIp: string;
  readonly published: string;
  readonly target: number;
}

/** A service's published ports, short (`[IP:][HOST:]CONTAINER[/PROTO]`) or long syntax. */
export function publishedPortsOf(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((entry) => {
    if (typeof entry === 'object') {
      return {
        hostIp: typeof entry.host_ip === 'string' ? entry.host_ip : '',
        published:
          typeof entry.published === 'string' || typeof entry.published === 'number'
            ? String(entry.published)
            : '',
        target: Number(entry.target),
      };
    }
    let rest = String(entry).replace(/\/(tcp|udp|sctp)$/, '');
    let hostIp = '';
    const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(rest);
    if (bracketed) {
      hostIp = bracketed[1]!;
      rest = bracketed[2]!;
    }
    const parts = rest.split(':');
    if (!bracketed && parts.length === 3) hostIp = parts.shift()!;
    const target = Number(parts.pop());
    return { hostIp, published: parts[0] ?? '', target };
  });
}

/** A Compose duration (`1m30s`, `10s`, `500ms`) in milliseconds. */
export function durationMs(duration: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== duration) {
    throw new Error(`not a Compose duration: ${duration}`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * units[unit!]!, 0);
}

/** A command or entrypoint as its argument list (a string is split on white space, as Compose does). */
export function argv(command: string | readonly string[] | undefined): string[] {
  if (command === undefined) return [];
  return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : [...command];
}

/** The dependencies of a service with their conditions (the list form means `service_started`). */
export function dependenciesOf(service: ComposeService): Record<string, ComposeDependency['condition']> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) {
    return Object.fromEntries((dependsOn as readonly string[]).map((name) => [name, 'service_started']));
  }
  return Object.fromEntries(
    Object.entries(dependsOn as Readonly<Record<string, ComposeDependency>>).map(([name, dependency]) => [
      name,
      dependency.condition,
    ]),
  );
}

/** An image reference split into repository and tag (`postgres:17-alpine` -> postgres, 17-alpine). */
export function imageParts(image: string): { repository: string; tag: string } {
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= withoutDigest.lastIndexOf('/')) return { repository: withoutDigest, tag: '' };
  return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
}

export { imageSettings, stageNames, type ImageSettings } from './dockerfile.ts';
