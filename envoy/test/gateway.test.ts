import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connect as tlsConnect } from 'node:tls';
import {
  createTestCertificate,
  freePort,
  startEnvoy,
  type EnvoyProcess,
  type TestCertificate,
} from '../src/testing/envoy-process.ts';
import { API_DOCS_MERGED_FILE } from '../src/api-docs.ts';
import {
  API_DOCS,
  CORS_POLICY,
  LOGIN_ENDPOINT,
  PUBLIC_JWKS_ENDPOINT,
  RATE_LIMITS,
  STRIPPED_IDENTITY_HEADERS,
  type ServiceName,
} from '../src/gateway.ts';
import { localTarget, renderEnvoyConfig } from '../src/render-envoy-config.ts';
import {
  decodePayloadHeader,
  jsonObject,
  send,
  type GatewayResponse,
  type SendOptions,
} from './support/http-client.ts';
import { expectProblem } from './support/problem-assertions.ts';
import { startServiceStubs, type StubUpstream } from './support/stub-upstream.ts';
import { createTokenKit, type TokenKit } from './support/test-tokens.ts';

// Not the defaults, so a token minted for the default issuer or audience is a wrong one here.
const ISSUER = 'mrp-auth-gateway-test';
const AUDIENCE = 'mrp-platform-gateway-test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOGIN_LIMIT = RATE_LIMITS.loginPerClient.maxTokens;

describe('gateway (real Envoy, stub services)', function () {
  let envoy: EnvoyProcess | undefined;
  let port: number;
  let tokens: TokenKit;
  let token: string;
  const stubs = new Map<ServiceName, StubUpstream>();
  let servicePorts: Partial<Record<ServiceName, number>>;

  const stub = (name: ServiceName): StubUpstream => stubs.get(name)!;
  const recordedByAll = (): number =>
    [...stubs.values()].reduce((sum, each) => sum + each.requests.length, 0);
  const call = (options: SendOptions): Promise<GatewayResponse> => send(port, options);
  const authorized = (path: string, headers: Record<string, string> = {}): Promise<GatewayResponse> =>
    call({ path, headers: { authorization: `Bearer ${token}`, ...headers } });
  const login = (localAddress: string, headers: Record<string, string> = {}): Promise<GatewayResponse> =>
    call({
      method: LOGIN_ENDPOINT.method,
      path: LOGIN_ENDPOINT.path,
      localAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'grant_type=password&username=analyst%40example.com&password=analyst123',
    });

  before(async function () {
    tokens = await createTokenKit({ issuer: ISSUER, audience: AUDIENCE });
    token = await tokens.sign();
    const started = await startServiceStubs(tokens.jwks);
    for (const [name, upstream] of started.stubs) stubs.set(name, upstream);
    servicePorts = started.servicePorts;
    port = await freePort();
    const config = renderEnvoyConfig(
      localTarget({
        listenerPort: port,
        adminPort: await freePort(),
        servicePorts,
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    );
    envoy = await startEnvoy({ config });
  });

  after(async function () {
    await envoy?.stop();
    await Promise.all([...stubs.values()].map((upstream) => upstream.close()));
  });

  beforeEach(function () {
    for (const upstream of stubs.values()) upstream.reset();
  });

  describe('routing', function () {
    const cases: readonly (readonly [path: string, service: ServiceName])[] = [
      ['/v1/auth/sessions', 'auth-service'],
      ['/v1/users', 'user-service'],
      ['/v1/users/42?active=true', 'user-service'],
      ['/v1/cases/7', 'case-service'],
      ['/v2/cases?priority=high', 'case-service'],
      ['/v1/scoring/explanations/3', 'scoring-service'],
      ['/v1/audit/events?limit=5', 'audit-telemetry-service'],
    ];
    for (const [path, service] of cases) {
      it(`when the path is ${path}, it reaches ${service} with the path unchanged`, async function () {
        const response = await authorized(path);
        expect(response.status, response.text).to.equal(200);
        expect(jsonObject(response)).to.include({ service, path });
        expect(stub(service).requests.map((request) => request.url)).to.deep.equal([path]);
        expect(recordedByAll()).to.equal(1);
      });
    }

    it('when a path only shares a prefix with a route (/v1/usersX), it answers 404 problem+json and calls no service', async function () {
      const problem = expectProblem(await authorized('/v1/usersX'), 404);
      expect(problem.code).to.equal('not_found');
      expect(recordedByAll()).to.equal(0);
    });

    it('when the path is internal to a service (/internal/...), it answers 404 problem+json and calls no service', async function () {
      expectProblem(await authorized('/internal/users/credentials/verify'), 404);
      expect(recordedByAll()).to.equal(0);
    });

    it('when the path has dot segments and doubled slashes, it routes the normalized path', async function () {
      const response = await authorized('//v1//users/../cases/9');
      expect(response.status, response.text).to.equal(200);
      expect(stub('case-service').requests.map((request) => request.url)).to.deep.equal(['/v1/cases/9']);
      expect(stub('user-service').requests).to.be.empty;
    });

    it('when the path has an encoded slash, it answers 400 problem+json and calls no service', async function () {
      // Refused before Envoy would generate a request id, so only a client-sent one is echoed.
      const response = await authorized('/v1/users/a%2F..%2F..%2Finternal', { 'x-request-id': 'rid-400' });
      expect(expectProblem(response, 400).request_id).to.equal('rid-400');
      expect(recordedByAll()).to.equal(0);
    });

    it('when GET /healthz is called without a token, Envoy answers 200 JSON itself', async function () {
      const response = await call({ path: '/healthz' });
      expect(response.status).to.equal(200);
      expect(response.headers['content-type']).to.equal('application/json');
      expect(jsonObject(response)).to.include({ status: 'ok' });
      expect(recordedByAll()).to.equal(0);
    });
  });

  describe('the API reference, without a token', function () {
    const swaggerUi = join(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'), '..');

    it('GET /openapi.json answers the committed merged document as JSON, and calls no service', async function () {
      const response = await call({ path: '/openapi.json' });
      expect(response.status, response.text).to.equal(200);
      expect(response.headers['content-type']).to.equal('application/json');
      expect(response.headers['cache-control']).to.equal('no-cache');
      expect(response.text).to.equal(readFileSync(API_DOCS_MERGED_FILE, 'utf8'));
      expect(jsonObject(response)).to.have.property('openapi', '3.1.0');
      expect(recordedByAll()).to.equal(0);
    });

    it('GET /docs answers the HTML page with a policy that allows only this origin, and a query does not change it', async function () {
      for (const path of ['/docs', '/docs?deep=link']) {
        const response = await call({ path });
        expect(response.status, path).to.equal(200);
        expect(response.headers['content-type']).to.equal('text/html; charset=utf-8');
        expect(response.headers['content-security-policy']).to.include(
          "default-src 'none'; script-src 'self'",
        );
        expect(response.headers['x-content-type-options']).to.equal('nosniff');
        expect(response.text).to.include('<script src="docs/swagger-ui-bundle.js"></script>');
      }
      const init = await call({ path: '/docs/init.js' });
      expect(init.headers['content-type']).to.equal('text/javascript; charset=utf-8');
      expect(init.text).to.include("url: 'openapi.json'");
      expect(recordedByAll()).to.equal(0);
    });

    it("Swagger UI's script and styles are swagger-ui-dist's own files, gzip-encoded, with their content types", async function () {
      for (const [path, file, type] of [
        ['/docs/swagger-ui-bundle.js', 'swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
        ['/docs/swagger-ui.css', 'swagger-ui.css', 'text/css; charset=utf-8'],
      ] as const) {
        const response = await call({ path, headers: { 'accept-encoding': 'gzip' } });
        expect(response.status, path).to.equal(200);
        expect(response.headers['content-type'], path).to.equal(type);
        expect(response.headers['content-encoding'], path).to.equal('gzip');
        expect(response.headers['cache-control'], path).to.equal('public, max-age=86400');
        expect(gunzipSync(response.bytes).equals(readFileSync(join(swaggerUi, file))), path).to.equal(true);
      }
    });

    const stillProtected: readonly (readonly [method: string, path: string])[] = [
      ['POST', '/openapi.json'],
      ['DELETE', '/docs'],
      ['GET', '/docs/'],
      ['GET', '/docs/index.html'],
      ['GET', '/docs/../v1/users'],
      ['GET', '/openapi.jsonx'],
      ['GET', '/openapi.yaml'],
      ['GET', '/docsx'],
    ];
    for (const [method, path] of stillProtected) {
      it(`${method} ${path} without a token is still refused with 401 problem+json`, async function () {
        expectProblem(await call({ method, path }), 401);
        expect(recordedByAll()).to.equal(0);
      });
    }

    it('every API reference endpoint is public, and nothing else was made so', function () {
      expect(API_DOCS.endpoints.map((endpoint) => `${endpoint.method} ${endpoint.path}`)).to.deep.equal([
        'GET /openapi.json',
        'GET /docs',
        'GET /docs/init.js',
        'GET /docs/swagger-ui-bundle.js',
        'GET /docs/swagger-ui.css',
      ]);
    });
  });

  describe('authentication', function () {
    const refusals: readonly (readonly [what: string, authorization: () => Promise<string | undefined>])[] = [
      ['missing', () => Promise.resolve(undefined)],
      ['malformed', () => Promise.resolve('Bearer not-a-jwt')],
      ['not sent with the Bearer scheme', async () => `Token ${await tokens.sign()}`],
      ['signed by another key under the same kid', async () => `Bearer ${await tokens.signWithForeignKey()}`],
      ['expired (well past the clock skew)', async () => `Bearer ${await tokens.sign({ expiresIn: -600 })}`],
      ['from the wrong issuer', async () => `Bearer ${await tokens.sign({ iss: 'mrp-auth' })}`],
      ['for the wrong audience', async () => `Bearer ${await tokens.sign({ aud: 'mrp-platform' })}`],
      ['unsigned (alg: none)', () => Promise.resolve(`Bearer ${tokens.unsigned()}`)],
    ];
    for (const [what, authorization] of refusals) {
      it(`when the token is ${what}, it answers 401 problem+json with WWW-Authenticate and calls no service`, async function () {
        const value = await authorization();
        const response = await call({
          path: '/v1/users/42',
          headers: value === undefined ? {} : { authorization: value },
        });
        const problem = expectProblem(response, 401);
        expect(problem.code).to.equal('unauthorized');
        expect(response.headers['www-authenticate']).to.match(/^Bearer /);
        expect(recordedByAll()).to.equal(0);
      });
    }

    it('when the same token comes again, Envoy takes it from its cache of verified tokens; another token is verified on its own', async function () {
      const cacheStats = async (): Promise<Record<string, number>> => {
        const text = await (await fetch(`${envoy!.adminUrl}/stats?filter=jwt_cache_`)).text();
        return Object.fromEntries(
          text
            .trim()
            .split('\n')
            .map((line) => line.split(': '))
            .map(([name, value]) => [String(name).replace(/.*\./, ''), Number(value)]),
        );
      };
      const fresh = await tokens.sign({ sub: 'user-00000000-0000-4000-8000-00000000cafe' });
      const before = await cacheStats();
      for (let round = 0; round < 3; round += 1) {
        const response = await call({ path: '/v1/users/42', headers: { authorization: `Bearer ${fresh}` } });
        expect(response.status, response.text).to.equal(200);
      }
      const after = await cacheStats();
      // Each of Envoy's two worker threads has a cache of its own: the token is verified once by each
      // worker that sees it, and found in the cache after that.
      const misses = after.jwt_cache_miss! - before.jwt_cache_miss!;
      const hits = after.jwt_cache_hit! - before.jwt_cache_hit!;
      expect(misses + hits, 'every request looked in the cache').to.equal(3);
      expect(misses, 'verified by at most each worker').to.be.within(1, 2);
      expect(hits, 'found in the cache at least once').to.be.at.least(1);
      // A token that differs only in its signature is a different cache key: it is verified, and refused.
      const forged = `${fresh.slice(0, fresh.lastIndexOf('.'))}.${(await tokens.signWithForeignKey()).split('.')[2]}`;
      expectProblem(
        await call({ path: '/v1/users/42', headers: { authorization: `Bearer ${forged}` } }),
        401,
      );
    });

    it('when the token is valid, it reaches the service with Authorization intact and the verified claims in x-jwt-payload', async function () {
      const response = await authorized('/v1/users/42');
      expect(response.status, response.text).to.equal(200);
      const [received] = stub('user-service').requests;
      expect(received?.headers.authorization).to.equal(`Bearer ${token}`);
      const claims = decodePayloadHeader(received?.headers['x-jwt-payload']);
      expect(claims).to.include({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-00000000-0000-4000-8000-000000000001',
      });
      expect(claims.roles).to.deep.equal(['analyst']);
    });

    it('when a client sends identity headers with a valid token, only Envoy’s own x-jwt-payload reaches the service', async function () {
      const forged = Object.fromEntries(STRIPPED_IDENTITY_HEADERS.map((name) => [name, 'forged-admin']));
      forged['x-jwt-payload'] = Buffer.from(
        JSON.stringify({ sub: 'forged-admin', roles: ['admin'] }),
      ).toString('base64url');
      const response = await authorized('/v1/users/42', { ...forged, x_user_id: 'forged-admin' });
      expect(response.status, response.text).to.equal(200);
      const headers = stub('user-service').requests[0]?.headers ?? {};
      for (const name of STRIPPED_IDENTITY_HEADERS.filter((header) => header !== 'x-jwt-payload')) {
        expect(headers, name).not.to.have.property(name);
      }
      expect(headers).not.to.have.property('x_user_id');
      expect(JSON.stringify(headers)).not.to.include('forged-admin');
      expect(decodePayloadHeader(headers['x-jwt-payload']).sub).to.equal(
        'user-00000000-0000-4000-8000-000000000001',
      );
    });

    it('when a client sends identity headers to the public login endpoint, they are removed there too', async function () {
      const response = await login('127.0.0.3', {
        'x-jwt-payload': 'forged',
        'x-user-roles': 'admin',
        'x-forwarded-user': 'root',
      });
      expect(response.status, response.text).to.equal(200);
      const headers = stub('auth-service').requests[0]?.headers ?? {};
      expect(headers).not.to.have.any.keys('x-jwt-payload', 'x-user-roles', 'x-forwarded-user');
    });

    it('when logging in without a token, the request reaches auth-service with its body unchanged', async function () {
      const response = await login('127.0.0.3');
      expect(response.status, response.text).to.equal(200);
      expect(stub('auth-service').requests).to.have.lengthOf(1);
      expect(stub('auth-service').requests[0]).to.deep.include({
        method: 'POST',
        url: '/v1/auth/login',
        body: 'grant_type=password&username=analyst%40example.com&password=analyst123',
      });
    });

    it('when fetching the public JWKS without a token, it reaches auth-service', async function () {
      const response = await call({ method: PUBLIC_JWKS_ENDPOINT.method, path: PUBLIC_JWKS_ENDPOINT.path });
      expect(response.status, response.text).to.equal(200);
      expect(jsonObject(response)).to.deep.equal(tokens.jwks);
      expect(stub('auth-service').requests.map((request) => request.url)).to.deep.equal([
        PUBLIC_JWKS_ENDPOINT.path,
      ]);
    });

    it('when the login path is called with GET, it is not public and needs a token', async function () {
      expectProblem(await call({ path: LOGIN_ENDPOINT.path }), 401);
      expect(recordedByAll()).to.equal(0);
    });

    it('when dot segments lead from a public path to a protected one, a token is still required', async function () {
      expectProblem(await call({ path: '/v1/auth/.well-known/../../users/42' }), 401);
      expect(recordedByAll()).to.equal(0);
    });

    it('when no route matches and no token is sent, it answers 401 (deny by default, routes are not revealed)', async function () {
      expectProblem(await call({ path: '/internal/users/credentials/verify' }), 401);
      expect(recordedByAll()).to.equal(0);
    });
  });

  describe('request ids', function () {
    it('when the client sends no x-request-id, Envoy generates a UUID, forwards it and returns it', async function () {
      const response = await authorized('/v1/users');
      expect(response.status).to.equal(200);
      expect(response.headers['x-request-id']).to.match(UUID);
      expect(stub('user-service').requests[0]?.headers['x-request-id']).to.equal(
        response.headers['x-request-id'],
      );
    });

    it('when the client sends an x-request-id, it is kept, forwarded and returned', async function () {
      const response = await authorized('/v1/users', { 'x-request-id': 'client-chosen-id-1' });
      expect(response.status).to.equal(200);
      expect(response.headers['x-request-id']).to.equal('client-chosen-id-1');
      expect(stub('user-service').requests[0]?.headers['x-request-id']).to.equal('client-chosen-id-1');
    });

    it('when Envoy refuses a request (401), the problem and the header carry the request id', async function () {
      const generated = expectProblem(await call({ path: '/v1/users' }), 401);
      expect(generated.request_id).to.match(UUID);
      const kept = expectProblem(
        await call({ path: '/v1/users', headers: { 'x-request-id': 'rid-401' } }),
        401,
      );
      expect(kept.request_id).to.equal('rid-401');
    });

    it('when no route matches (404), the problem and the header carry the request id', async function () {
      const problem = expectProblem(await authorized('/v9/nowhere', { 'x-request-id': 'rid-404' }), 404);
      expect(problem.request_id).to.equal('rid-404');
    });

    it('when the rate limit refuses a request (429), the problem and the header carry the request id', async function () {
      let response: GatewayResponse | undefined;
      for (let attempt = 0; attempt <= LOGIN_LIMIT + 5 && response?.status !== 429; attempt += 1) {
        response = await login('127.0.0.20', { 'x-request-id': `rid-429-${attempt}` });
      }
      const problem = expectProblem(response!, 429);
      expect(problem.request_id).to.match(/^rid-429-\d+$/);
    });
  });

  describe('unavailable services', function () {
    it('when a service has no listener, it answers 503 problem+json with the request id', async function () {
      await stub('case-service').close();
      try {
        const problem = expectProblem(await authorized('/v1/cases', { 'x-request-id': 'rid-503' }), 503);
        expect(problem.code).to.equal('service_unavailable');
        expect(problem.request_id).to.equal('rid-503');
        // Envoy's reason names the connection failure; the client gets a stable sentence instead.
        expect(problem.detail).not.to.match(/reset|connect/i);
      } finally {
        await stub('case-service').listen();
      }
    });
  });

  describe('rate limits', function () {
    const firstClient = '127.0.0.10';
    let firstBurst: GatewayResponse[];

    before(async function () {
      firstBurst = [];
      for (let attempt = 0; attempt < 30; attempt += 1) firstBurst.push(await login(firstClient));
    });

    it('when one client sends a burst of 30 logins, the first 20 pass and the rest get 429 problem+json with x-ratelimit headers', function () {
      expect(firstBurst.slice(0, LOGIN_LIMIT).map((response) => response.status)).to.deep.equal(
        Array(LOGIN_LIMIT).fill(200),
      );
      const refused = firstBurst.filter((response) => response.status === 429);
      // The bucket refills continuously (20 a minute), so one more may slip through during the burst.
      expect(refused.length).to.be.within(30 - LOGIN_LIMIT - 1, 30 - LOGIN_LIMIT);
      expect(firstBurst.every((response) => response.status === 200 || response.status === 429)).to.be.true;
      for (const response of refused) {
        expectProblem(response, 429);
        expect(response.headers['x-ratelimit-limit']).to.equal(String(LOGIN_LIMIT));
        expect(response.headers['x-ratelimit-remaining']).to.equal('0');
        expect(response.headers['x-ratelimit-reset']).to.match(/^\d+$/);
      }
    });

    it('when the same burst comes from another client address, it is limited independently', async function () {
      const secondBurst: GatewayResponse[] = [];
      for (let attempt = 0; attempt < 30; attempt += 1) secondBurst.push(await login('127.0.0.11'));
      expect(secondBurst.slice(0, LOGIN_LIMIT).map((response) => response.status)).to.deep.equal(
        Array(LOGIN_LIMIT).fill(200),
      );
      expect(secondBurst.filter((response) => response.status === 429).length).to.be.at.least(
        30 - LOGIN_LIMIT - 1,
      );
    });

    it('when a limited client calls an ordinary authenticated route, the login bucket does not apply', async function () {
      expect((await login(firstClient)).status).to.equal(429);
      const response = await call({
        path: '/v1/users',
        localAddress: firstClient,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status, response.text).to.equal(200);
      expect(response.headers['x-ratelimit-limit']).to.equal(String(RATE_LIMITS.gateway.maxTokens));
    });

    it('when a client claims other addresses in X-Forwarded-For, it is still limited by its real address', async function () {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 30; attempt += 1) {
        statuses.push((await login('127.0.0.12', { 'x-forwarded-for': `203.0.113.${attempt + 1}` })).status);
      }
      expect(statuses.filter((status) => status === 429).length).to.be.at.least(30 - LOGIN_LIMIT - 1);
    });

    it('when a login is refused by the limit, auth-service never sees it', async function () {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 5; attempt += 1) statuses.push((await login(firstClient)).status);
      expect(statuses.filter((status) => status === 429)).to.have.length.of.at.least(4);
      expect(stub('auth-service').requests).to.have.lengthOf(
        statuses.filter((status) => status === 200).length,
      );
    });
  });

  describe('TLS on the listener', function () {
    let tlsEnvoy: EnvoyProcess | undefined;
    let tlsPort: number;
    let certificate: TestCertificate;

    before(async function () {
      certificate = await createTestCertificate();
      tlsPort = await freePort();
      tlsEnvoy = await startEnvoy({
        config: renderEnvoyConfig(
          localTarget({
            listenerPort: tlsPort,
            adminPort: await freePort(),
            servicePorts,
            issuer: ISSUER,
            audience: AUDIENCE,
            tls: certificate,
          }),
        ),
      });
    });

    after(async function () {
      await tlsEnvoy?.stop();
      await certificate.remove();
    });

    const httpsGet = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: tlsPort, path, ca: certificate.pem, servername: 'localhost', headers },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, body });
            });
          },
        );
        req.on('error', reject);
        req.end();
      });

    it('when TLS is on, the gateway answers HTTPS with its certificate, and routes with the token as before', async function () {
      const health = await httpsGet('/healthz');
      expect(health.status).to.equal(200);
      const users = await httpsGet('/v1/users', { authorization: `Bearer ${token}` });
      expect(users.status, users.body).to.equal(200);
      expect(stub('user-service').requests).to.have.length(1);
    });

    it('when TLS is on, HTTP/2 is offered by ALPN', async function () {
      const { protocol } = await new Promise<{ protocol: string | false | null }>((resolve, reject) => {
        const socket = tlsConnect(
          {
            host: '127.0.0.1',
            port: tlsPort,
            ca: certificate.pem,
            servername: 'localhost',
            ALPNProtocols: ['h2', 'http/1.1'],
          },
          () => {
            resolve({ protocol: socket.alpnProtocol });
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      expect(protocol).to.equal('h2');
    });

    it('when TLS is on, a plain HTTP request gets no HTTP answer', async function () {
      const plain = await send(tlsPort, { path: '/healthz' }).then(
        (response) => response.status,
        () => 'no answer',
      );
      expect(plain).to.not.equal(200);
    });
  });

  describe('CORS', function () {
    const ALLOWED = 'https://app.example.com';
    let withCors: EnvoyProcess | undefined;
    let corsPort: number;
    const preflight = (target: number, origin: string): Promise<GatewayResponse> =>
      send(target, {
        method: 'OPTIONS',
        path: '/v1/cases',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });

    before(async function () {
      corsPort = await freePort();
      withCors = await startEnvoy({
        config: renderEnvoyConfig(
          localTarget({
            listenerPort: corsPort,
            adminPort: await freePort(),
            servicePorts,
            issuer: ISSUER,
            audience: AUDIENCE,
            corsAllowedOrigins: [ALLOWED],
          }),
        ),
      });
    });

    after(async function () {
      await withCors?.stop();
    });

    it('when no origin is allowed (the default), a preflight gets no CORS header and needs a token like any call', async function () {
      const response = await preflight(port, ALLOWED);
      expectProblem(response, 401);
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).to.be.empty;
      const answer = await authorized('/v1/users', { origin: ALLOWED });
      expect(answer.status).to.equal(200);
      expect(answer.headers['access-control-allow-origin']).to.equal(undefined);
    });

    it('when the origin is allowed, Envoy answers its preflight itself, without a token, and no service sees it', async function () {
      const response = await preflight(corsPort, ALLOWED);
      expect(response.status).to.equal(200);
      expect(response.headers['access-control-allow-origin']).to.equal(ALLOWED);
      expect(response.headers['access-control-allow-methods']).to.equal(CORS_POLICY.allowMethods.join(','));
      expect(response.headers['access-control-allow-headers']).to.equal(CORS_POLICY.allowHeaders.join(','));
      expect(response.headers['access-control-max-age']).to.equal(String(CORS_POLICY.maxAgeSeconds));
      expect(response.headers['access-control-allow-credentials']).to.equal(undefined);
      expect(recordedByAll()).to.equal(0);
    });

    it('when the origin is allowed, an authorized call is answered with its origin and the headers a page may read', async function () {
      const response = await send(corsPort, {
        path: '/v1/users',
        headers: { origin: ALLOWED, authorization: `Bearer ${token}` },
      });
      expect(response.status).to.equal(200);
      expect(response.headers['access-control-allow-origin']).to.equal(ALLOWED);
      expect(response.headers['access-control-expose-headers']).to.include('x-request-id');
    });

    for (const origin of [
      'https://evil.example.com',
      'https://app.example.com.evil.example',
      'http://app.example.com',
    ]) {
      it(`when the origin is ${origin}, which is not on the list, nothing says it may read the answer`, async function () {
        const response = await preflight(corsPort, origin);
        expect(response.headers['access-control-allow-origin']).to.equal(undefined);
        expectProblem(response, 401);
        const call = await send(corsPort, {
          path: '/v1/users',
          headers: { origin, authorization: `Bearer ${token}` },
        });
        expect(call.status).to.equal(200);
        expect(call.headers['access-control-allow-origin']).to.equal(undefined);
      });
    }
  });

  describe('behind a trusted proxy (trustedProxyHops: 1)', function () {
    let behind: EnvoyProcess | undefined;
    let behindPort: number;
    const loginVia = (forwardedFor: string): Promise<GatewayResponse> =>
      send(behindPort, {
        method: LOGIN_ENDPOINT.method,
        path: LOGIN_ENDPOINT.path,
        // Every request comes from the proxy's one address, as behind a load balancer.
        localAddress: '127.0.0.20',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
        body: 'grant_type=password&username=analyst%40example.com&password=analyst123',
      });

    before(async function () {
      behindPort = await freePort();
      behind = await startEnvoy({
        config: renderEnvoyConfig(
          localTarget({
            listenerPort: behindPort,
            adminPort: await freePort(),
            servicePorts,
            issuer: ISSUER,
            audience: AUDIENCE,
            trustedProxyHops: 1,
          }),
        ),
      });
    });

    after(async function () {
      await behind?.stop();
    });

    it('when the clients behind the proxy differ, each has its own login bucket, though all come from one address', async function () {
      const statuses: number[] = [];
      for (let client = 1; client <= 30; client += 1)
        statuses.push((await loginVia(`198.51.100.${client}`)).status);
      expect(statuses).to.deep.equal(Array(30).fill(200));
    });

    it('when one client behind the proxy bursts, it is limited, whatever it puts in front of the address the proxy appended', async function () {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 30; attempt += 1) {
        // The client forged the first entry; the proxy appended the address it saw, the last one.
        statuses.push((await loginVia(`203.0.113.${attempt + 1}, 198.51.100.200`)).status);
      }
      expect(statuses.slice(0, LOGIN_LIMIT)).to.deep.equal(Array(LOGIN_LIMIT).fill(200));
      expect(statuses.filter((status) => status === 429).length).to.be.at.least(30 - LOGIN_LIMIT - 1);
    });
  });

  describe('access log', function () {
    it('when a request is served, one JSON line records it with id, method, path, status, timing, upstream, flags, client and bytes', async function () {
      await authorized('/v1/users/7?expand=roles', {
        'x-request-id': 'rid-log-200',
        'user-agent': 'gateway-test/1.0',
      });
      const entry = await envoy!.waitForAccessLog((line) => line.request_id === 'rid-log-200');
      expect(entry).to.include({
        method: 'GET',
        path: '/v1/users/7?expand=roles',
        status: 200,
        upstream_cluster: 'user-service',
        upstream_host: `127.0.0.1:${stub('user-service').port}`,
        response_flags: '-',
        client_address: '127.0.0.1',
        user_agent: 'gateway-test/1.0',
        user_sub: 'user-00000000-0000-4000-8000-000000000001',
      });
      expect(entry.duration_ms).to.be.a('number');
      expect(entry.bytes_sent).to.be.a('number').above(0);
      expect(entry.bytes_received).to.be.a('number');
      expect(new Date(String(entry.time)).toString()).not.to.equal('Invalid Date');
    });

    it('when a request is refused, its line says why', async function () {
      await call({ path: '/v1/users', headers: { 'x-request-id': 'rid-log-401' } });
      const entry = await envoy!.waitForAccessLog((line) => line.request_id === 'rid-log-401');
      expect(entry.status).to.equal(401);
      expect(entry.response_code_details).to.equal('jwt_authn_access_denied{Jwt_is_missing}');
    });
  });
});
