import { getSchema, SCHEMA_BASE, type JsonSchema } from './registry.ts';
import type { RouteSpec } from './route-spec.ts';

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

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
    for (const [status, response] of Object.entries(route.responses)) {
      const content = response.schema
        ? { [response.mediaType ?? 'application/json']: { schema: { $ref: componentRef(response.schema) } } }
        : undefined;
      if (response.schema) referenced.add(response.schema);
      responses[status] = { description: response.description, ...(content ? { content } : {}) };
    }
    responses.default = {
      description: 'An error, as an RFC 9457 problem',
      content: { 'application/problem+json': { schema: { $ref: componentRef('Problem') } } },
    };
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

  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
