/**
 * The API reference the gateway serves (API_DOCS): the one OpenAPI document merged from the services'
 * own, and the Swagger UI files copied from npm beside it. `node envoy/src/api-docs.ts stage` copies the
 * files (scripts/toolchain.sh does, whenever they are missing or older than the package); the merged
 * document is written by `make api-docs` and checked by tests/integration/openapi.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { API_DOCS, JWT_POLICY, SERVICE_ROUTES, type ServiceName } from './gateway.ts';
import { LOCAL_API_DOCS_DIRECTORY } from './render-envoy-config.ts';

type Json = Record<string, unknown>;

/** An OpenAPI 3.1 document as the services serve it (libs/schemas' buildOpenApiDocument). */
export interface ServiceOpenApiDocument extends Json {
  readonly info: Json;
  readonly paths: Record<string, Record<string, Json>>;
  readonly components: { readonly schemas: Record<string, unknown> };
}

const SCHEMA_REF = '#/components/schemas/';

/** Whether the gateway forwards `path` to `service` (SERVICE_ROUTES, whole path segments). */
function routedTo(service: ServiceName, path: string): boolean {
  return SERVICE_ROUTES.some(
    (route) =>
      route.service === service && (path === route.pathPrefix || path.startsWith(`${route.pathPrefix}/`)),
  );
}

function collectSchemaRefs(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) for (const item of node) collectSchemaRefs(item, into);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(SCHEMA_REF))
        into.add(value.slice(SCHEMA_REF.length));
      else collectSchemaRefs(value, into);
    }
  }
}

/**
 * One document for the gateway: every operation it routes (each service's, minus what is internal or not
 * routed), each marked with the service that serves it (`x-service`), the schemas they use, and the
 * gateway's bearer scheme. Two services documenting one operation, or one schema name meaning two
 * things, is an error rather than a silent choice.
 */
export function mergeOpenApiDocuments(
  documents: ReadonlyMap<ServiceName, ServiceOpenApiDocument>,
  version: string,
): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const tags = new Map<string, ServiceName>();
  const schemaOwners = new Map<string, ServiceName>();
  const schemas: Record<string, unknown> = {};
  const used = new Set<string>();
  let license: unknown;
  for (const [service, document] of documents) {
    license ??= document.info.license;
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      const owner = schemaOwners.get(name);
      if (owner !== undefined && JSON.stringify(schemas[name]) !== JSON.stringify(schema))
        throw new Error(`schema ${name} differs between ${owner} and ${service}`);
      schemaOwners.set(name, owner ?? service);
      schemas[name] = schema;
    }
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!routedTo(service, path)) continue;
      for (const [method, operation] of Object.entries(operations)) {
        if (operation['x-internal'] === true) continue;
        if (paths[path]?.[method]) throw new Error(`${method.toUpperCase()} ${path} is documented twice`);
        for (const tag of (operation.tags as string[] | undefined) ?? [])
          if (!tags.has(tag)) tags.set(tag, service);
        collectSchemaRefs(operation, used);
        paths[path] = { ...paths[path], [method]: { ...operation, 'x-service': service } };
      }
    }
  }
  // The schemas the operations reach, through each other too.
  const pending = [...used];
  while (pending.length > 0) {
    const found = new Set<string>();
    collectSchemaRefs(schemas[pending.pop()!], found);
    for (const name of found) {
      if (used.has(name)) continue;
      used.add(name);
      pending.push(name);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'microservices-reference-platform API',
      version,
      description:
        'Every operation the gateway routes, merged from the documents the services serve themselves. ' +
        'Log in with `POST /v1/auth/login`, then send the token as `Authorization: Bearer <token>`: the ' +
        'gateway verifies it before routing, and the service verifies it again.',
      license,
    },
    // No jsonSchemaDialect: OpenAPI 3.1's default dialect is JSON Schema 2020-12 with OpenAPI's
    // vocabulary, which the schemas are valid in, and Swagger UI warns about any other.
    servers: [{ url: '/', description: 'The gateway that serves this document' }],
    security: [{ bearerAuth: [] }],
    tags: [...tags].map(([name, service]) => ({ name, description: `Served by ${service}` })),
    paths,
    components: {
      schemas: Object.fromEntries(
        [...used].sort((a, b) => a.localeCompare(b)).map((name) => [name, schemas[name]]),
      ),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: `An ${JWT_POLICY.algorithm} access token from POST /v1/auth/login (issuer and audience as the gateway is configured), verified against ${JWT_POLICY.jwksPath}.`,
        },
      },
    },
  };
}

/** The committed merged document, as text (`make api-docs` writes it). */
export function renderMergedDocument(document: Json): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The merged document's file in this checkout. */
export const API_DOCS_MERGED_FILE = join(LOCAL_API_DOCS_DIRECTORY, API_DOCS.document);

/**
 * Copies Swagger UI's files from `swagger-ui-dist` into `directory`, gzip-compressed, where one is missing
 * or older than the package. Returns the files it wrote.
 */
export function stageApiDocsAssets(directory = LOCAL_API_DOCS_DIRECTORY): string[] {
  const packageJson = createRequire(import.meta.url).resolve('swagger-ui-dist/package.json');
  const source = dirname(packageJson);
  const packageTime = statSync(packageJson).mtimeMs;
  mkdirSync(directory, { recursive: true });
  const written: string[] = [];
  for (const [target, file] of Object.entries(API_DOCS.assets)) {
    const destination = join(directory, target);
    if (existsSync(destination) && statSync(destination).mtimeMs >= packageTime) continue;
    // level 9 and no name or time in the header: the same package gives the same bytes.
    writeFileSync(destination, gzipSync(readFileSync(join(source, file)), { level: 9 }));
    written.push(destination);
  }
  return written;
}

/** The files Envoy reads at start-up that are missing from `directory` (an empty list when all are there). */
export function missingApiDocsFiles(directory = LOCAL_API_DOCS_DIRECTORY): string[] {
  return [API_DOCS.document, ...Object.keys(API_DOCS.assets)]
    .map((file) => join(directory, file))
    .filter((file) => !existsSync(file));
}

if (import.meta.main) {
  const [command] = process.argv.slice(2);
  if (command !== 'stage') {
    process.stderr.write('usage: node envoy/src/api-docs.ts stage\n');
    process.exit(2);
  }
  for (const file of stageApiDocsAssets()) process.stdout.write(`wrote ${file}\n`);
}
