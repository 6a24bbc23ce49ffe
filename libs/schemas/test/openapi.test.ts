import { expect } from 'chai';
import { buildOpenApiDocument, toOpenApiPath, type OpenApiDocument } from '../src/openapi.ts';
import type { RouteSpec } from '../src/route-spec.ts';

const INFO = { title: 'demo-service', version: '1.2.3' };

/** The operation of one method and (OpenAPI) path of a document. */
function operation(document: OpenApiDocument, path: string, method: string): Record<string, unknown> {
  const found = document.paths[path]?.[method] as Record<string, unknown> | undefined;
  expect(found, `${method} ${path}`).to.not.equal(undefined);
  return found!;
}

const responsesOf = (document: OpenApiDocument, path: string, method: string) =>
  operation(document, path, method).responses as Record<string, { description: string; content?: unknown }>;

const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const createUser: RouteSpec = {
  method: 'post',
  path: '/v1/users',
  operationId: 'createUser',
  summary: 'Create a user.',
  tags: ['users'],
  access: ['admin'],
  body: { schema: 'UserCreateRequest', mediaType: 'application/json' },
  responses: { 201: { description: 'Created', schema: 'User' }, 409: { description: 'Email in use' } },
};
const getUser: RouteSpec = {
  method: 'get',
  path: '/v1/users/:id',
  operationId: 'getUser',
  summary: 'Get one user.',
  access: ['admin', 'viewer'],
  params: 'IdParams',
  responses: { 200: { description: 'The user', schema: 'User' } },
};
const deleteUser: RouteSpec = {
  ...getUser,
  method: 'delete',
  operationId: 'deleteUser',
  responses: { 204: { description: 'Deleted' } },
};
const listUsers: RouteSpec = {
  method: 'get',
  path: '/v1/users',
  operationId: 'listUsers',
  summary: 'List users.',
  access: ['admin'],
  query: 'PageQuery',
  responses: { 200: { description: 'A page', schema: 'UserList' } },
};
const health: RouteSpec = {
  method: 'get',
  path: '/healthz',
  operationId: 'health',
  summary: 'Liveness.',
  access: 'public',
  internal: true,
  responses: { 200: { description: 'Alive', schema: 'Health', mediaType: 'application/health+json' } },
};
const verify: RouteSpec = {
  method: 'post',
  path: '/internal/v1/credentials/verify',
  operationId: 'verify',
  summary: 'Check credentials.',
  access: ['service'],
  serviceScopes: ['users:verify-credentials'],
  internal: true,
  body: { schema: 'TokenRequest', mediaType: 'application/x-www-form-urlencoded' },
  responses: { 200: { description: 'Matches', schema: 'VerifiedIdentity' } },
};

describe('OpenAPI documents generated from route specs', () => {
  it('turns Koa path parameters into OpenAPI ones', () => {
    expect(toOpenApiPath('/v1/users/:id')).to.equal('/v1/users/{id}');
    expect(toOpenApiPath('/v1/a/:first_id/b/:Second2')).to.equal('/v1/a/{first_id}/b/{Second2}');
    expect(toOpenApiPath('/v1/users')).to.equal('/v1/users');
  });

  it('states the OpenAPI version, the JSON Schema dialect, a relative server, the info and the licence', () => {
    const document = buildOpenApiDocument(INFO, [health]);
    expect(document.openapi).to.equal('3.1.0');
    expect(document.jsonSchemaDialect).to.equal('https://json-schema.org/draft/2020-12/schema');
    expect(document.servers).to.deep.equal([
      { url: '/', description: 'Where this document was fetched from: the gateway or the service' },
    ]);
    expect(document.info).to.deep.equal({
      ...INFO,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    });
    const license = { name: 'MIT', url: 'https://example.com/mit' };
    expect(buildOpenApiDocument({ ...INFO, description: 'd', license }, [health]).info).to.deep.equal({
      ...INFO,
      description: 'd',
      license,
    });
  });

  it('describes an operation: id, summary, tags, who may call it, and a body by reference', () => {
    const document = buildOpenApiDocument(INFO, [createUser]);
    const create = operation(document, '/v1/users', 'post');
    expect(create).to.include({ operationId: 'createUser', summary: 'Create a user.' });
    expect(create.tags).to.deep.equal(['users']);
    expect(create.security).to.deep.equal([{ bearerAuth: [] }]);
    expect(create['x-roles']).to.deep.equal(['admin']);
    expect(create).not.to.have.any.keys('x-internal', 'x-service-scopes', 'parameters');
    expect(create.requestBody).to.deep.equal({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/UserCreateRequest' } } },
    });
    expect(document.components.securitySchemes).to.deep.equal({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
  });

  it('a public internal route needs no token, declares no client error, and has no security scheme', () => {
    const document = buildOpenApiDocument(INFO, [health]);
    const probe = operation(document, '/healthz', 'get');
    expect(probe.security).to.deep.equal([]);
    expect(probe['x-internal']).to.equal(true);
    expect(probe).not.to.have.any.keys('x-roles', 'tags', 'requestBody');
    expect(Object.keys(responsesOf(document, '/healthz', 'get'))).to.deep.equal(['200', 'default']);
    expect(responsesOf(document, '/healthz', 'get')['200']).to.deep.equal({
      description: 'Alive',
      content: { 'application/health+json': { schema: { $ref: '#/components/schemas/Health' } } },
    });
    expect(document.components.securitySchemes).to.deep.equal({});
  });

  it('path parameters are required; query parameters as their schema says, with their description', () => {
    const document = buildOpenApiDocument(INFO, [getUser, listUsers]);
    expect(operation(document, '/v1/users/{id}', 'get').parameters).to.deep.equal([
      {
        name: 'id',
        in: 'path',
        required: true,
        description: "The resource's UUID.",
        schema: { type: 'string', format: 'uuid', description: "The resource's UUID." },
      },
    ]);
    const [limit, cursor] = operation(document, '/v1/users', 'get').parameters as Record<string, unknown>[];
    expect(limit).to.deep.equal({
      name: 'limit',
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    });
    expect(cursor).to.include({ name: 'cursor', in: 'query', required: false });
    expect(cursor!.description).to.be.a('string').and.include('next_cursor');
  });

  it('declares what the platform answers around the handler, each where it can happen', () => {
    const document = buildOpenApiDocument(INFO, [createUser, getUser, verify]);
    const create = responsesOf(document, '/v1/users', 'post');
    expect(Object.keys(create)).to.deep.equal([
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '429',
      '503',
      'default',
    ]);
    expect(create['400']!.description).to.include('validation_failed');
    expect(create['401']!.description).to.include('bearer token');
    expect(create['403']!.description).to.equal("The token's role is not one of: admin");
    expect(create['415']!.description).to.equal('The body is not application/json');
    expect(create['429']!.description).to.include('Through the gateway');
    expect(create['503']!.description).to.include('Retry-After');
    // A route's own declaration wins; problems carry the Problem component, successes their schema.
    expect(create['409']).to.deep.equal({ description: 'Email in use', content: problem });
    expect(create['201']).to.deep.equal({
      description: 'Created',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/User' } } },
    });
    expect(create.default).to.deep.equal({
      description: 'Any other error, as an RFC 9457 problem',
      content: problem,
    });
    // No body: no 413 or 415; a path parameter: 400.
    expect(Object.keys(responsesOf(document, '/v1/users/{id}', 'get'))).to.deep.equal([
      '200',
      '400',
      '401',
      '403',
      '429',
      '503',
      'default',
    ]);
    expect(responsesOf(document, '/v1/users/{id}', 'get')['403']!.description).to.equal(
      "The token's role is not one of: admin, viewer",
    );
    // Internal: no gateway in front (no 429), a service token's own 403.
    const internal = responsesOf(document, '/internal/v1/credentials/verify', 'post');
    expect(Object.keys(internal)).to.deep.equal(['200', '400', '401', '403', '413', '415', '503', 'default']);
    expect(internal['403']!.description).to.include('service token');
    expect(internal['415']!.description).to.equal('The body is not application/x-www-form-urlencoded');
    expect(operation(document, '/internal/v1/credentials/verify', 'post')['x-service-scopes']).to.deep.equal([
      'users:verify-credentials',
    ]);
  });

  it('a success without a schema has no content; a public route that is not internal may still be refused', () => {
    const route: RouteSpec = {
      method: 'get',
      path: '/v1/open',
      operationId: 'open',
      summary: 'Open.',
      access: 'public',
      responses: { 204: { description: 'Nothing' } },
    };
    const responses = responsesOf(buildOpenApiDocument(INFO, [route]), '/v1/open', 'get');
    expect(responses['204']).to.deep.equal({ description: 'Nothing' });
    expect(Object.keys(responses)).to.deep.equal(['204', '429', '503', 'default']);
  });

  it('a declared client error without a schema is a problem; 403 for a mix of roles names them; 413 says why', () => {
    const route: RouteSpec = {
      ...createUser,
      access: ['service', 'admin'],
      responses: { 201: { description: 'Created', schema: 'User' }, 400: { description: 'Bad body' } },
    };
    const responses = responsesOf(buildOpenApiDocument(INFO, [route]), '/v1/users', 'post');
    expect(responses['400']).to.deep.equal({ description: 'Bad body', content: problem });
    expect(responses['403']!.description).to.equal("The token's role is not one of: service, admin");
    expect(responses['413']).to.deep.equal({
      description: 'The body is larger than the service accepts',
      content: problem,
    });
  });

  it('an internal public route with input may be refused as overloaded (503) but not rate limited (429)', () => {
    const route: RouteSpec = { ...getUser, path: '/internal/v1/users/:id', access: 'public', internal: true };
    const responses = responsesOf(buildOpenApiDocument(INFO, [route]), '/internal/v1/users/{id}', 'get');
    expect(Object.keys(responses)).to.deep.equal(['200', '400', '503', 'default']);
  });

  it('one route with a token among public ones brings the bearer scheme', () => {
    const document = buildOpenApiDocument(INFO, [health, getUser]);
    expect(Object.keys(document.components.securitySchemes)).to.deep.equal(['bearerAuth']);
  });

  it('puts the methods of one path together', () => {
    const document = buildOpenApiDocument(INFO, [getUser, deleteUser]);
    expect(Object.keys(document.paths)).to.deep.equal(['/v1/users/{id}']);
    expect(Object.keys(document.paths['/v1/users/{id}']!)).to.deep.equal(['get', 'delete']);
  });

  it('carries every contract it refers to, and those they refer to, sorted, without $id or $schema', () => {
    const document = buildOpenApiDocument(INFO, [createUser]);
    const schemas = document.components.schemas as Record<string, Record<string, unknown>>;
    expect(Object.keys(schemas)).to.deep.equal(['Problem', 'Role', 'User', 'UserCreateRequest']);
    for (const schema of Object.values(schemas)) expect(schema).not.to.have.any.keys('$id', '$schema');
    expect((schemas.User!.properties as Record<string, unknown>).role).to.deep.equal({
      $ref: '#/components/schemas/Role',
    });
    expect(schemas.Role!.enum).to.deep.equal(['admin', 'analyst', 'viewer']);
    expect(Object.keys(buildOpenApiDocument(INFO, [health]).components.schemas)).to.deep.equal([
      'Health',
      'Problem',
    ]);
  });
});
