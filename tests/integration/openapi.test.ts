import { expect } from 'chai';
import { toOpenApiPath } from '@mrp/schemas';
import type { ServiceApp } from '@mrp/platform';
import { request, asRecord } from '../support/http.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

function documentedOperations(document: Record<string, unknown>): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, operations]) =>
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

describe('OpenAPI documents match the routes that exist', () => {
  let platform: TestPlatform;

  before(async () => {
    platform = await startTestPlatform();
  });

  after(async () => {
    await platform.stop();
  });

  const services = (): [string, string, ServiceApp][] => [
    ['auth-service', platform.authUrl, platform.auth.service],
    ['user-service', platform.userUrl, platform.user.service],
  ];

  it('each service serves /openapi.json listing exactly the operations its router mounts', async () => {
    for (const [name, url, service] of services()) {
      const result = await request(`${url}/openapi.json`);
      expect(result.status, name).to.equal(200);
      const document = asRecord(result.body);
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
      const document = asRecord((await request(`${url}/openapi.json`)).body);
      const components = asRecord(asRecord(document.components).schemas);
      for (const ref of collectRefs(document, new Set())) {
        expect(ref, name).to.match(/^#\/components\/schemas\//);
        expect(components, `${name}: ${ref}`).to.have.property(ref.replace('#/components/schemas/', ''));
      }
    }
  });

  it("user-service documents the users API with its roles and the seed's create body", () => {
    const document = platform.user.service.openapi;
    const create = (document.paths['/v1/users'] as Record<string, Record<string, unknown>>).post!;
    expect(create['x-roles']).to.deep.equal(['admin']);
    expect(JSON.stringify(create.requestBody)).to.include('#/components/schemas/UserCreateRequest');
  });
});
