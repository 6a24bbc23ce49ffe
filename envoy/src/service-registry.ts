/**
 * The platform's services, read from services/registry.json: the one list that the gateway (its clusters
 * and routes), the dev runner, Tilt and the image scripts derive theirs from, and that `make new-service`
 * appends to. Checked when it is read, so that a hand edit that breaks it says what is wrong.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A service as the registry describes it. */
export interface RegisteredService {
  /** Its deployment name, also its folder under services/ and its chart's name. */
  readonly name: string;
  /** Where it listens as a local process (make dev, the tests); in a container it listens on 8080. */
  readonly port: number;
  /** The suffix of its own Postgres database (`mrp_<database>`), or null when it has none. */
  readonly database: string | null;
  /** The path prefixes the gateway forwards to it (whole segments), each with a route name. */
  readonly routes: readonly { readonly name: string; readonly pathPrefix: string }[];
}

export const SERVICE_REGISTRY_FILE = join(import.meta.dirname, '..', '..', 'services', 'registry.json');

const SERVICE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*-service$/;
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,40}$/;
const ROUTE_NAME = /^[a-z][a-z0-9-]{0,40}$/;
const PATH_PREFIX = /^\/v[0-9]+(\/[a-z0-9][a-z0-9-]*)+$/;
/** Ports the gateway itself takes locally (listener, admin, ops). */
const RESERVED_PORTS = new Set([8080, 9901, 9902]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(values: readonly unknown[], what: string, problems: string[]): void {
  const seen = new Set<unknown>();
  for (const value of values) {
    if (seen.has(value)) problems.push(`${what} ${JSON.stringify(value)} is used twice`);
    seen.add(value);
  }
}

/** The services of a parsed registry.json, or an error listing every problem with it. */
export function parseServiceRegistry(document: unknown): RegisteredService[] {
  const problems: string[] = [];
  const entries = isRecord(document) && Array.isArray(document.services) ? document.services : undefined;
  if (!entries) throw new Error('the service registry must be an object with a "services" array');
  const services = entries.map((entry: unknown, index): RegisteredService => {
    const where = `services[${index}]`;
    if (!isRecord(entry)) {
      problems.push(`${where} is not an object`);
      return { name: '', port: 0, database: null, routes: [] };
    }
    const { name, port, database, routes, ...rest } = entry;
    for (const key of Object.keys(rest)) problems.push(`${where} has an unknown field "${key}"`);
    if (typeof name !== 'string' || !SERVICE_NAME.test(name))
      problems.push(`${where}.name must be lowercase words joined by "-" ending in "-service"`);
    if (
      typeof port !== 'number' ||
      !Number.isInteger(port) ||
      port < 1024 ||
      port > 65535 ||
      RESERVED_PORTS.has(port)
    )
      problems.push(
        `${where}.port must be an integer from 1024 to 65535, not one of the gateway's (8080, 9901, 9902)`,
      );
    if (database !== null && (typeof database !== 'string' || !DATABASE_NAME.test(database)))
      problems.push(`${where}.database must be null or a lowercase name (letters, digits, _)`);
    const routeList = Array.isArray(routes) ? routes : [];
    if (!Array.isArray(routes)) problems.push(`${where}.routes must be an array`);
    const parsedRoutes = routeList.map((route: unknown, routeIndex) => {
      const at = `${where}.routes[${routeIndex}]`;
      if (!isRecord(route) || typeof route.name !== 'string' || typeof route.pathPrefix !== 'string') {
        problems.push(`${at} must be { "name": ..., "pathPrefix": ... }`);
        return { name: '', pathPrefix: '' };
      }
      if (!ROUTE_NAME.test(route.name)) problems.push(`${at}.name must be a lowercase name`);
      if (!PATH_PREFIX.test(route.pathPrefix))
        problems.push(`${at}.pathPrefix must look like /v1/things (a version, then lowercase segments)`);
      return { name: route.name, pathPrefix: route.pathPrefix };
    });
    return {
      name: typeof name === 'string' ? name : '',
      port: typeof port === 'number' ? port : 0,
      database: typeof database === 'string' ? database : null,
      routes: parsedRoutes,
    };
  });
  unique(
    services.map((service) => service.name),
    'the name',
    problems,
  );
  unique(
    services.map((service) => service.port),
    'the port',
    problems,
  );
  unique(
    services.flatMap((service) => (service.database ? [service.database] : [])),
    'the database',
    problems,
  );
  const routes = services.flatMap((service) => service.routes);
  unique(
    routes.map((route) => route.name),
    'the route name',
    problems,
  );
  for (const route of routes) {
    const overlapping = routes.find(
      (other) =>
        other !== route &&
        (other.pathPrefix === route.pathPrefix || route.pathPrefix.startsWith(`${other.pathPrefix}/`)),
    );
    if (overlapping) problems.push(`the path prefix ${route.pathPrefix} overlaps ${overlapping.pathPrefix}`);
  }
  if (problems.length > 0) throw new Error(`the service registry is invalid:\n- ${problems.join('\n- ')}`);
  return services;
}

/** The services of services/registry.json, in its order (the order clusters and processes start in). */
export const SERVICE_REGISTRY: readonly RegisteredService[] = parseServiceRegistry(
  JSON.parse(readFileSync(SERVICE_REGISTRY_FILE, 'utf8')),
);

/** The names of every registered service, in the registry's order. */
export const SERVICE_NAMES: readonly string[] = SERVICE_REGISTRY.map((service) => service.name);
