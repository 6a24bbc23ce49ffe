import { getSchema, SCHEMA_BASE, type JsonSchema } from './registry.ts';
import type { ResponseSpec, RouteSpec } from './route-spec.ts';

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
  /** The platform's licence unless given. */
  readonly license?: { readonly name: string; readonly identifier?: string; readonly url?: string };
}

/** The licence of the platform (LICENSE), which each service's document states. */
const PLATFORM_LICENSE = { name: 'Apache-2.0', identifier: 'Apache-2.0' } as const;

export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

const componentRef = (name: string) => `#/components/schemas/${name}`;

/** `/v1/users/:id` -> `/v1/users/{id}` */
export function toOpenApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Copies a contract for the document: `$ref: "User"` points into components, `$id`/`$schema` go. */
function toComponent(schema: unknown, referenced: Set<string>): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toComponent(item, referenced));
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as JsonSchema)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === '$ref' && typeof value === 'string') {
      const name = value.startsWith(SCHEMA_BASE) ? value.slice(SCHEMA_BASE.length) : value;
      referenced.add(name);
      result[key] = componentRef(name);
    } else {
      result[key] = toComponent(value, referenced);
    }
  }
  return result;
}

function parameters(location: 'path' | 'query', schemaName: string, referenced: Set<string>): unknown[] {
  const schema = getSchema(schemaName);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: toComponent(property, referenced),
  }));
}

const PROBLEM_CONTENT = {
  'application/problem+json': { schema: { $ref: componentRef('Problem') } },
} as const;

/**
 * The problems the platform itself answers for a route of this shape, before or around its handler: each
 * one a real answer of the request pipeline (app.ts: authentication and roles, validation, the body's
 * size and type, admission control and the dependencies' outages) or of the gateway in front of it (rate
 * limits, circuit breakers). A route's own declaration of a status takes precedence. An internal route that
 * takes no input and needs no token (the probes, /metrics, /openapi.json) has no client error to declare.
 */
function platformProblems(route: RouteSpec): Record<number, string> {
  const problems: Record<number, string> = {};
  if (route.params || route.query || route.body)
    problems[400] =
      'The request does not match its schema (`validation_failed`: each error names its field by JSON pointer), or its body is not well-formed';
  if (route.access !== 'public') {
    problems[401] = 'No bearer token, or one that is not valid, has expired or was revoked';
    problems[403] =
      route.access.length === 1 && route.access[0] === 'service'
        ? 'The token is not a service token holding the scopes this operation needs'
        : `The token's role is not one of: ${route.access.join(', ')}`;
  }
  if (route.body) {
    problems[413] = 'The body is larger than the service accepts';
    problems[415] = `The body is not ${route.body.mediaType}`;
  }
  // Through the gateway (every route but the internal ones): its rate limits and circuit breakers.
  if (!route.internal)
    problems[429] =
      'Through the gateway: too many requests from this client; `Retry-After` says when to try again';
  if (!route.internal || route.access !== 'public' || route.params || route.query || route.body)
    problems[503] =
      'The service (or the gateway) is overloaded, or a dependency is unavailable; `Retry-After` says when to try again';
  return problems;
}

/**
 * Generates the OpenAPI 3.1 document of a service from the same route specs its router mounts, so the
 * document cannot drift from the routes that exist. Problems share the `Problem` component.
 */
export function buildOpenApiDocument(info: OpenApiInfo, routes: readonly RouteSpec[]): OpenApiDocument {
  const referenced = new Set<string>(['Problem']);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.tags ? { tags: route.tags } : {}),
      ...(route.internal ? { 'x-internal': true } : {}),
    };
    if (route.access === 'public') operation.security = [];
    else {
      operation.security = [{ bearerAuth: [] }];
      operation['x-roles'] = route.access;
      if (route.serviceScopes) operation['x-service-scopes'] = route.serviceScopes;
    }
    const params = [
      ...(route.params ? parameters('path', route.params, referenced) : []),
      ...(route.query ? parameters('query', route.query, referenced) : []),
    ];
    if (params.length > 0) operation.parameters = params;
    if (route.body) {
      referenced.add(route.body.schema);
      operation.requestBody = {
        required: true,
        content: { [route.body.mediaType]: { schema: { $ref: componentRef(route.body.schema) } } },
      };
    }
    const responses: Record<string, unknown> = {};
    const declared: Record<number, ResponseSpec> = {
      ...Object.fromEntries(
        Object.entries(platformProblems(route)).map(([status, description]) => [status, { description }]),
      ),
      ...route.responses,
    };
    for (const [status, response] of Object.entries(declared).sort(([a], [b]) => Number(a) - Number(b))) {
      const content = response.schema
        ? { [response.mediaType ?? 'application/json']: { schema: { $ref: componentRef(response.schema) } } }
        : Number(status) >= 400
          ? PROBLEM_CONTENT
          : undefined;
      if (response.schema) referenced.add(response.schema);
      responses[status] = { description: response.description, ...(content ? { content } : {}) };
    }
    responses.default = { description: 'Any other error, as an RFC 9457 problem', content: PROBLEM_CONTENT };
    operation.responses = responses;
    const path = toOpenApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation };
  }

  const schemas: Record<string, unknown> = {};
  const pending = [...referenced];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name in schemas) continue;
    const found = new Set<string>();
    schemas[name] = toComponent(getSchema(name), found);
    pending.push(...[...found].filter((ref) => !(ref in schemas)));
  }

  const bearer = routes.some((route) => route.access !== 'public');
  return {
    openapi: '3.1.0',
    info: { ...info, license: info.license ?? PLATFORM_LICENSE },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    // Relative: the host that serves the document, the gateway (same paths) or the service itself.
    servers: [{ url: '/', description: 'Where this document was fetched from: the gateway or the service' }],
    paths,
    components: {
      // By code point: localeCompare would load ICU's collation data (about 2 MB per process) at start-up.
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      securitySchemes: bearer ? { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } : {},
    },
  };
}
