import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'chai';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import {
  API_DOCS_MERGED_FILE,
  mergeOpenApiDocuments,
  renderMergedDocument,
  SERVICE_NAMES,
  SERVICE_ROUTES,
  type ServiceName,
  type ServiceOpenApiDocument,
} from '@mrp/gateway';
import { SERVICE_CLIENT_SCOPES, toOpenApiPath, type OpenApiDocument } from '@mrp/schemas';
import { createLogger, listen, type RunningServer, type ServiceApp } from '@mrp/platform';
import { request } from '../support/http.ts';
import { openApiDocument } from '../support/openapi.ts';
import { type TestPlatform } from '../support/platform.ts';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';

function documentedOperations(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

function collectRefs(node: unknown, refs: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, refs);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') refs.add(value);
      else collectRefs(value, refs);
    }
  }
  return refs;
}

interface ScaffoldedService {
  readonly name: ServiceName;
  readonly url: string;
  readonly service: ServiceApp;
  stop(): Promise<void>;
}

/**
 * A registered service other than the five the full platform starts (one `make new-service` wrote): built
 * with the `load...Config` and `create...Service` its package exports, as the scaffold writes them, on
 * a free port. It serves its document without a database or a token, so none is set up.
 */
async function startScaffolded(name: ServiceName): Promise<ScaffoldedService> {
  const module = (await import(`@mrp/${name}`)) as Record<string, unknown>;
  const exported = (pattern: RegExp) =>
    Object.entries(module).find(([key, value]) => pattern.test(key) && typeof value === 'function')?.[1];
  const load = exported(/^load\w+Config$/) as ((env: NodeJS.ProcessEnv) => unknown) | undefined;
  const create = exported(/^create\w+Service$/) as
    | ((
        config: unknown,
        logger: ReturnType<typeof createLogger>,
      ) => Promise<{ service: ServiceApp; close(): Promise<void> }>)
    | undefined;
  if (!load || !create)
    throw new Error(
      `${name} exports no load...Config and create...Service: start it in tests/support/full-platform.ts and list it in services() here`,
    );
  const config = load({ ...process.env, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false' });
  const created = await create(config, createLogger({ serviceName: name, level: 'silent' }));
  const server = await listen(created.service, 0);
  return {
    name,
    url: server.url,
    service: created.service,
    async stop() {
      await server.close(100);
      await created.close();
    },
  };
}

describe('OpenAPI documents match the routes that exist', () => {
  let full: FullPlatform;
  let platform: TestPlatform;
  let auditServer: RunningServer;
  const scaffolded: ScaffoldedService[] = [];

  before(async () => {
    full = await startFullPlatform();
    platform = full.platform;
    auditServer = await listen(full.audit.service, 0);
    const started = new Set(services().map(([name]) => name));
    for (const name of SERVICE_NAMES.filter((registered) => !started.has(registered)))
      scaffolded.push(await startScaffolded(name));
  });

  after(async () => {
    for (const service of scaffolded) await service.stop();
    await auditServer.close(100);
    await full.stop();
  });

  /** Every registered service: the five by their own factories, any other as the scaffold writes it. */
  const services = (): [ServiceName, string, ServiceApp][] => [
    ['auth-service', platform.authUrl, platform.auth.service],
    ['user-service', platform.userUrl, platform.user.service],
    ['case-service', full.cases.url, full.cases.caseService.service],
    ['scoring-service', full.scoring.url, full.scoring.scoring.service],
    ['audit-telemetry-service', auditServer.url, full.audit.service],
    ...scaffolded.map(({ name, url, service }): [ServiceName, string, ServiceApp] => [name, url, service]),
  ];

  it('each service serves /openapi.json listing exactly the operations its router mounts', async () => {
    for (const [name, url, service] of services()) {
      const result = await request(`${url}/openapi.json`);
      expect(result.status, name).to.equal(200);
      const document = openApiDocument(result.body);
      expect(document.openapi).to.equal('3.1.0');
      const mounted = service.mountedRoutes().map((route) => {
        const [method, path] = route.split(' ');
        return `${method!} ${toOpenApiPath(path!)}`;
      });
      expect(documentedOperations(document).sort(), name).to.deep.equal(mounted.sort());
    }
  });

  it('every $ref in a document resolves to one of its components', async () => {
    for (const [name, url] of services()) {
      const document = openApiDocument((await request(`${url}/openapi.json`)).body);
      const components = document.components.schemas;
      for (const ref of collectRefs(document, new Set())) {
        expect(ref, name).to.match(/^#\/components\/schemas\//);
        expect(components, `${name}: ${ref}`).to.have.property(ref.replace('#/components/schemas/', ''));
      }
    }
  });

  it('every operation that takes service tokens names the scopes it needs; every scope is granted to a client and needed by an operation', async () => {
    const required = new Set<string>();
    for (const [name, url] of services()) {
      const document = openApiDocument((await request(`${url}/openapi.json`)).body);
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(
          operations as Record<string, Record<string, unknown>>,
        )) {
          const roles = (operation['x-roles'] as string[] | undefined) ?? [];
          const scopes = (operation['x-service-scopes'] as string[] | undefined) ?? [];
          const where = `${name} ${method.toUpperCase()} ${path}`;
          if (roles.includes('service')) expect(scopes, where).to.not.be.empty;
          else expect(scopes, where).to.be.empty;
          for (const scope of scopes) required.add(scope);
        }
      }
    }
    const granted = new Set(Object.values(SERVICE_CLIENT_SCOPES).flat());
    expect([...required].sort()).to.deep.equal([...granted].sort());
  });

  it("every document passes Redocly's recommended lint rules, with no warning", async function () {
    const OPERATIONAL = ['/healthz', '/readyz', '/metrics', '/openapi.json'].map(
      (path) => `#/paths/${path.replaceAll('/', '~1')}/get/responses`,
    );
    this.timeout(30_000);
    const config = await createConfig({ extends: ['recommended'] });
    const found: string[] = [];
    for (const [name, url] of services()) {
      const problems = await lintFromString({
        source: (await request(`${url}/openapi.json`)).text,
        absoluteRef: `${name}.openapi.json`,
        config,
      });
      for (const problem of problems) {
        const pointer = problem.location[0]?.pointer ?? '';
        // The probes, /metrics and /openapi.json take no input and need no token, and the gateway does
        // not route them: no client error is possible, so there is no 4xx to declare.
        if (problem.ruleId === 'operation-4xx-response' && OPERATIONAL.some((path) => pointer === path))
          continue;
        found.push(`${name}: ${problem.severity} ${problem.ruleId} ${pointer}: ${problem.message}`);
      }
    }
    expect(found).to.deep.equal([]);
  });

  const merged = async (): Promise<Record<string, unknown>> => {
    const documents = new Map<ServiceName, ServiceOpenApiDocument>();
    for (const [name, url] of services())
      documents.set(name, (await request(`${url}/openapi.json`)).body as ServiceOpenApiDocument);
    const { version } = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    return mergeOpenApiDocuments(documents, version);
  };

  it('every registered service is among the documents merged', () => {
    expect(services().map(([name]) => name)).to.have.members([...SERVICE_NAMES]);
  });

  // `make api-docs` runs this case with MRP_WRITE_API_DOCS=1 to write the file instead of comparing.
  it("the gateway serves the merge of the services' documents, as committed (make api-docs writes it)", async () => {
    const text = renderMergedDocument(await merged());
    if (process.env.MRP_WRITE_API_DOCS === '1') await writeFile(API_DOCS_MERGED_FILE, text);
    expect(await readFile(API_DOCS_MERGED_FILE, 'utf8'), 'stale: run make api-docs').to.equal(text);
  });

  it('the merged document holds every routed operation of every service, and nothing internal', async () => {
    const document = openApiDocument(await merged());
    const expected: string[] = [];
    for (const [name, url] of services()) {
      const own = openApiDocument((await request(`${url}/openapi.json`)).body);
      for (const [path, operations] of Object.entries(own.paths)) {
        const routed = SERVICE_ROUTES.some(
          (route) =>
            route.service === name && (path === route.pathPrefix || path.startsWith(`${route.pathPrefix}/`)),
        );
        for (const [method, operation] of Object.entries(
          operations as Record<string, Record<string, unknown>>,
        ))
          if (routed && operation['x-internal'] !== true)
            expected.push(`${name} ${method.toUpperCase()} ${path}`);
      }
    }
    const found = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations as Record<string, Record<string, unknown>>).map(
        ([method, operation]) => `${String(operation['x-service'])} ${method.toUpperCase()} ${path}`,
      ),
    );
    expect(found.sort()).to.deep.equal(expected.sort());
    expect(found.some((entry) => entry.includes('/internal/'))).to.equal(false);
    expect(found).to.include.members(['auth-service POST /v1/auth/login', 'case-service POST /v2/cases']);
    const refs = collectRefs(document, new Set());
    const schemas = document.components.schemas;
    for (const ref of refs) expect(schemas, ref).to.have.property(ref.replace('#/components/schemas/', ''));
    expect(Object.keys(schemas).length, 'no unused schema').to.equal(refs.size);
  });

  it("the merged document passes Redocly's recommended lint rules, with no warning", async function () {
    this.timeout(30_000);
    const problems = await lintFromString({
      source: renderMergedDocument(await merged()),
      absoluteRef: 'gateway.openapi.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    expect(
      problems.map(
        (problem) => `${problem.ruleId} ${problem.location[0]?.pointer ?? ''}: ${problem.message}`,
      ),
    ).to.deep.equal([]);
  });

  it("user-service documents the users API with its roles and the seed's create body", () => {
    const document = platform.user.service.openapi;
    const create = (document.paths['/v1/users'] as Record<string, Record<string, unknown>>).post!;
    expect(create['x-roles']).to.deep.equal(['admin']);
    expect(JSON.stringify(create.requestBody)).to.include('#/components/schemas/UserCreateRequest');
  });
});

describe('OpenAPI of the case API versions', () => {
  it('v1 and v2 share paths under their prefix, and only v2 documents priority', async () => {
    const full = await startFullPlatform();
    try {
      const document = full.cases.caseService.service.openapi;
      const schemas = document.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
      expect(Object.keys(document.paths)).to.include.members([
        '/v1/cases',
        '/v1/cases/{id}',
        '/v2/cases',
        '/v2/cases/{id}',
      ]);
      expect(schemas.CaseV1!.properties).not.to.have.property('priority');
      expect(schemas.CaseV2!.properties).to.have.property('priority');
    } finally {
      await full.stop();
    }
  });
});
