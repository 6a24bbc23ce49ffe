import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { requestFrom, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { contract, request, type HttpResult } from '../support/http.ts';
import { buildUser } from '../support/factories.ts';
import { login, type RoleName } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { badTokens } from '../support/tokens.ts';

describe('the platform through the real Envoy', () => {
  let gateway: TestGateway;
  let tokens: Record<RoleName, string>;

  before(async () => {
    gateway = await startTestGateway();
    tokens = {
      admin: await login(gateway.url, 'admin'),
      analyst: await login(gateway.url, 'analyst'),
      viewer: await login(gateway.url, 'viewer'),
    };
  });

  after(async () => {
    await gateway.stop();
  });

  /** Every line the services logged for a request ID. */
  const serviceLogLines = (requestId: string) => [
    ...gateway.platform.logs.auth.forRequest(requestId),
    ...gateway.platform.logs.user.forRequest(requestId),
  ];

  describe('JWT enforcement at the edge', () => {
    it('answers 401 for no token and for each bad token, without the request reaching a service', async () => {
      const cases: Record<string, string | undefined> = {
        'no token': undefined,
        ...(await badTokens(gateway.platform.keysDir)),
      };
      for (const [name, token] of Object.entries(cases)) {
        const requestId = `e2e-${randomUUID()}`;
        const result = await request(`${gateway.url}/v1/users`, {
          token,
          headers: { 'x-request-id': requestId },
        });
        expect(result.status, name).to.equal(401);
        expectProblem(result, 401);
        expect(result.headers.get('x-request-id'), name).to.equal(requestId);
        const logged = await gateway.envoy.waitForAccessLog((entry) => entry.request_id === requestId);
        expect(logged.upstream_host, name).to.equal(null);
        expect(serviceLogLines(requestId), name).to.deep.equal([]);
      }
    });

    it('the same tokens sent straight to the service port are refused too', async () => {
      const cases: Record<string, string | undefined> = {
        'no token': undefined,
        ...(await badTokens(gateway.platform.keysDir)),
      };
      for (const [name, token] of Object.entries(cases)) {
        const result = await request(`${gateway.platform.userUrl}/v1/users`, { token });
        expect(result.status, name).to.equal(401);
      }
    });

    it('a valid token reaches the service, which sees the same request ID', async () => {
      const requestId = `e2e-${randomUUID()}`;
      const result = await request(`${gateway.url}/v1/users`, {
        token: tokens.analyst,
        headers: { 'x-request-id': requestId },
      });
      expect(result.status).to.equal(200);
      const line = gateway.platform.logs.user
        .forRequest(requestId)
        .find((entry) => entry.message === 'request completed');
      expect(line).to.include({ service_name: 'user-service', status_code: 200 });
    });

    it('a service token is refused at the gateway (401), on every route, though the services accept it', async () => {
      // auth-service's own: the one that may call the credential check.
      const { token } = await gateway.platform.auth.tokens.issueServiceToken('auth-service');
      for (const path of ['/v1/users', '/v1/cases', '/v1/audit']) {
        const result = await request(`${gateway.url}${path}`, { token });
        expectProblem(result, 401);
      }
      const direct = await request(`${gateway.platform.userUrl}/internal/v1/credentials/verify`, {
        method: 'POST',
        token,
        json: { email: 'viewer@example.com', password: 'viewer123' },
      });
      expect(direct.status, direct.text).to.equal(200);
    });

    it('the internal credential check is not routed by the gateway', async () => {
      const result = await request(`${gateway.url}/internal/v1/credentials/verify`, {
        method: 'POST',
        token: tokens.admin,
        json: { email: 'admin@example.com', password: 'admin123' },
      });
      expectProblem(result, 404);
    });
  });

  describe('RBAC', () => {
    const forged = {
      'x-jwt-payload': Buffer.from(JSON.stringify({ sub: 'x', roles: ['admin'] })).toString('base64url'),
      'x-user-roles': 'admin',
      'x-user-id': randomUUID(),
    };

    for (const role of ['analyst', 'viewer'] as const) {
      it(`a ${role} cannot create, update or delete users, even with identity headers of their own`, async () => {
        const created = await request(`${gateway.url}/v1/users`, {
          method: 'POST',
          token: tokens.admin,
          json: buildUser(),
        });
        const { id } = contract('User', created.body);
        const token = tokens[role];
        expectProblem(
          await request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token,
            headers: forged,
            json: buildUser(),
          }),
          403,
        );
        expectProblem(
          await request(`${gateway.url}/v1/users/${id}`, {
            method: 'PATCH',
            token,
            headers: forged,
            json: { role: 'admin' },
          }),
          403,
        );
        expectProblem(
          await request(`${gateway.url}/v1/users/${id}`, { method: 'DELETE', token, headers: forged }),
          403,
        );
        const after = await request(`${gateway.url}/v1/users/${id}`, { token: tokens.admin });
        expect(after.body).to.deep.equal(created.body);
      });
    }

    it('admins and analysts read the directory; a viewer is refused it (403) and reads only their own account', async () => {
      for (const token of [tokens.admin, tokens.analyst])
        expect((await request(`${gateway.url}/v1/users`, { token })).status).to.equal(200);
      expectProblem(await request(`${gateway.url}/v1/users`, { token: tokens.viewer }), 403);
      const [, payload] = tokens.viewer.split('.');
      const { sub } = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as { sub: string };
      const own = await request(`${gateway.url}/v1/users/${sub}`, { token: tokens.viewer });
      expect(own.status).to.equal(200);
      expect(contract('User', own.body).email).to.equal('viewer@example.com');
    });
  });

  describe('login', () => {
    it('a wrong password and an unknown user get the same answer', async () => {
      const attempt = async (username: string) => {
        const result = await request(`${gateway.url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username, password: 'wrong-password' }).toString(),
        });
        const { request_id: _ignored, ...rest } = contract('OAuthError', result.body);
        return { status: result.status, body: rest };
      };
      const [wrongPassword, unknownUser] = [
        await attempt('admin@example.com'),
        await attempt('nobody@example.com'),
      ];
      expect(wrongPassword.status).to.equal(400);
      expect(wrongPassword).to.deep.equal(unknownUser);
    });

    it('a burst of logins from one client gets 429 with rate-limit headers; other clients are unaffected', async () => {
      // A new username each time: auth-service's own per-account back-off must not be what answers 429.
      const loginFrom = (address: string) =>
        requestFrom(address, `${gateway.url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `username=nobody-${randomUUID()}@example.com&password=not-the-password`,
        });
      const burst = [];
      for (let i = 0; i < 30; i += 1) burst.push(await loginFrom('127.0.0.9'));
      const limited = burst.filter((result) => result.status === 429);
      expect(limited.length).to.be.at.least(10);
      const first = limited[0]!;
      expect(first.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(first.headers['x-ratelimit-limit']).to.be.a('string');
      expect(first.headers['x-ratelimit-remaining']).to.equal('0');
      expect(contract('Problem', JSON.parse(first.body)).request_id).to.equal(first.headers['x-request-id']);
      // Another client address still gets an answer from auth-service.
      expect((await loginFrom('127.0.0.10')).status).to.equal(400);
    });

    it('no variant of the login path reaches the login handler past the login limit, even with a token', async () => {
      for (const path of ['/v1/auth/login/', '/v1/auth/LOGIN', '/v1/auth/Login/']) {
        for (let attempt = 0; attempt < 25; attempt += 1) {
          const result = await request(`${gateway.url}${path}`, {
            method: 'POST',
            token: tokens.viewer,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ username: 'admin@example.com', password: 'guess' }).toString(),
          });
          // Past the gateway's JWT check, auth-service matches paths exactly: not found, not a login answer.
          expectProblem(result, 404);
        }
      }
    });
  });

  describe('edge headers', () => {
    it('every answer says nosniff; an API answer is no-store, the gateway’s own refusals included; the JWKS keeps its caching', async () => {
      const answers: [string, HttpResult][] = [
        ['200 from a service', await request(`${gateway.url}/v1/users`, { token: tokens.analyst })],
        ['401 from the gateway', await request(`${gateway.url}/v1/users`)],
        [
          '404 from a service',
          await request(`${gateway.url}/v1/users/${randomUUID()}`, { token: tokens.analyst }),
        ],
        ['404 from the gateway', await request(`${gateway.url}/nowhere`, { token: tokens.viewer })],
        ['the gateway healthz', await request(`${gateway.url}/healthz`)],
      ];
      for (const [name, result] of answers) {
        expect(result.headers.get('x-content-type-options'), name).to.equal('nosniff');
        expect(result.headers.get('cache-control'), name).to.equal('no-store');
      }
      const jwks = await request(`${gateway.url}/v1/auth/.well-known/jwks.json`);
      expect(jwks.status).to.equal(200);
      expect(jwks.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(jwks.headers.get('cache-control')).to.match(/max-age=\d+/);
    });

    it('a service answers nosniff, and no-store to an authenticated request, even reached without the gateway', async () => {
      const direct = await request(`${gateway.platform.userUrl}/v1/users`, { token: tokens.analyst });
      expect(direct.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(direct.headers.get('cache-control')).to.equal('no-store');
      const health = await request(`${gateway.platform.userUrl}/healthz`);
      expect(health.headers.get('x-content-type-options')).to.equal('nosniff');
    });
  });

  describe('request IDs', () => {
    it('are generated when absent and returned on 200, 401, 404 and 503 answers', async () => {
      const answers = [
        await request(`${gateway.url}/v1/users`, { token: tokens.analyst }),
        await request(`${gateway.url}/v1/users`),
        await request(`${gateway.url}/nowhere`, { token: tokens.viewer }),
        await request(`${gateway.url}/v1/cases`, { token: tokens.viewer }),
      ];
      expect(answers.map((answer) => answer.status)).to.deep.equal([200, 401, 404, 503]);
      for (const answer of answers) expect(answer.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    });

    it('a generated ID is the one the service logs', async () => {
      const result = await request(`${gateway.url}/v1/users`, { token: tokens.analyst });
      const requestId = result.headers.get('x-request-id')!;
      expect(gateway.platform.logs.user.forRequest(requestId)).to.have.length.at.least(1);
    });
  });

  describe('services that are down', () => {
    it('answer 503 problem+json at the gateway (here case, scoring and audit have no listener)', async () => {
      for (const path of ['/v1/cases', '/v2/cases', '/v1/scoring/score', '/v1/audit']) {
        expectProblem(await request(`${gateway.url}${path}`, { token: tokens.viewer }), 503);
      }
    });
  });

  describe('bad input through the gateway is a 4xx problem, never a 5xx', () => {
    const cases: [string, () => Promise<HttpResult>, number][] = [
      [
        'malformed JSON',
        () =>
          request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token: tokens.admin,
            body: '{"email":',
            headers: { 'content-type': 'application/json' },
          }),
        400,
      ],
      [
        'wrong content type',
        () =>
          request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token: tokens.admin,
            body: 'x',
            headers: { 'content-type': 'text/plain' },
          }),
        415,
      ],
      [
        'unknown field',
        () =>
          request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token: tokens.admin,
            json: buildUser({ extra: 1 }),
          }),
        400,
      ],
      [
        'invalid email',
        () =>
          request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token: tokens.admin,
            json: buildUser({ email: 'x' }),
          }),
        400,
      ],
      ['non-UUID id', () => request(`${gateway.url}/v1/users/123`, { token: tokens.admin }), 400],
      ['bad pagination', () => request(`${gateway.url}/v1/users?limit=1000`, { token: tokens.admin }), 400],
      [
        'oversized body',
        () =>
          request(`${gateway.url}/v1/users`, {
            method: 'POST',
            token: tokens.admin,
            json: buildUser({ full_name: 'x'.repeat(300_000) }),
          }),
        413,
      ],
    ];
    for (const [name, send, status] of cases) {
      it(`${name}: ${status}`, async () => {
        expectProblem(await send(), status);
      });
    }

    it('a duplicate email is 409 and the first user is unchanged', async () => {
      const first = await request(`${gateway.url}/v1/users`, {
        method: 'POST',
        token: tokens.admin,
        json: buildUser(),
      });
      const body = contract('User', first.body);
      expectProblem(
        await request(`${gateway.url}/v1/users`, {
          method: 'POST',
          token: tokens.admin,
          json: buildUser({ email: body.email, full_name: 'Other' }),
        }),
        409,
        'email_taken',
      );
      expect(
        (await request(`${gateway.url}/v1/users/${body.id}`, { token: tokens.admin })).body,
      ).to.deep.equal(body);
    });
  });
});
