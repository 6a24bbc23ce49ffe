import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createAuthService, generateSigningKeyPem, loadAuthServiceConfig } from '@mrp/auth-service';
import { createLogger, listen } from '@mrp/platform';
import type { OAuthError } from '@mrp/schemas';
import { contract, request, type HttpResult } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { AUDIENCE, ISSUER, login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { badTokens, signerFor } from '../support/tokens.ts';

const form = (fields: Record<string, string> | string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
});

function expectOAuthError(result: HttpResult, status: number, error: OAuthError['error']): OAuthError {
  expect(result.status, result.text).to.equal(status);
  expect(result.headers.get('content-type')).to.match(/^application\/json/);
  expect(result.headers.get('cache-control')).to.equal('no-store');
  const body = contract('OAuthError', result.body);
  expect(body.error).to.equal(error);
  expect(body.error_description).to.be.a('string').and.not.empty;
  expect(body.request_id).to.equal(result.headers.get('x-request-id'));
  return body;
}

describe('auth-service (in-process, real user-service and Postgres)', () => {
  let platform: TestPlatform;
  let loginUrl: string;

  before(async () => {
    platform = await startTestPlatform();
    loginUrl = `${platform.authUrl}/v1/auth/login`;
  });

  after(async () => {
    await platform.stop();
  });

  describe('POST /v1/auth/login', () => {
    it('answers an RFC 6749 token response with a short-lived ES256 token carrying iss, aud, sub, roles, jti and kid', async () => {
      const result = await request(loginUrl, form({ username: 'admin@example.com', password: 'admin123' }));
      expect(result.status, result.text).to.equal(200);
      expect(result.headers.get('cache-control')).to.equal('no-store');
      const body = contract('TokenResponse', result.body);
      expect(body).to.include({ token_type: 'Bearer', expires_in: 900 });
      const token = body.access_token;
      const header = decodeProtectedHeader(token);
      const claims = decodeJwt(token);
      expect(header.alg).to.equal('ES256');
      expect(header.kid).to.equal(platform.auth.keys.signing.kid);
      expect(claims).to.include({ iss: ISSUER, aud: AUDIENCE });
      expect(claims.sub).to.match(/^[0-9a-f-]{36}$/);
      expect(claims.roles).to.deep.equal(['admin']);
      expect(claims.jti).to.be.a('string').and.not.empty;
      expect(claims.exp! - claims.iat!).to.equal(900);
    });

    it('is matched exactly: a trailing slash or another case is 404, never the login handler', async () => {
      for (const path of ['/v1/auth/login/', '/v1/auth/LOGIN', '/v1/Auth/login', '/V1/auth/login']) {
        const result = await request(
          `${platform.authUrl}${path}`,
          form({ username: 'admin@example.com', password: 'admin123' }),
        );
        expectProblem(result, 404);
      }
    });

    it('after five wrong passwords for one account, answers 429 with Retry-After without checking the password; others are unaffected; the wait ends', async function () {
      this.timeout(20_000);
      const attempt = (username: string, password: string) => request(loginUrl, form({ username, password }));
      for (let failure = 0; failure < 5; failure += 1)
        expectOAuthError(await attempt('analyst@example.com', 'not-it'), 400, 'invalid_grant');
      // Even the right password is refused while the account waits: no guess is checked meanwhile.
      const refused = await attempt('ANALYST@example.com', 'analyst123');
      expectProblem(refused, 429, 'rate_limited');
      expect(refused.headers.get('retry-after')).to.equal('1');
      // Another account logs in as usual.
      expect((await attempt('viewer@example.com', 'viewer123')).status).to.equal(200);
      // After the wait, the owner logs in, and the account starts afresh.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await attempt('analyst@example.com', 'analyst123')).status).to.equal(200);
      expectOAuthError(await attempt('analyst@example.com', 'not-it'), 400, 'invalid_grant');
    });

    it('accepts an explicit grant_type=password', async () => {
      const result = await request(
        loginUrl,
        form({ grant_type: 'password', username: 'viewer@example.com', password: 'viewer123' }),
      );
      expect(result.status).to.equal(200);
      expect(decodeJwt(contract('TokenResponse', result.body).access_token).roles).to.deep.equal(['viewer']);
    });

    it('a wrong password and an unknown user get the same answer', async () => {
      const wrongPassword = expectOAuthError(
        await request(loginUrl, form({ username: 'admin@example.com', password: 'nope-nope' })),
        400,
        'invalid_grant',
      );
      const unknownUser = expectOAuthError(
        await request(loginUrl, form({ username: 'ghost@example.com', password: 'nope-nope' })),
        400,
        'invalid_grant',
      );
      const { request_id: _a, ...first } = wrongPassword;
      const { request_id: _b, ...second } = unknownUser;
      expect(first).to.deep.equal(second);
    });

    const invalidRequests: [string, ReturnType<typeof form>][] = [
      ['a missing password', form({ username: 'admin@example.com' })],
      ['a missing username', form({ password: 'admin123' })],
      ['an empty body', form('')],
      ['a repeated parameter', form('username=admin@example.com&password=admin123&password=other')],
    ];
    for (const [name, options] of invalidRequests) {
      it(`${name} is invalid_request`, async () => {
        expectOAuthError(await request(loginUrl, options), 400, 'invalid_request');
      });
    }

    it('a JSON body is invalid_request (the grant is form-encoded)', async () => {
      expectOAuthError(
        await request(loginUrl, {
          method: 'POST',
          json: { username: 'admin@example.com', password: 'admin123' },
        }),
        400,
        'invalid_request',
      );
    });

    it('another grant type is unsupported_grant_type', async () => {
      expectOAuthError(
        await request(loginUrl, form({ grant_type: 'client_credentials', username: 'a', password: 'b' })),
        400,
        'unsupported_grant_type',
      );
    });

    it('when user-service cannot be reached, login answers 503 temporarily_unavailable', async () => {
      const config = loadAuthServiceConfig({
        APP_ENV: 'test',
        AUTH_DEV_KEYS_DIR: platform.keysDir,
        USER_SERVICE_URL: `http://127.0.0.1:${await freePort()}`,
      });
      const lonely = await createAuthService(
        config,
        createLogger({ serviceName: 'auth-service', level: 'silent' }),
      );
      const server = await listen(lonely.service, 0);
      try {
        const result = await request(
          `${server.url}/v1/auth/login`,
          form({ username: 'admin@example.com', password: 'admin123' }),
        );
        expectOAuthError(result, 503, 'temporarily_unavailable');
      } finally {
        await server.close(100);
      }
    });
  });

  describe('POST /internal/v1/token (client credentials for services)', () => {
    const tokenUrl = () => `${platform.authUrl}/internal/v1/token`;

    it('issues a short-lived service token to a registered client', async () => {
      const result = await request(
        tokenUrl(),
        form({
          grant_type: 'client_credentials',
          client_id: 'case-service',
          client_secret: 'dev-case-service-secret',
        }),
      );
      expect(result.status, result.text).to.equal(200);
      const claims = decodeJwt(contract('TokenResponse', result.body).access_token);
      // The services' own audience, which the gateway does not accept: service tokens are for calls
      // between services only.
      expect(claims).to.include({ sub: 'service:case-service', iss: ISSUER, aud: 'mrp-services' });
      expect(claims.aud).not.to.equal(AUDIENCE);
      expect(claims.roles).to.deep.equal(['service']);
      // Only what case-service does with it: score cases (SERVICE_CLIENT_SCOPES).
      expect(claims.scope).to.equal('scoring:score');
      expect(claims.exp! - claims.iat!).to.equal(60);
    });

    it('refuses a wrong secret or an unknown client with 401 invalid_client', async () => {
      for (const [clientId, secret] of [
        ['case-service', 'not-the-secret'],
        ['ghost-service', 'dev-case-service-secret'],
      ]) {
        const result = await request(
          tokenUrl(),
          form({ grant_type: 'client_credentials', client_id: clientId!, client_secret: secret! }),
        );
        expectOAuthError(result, 401, 'invalid_client');
      }
    });

    it('refuses another grant type and a missing secret', async () => {
      expectOAuthError(
        await request(
          tokenUrl(),
          form({ grant_type: 'password', client_id: 'case-service', client_secret: 'x' }),
        ),
        400,
        'unsupported_grant_type',
      );
      expectOAuthError(
        await request(tokenUrl(), form({ grant_type: 'client_credentials', client_id: 'case-service' })),
        400,
        'invalid_request',
      );
    });
  });

  describe('JWKS', () => {
    it('publishes the signing key at the well-known path and under /v1/auth', async () => {
      const direct = await request(`${platform.authUrl}/.well-known/jwks.json`);
      const routed = await request(`${platform.authUrl}/v1/auth/.well-known/jwks.json`);
      expect(direct.status).to.equal(200);
      expect(routed.body).to.deep.equal(direct.body);
      const { keys } = contract('Jwks', direct.body);
      expect(keys).to.have.length(1);
      expect(keys[0]).to.include({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
        kid: platform.auth.keys.signing.kid,
      });
      expect(keys[0]).not.to.have.property('d');
    });

    it('keeps the same development key across restarts, so issued tokens stay valid', async () => {
      const config = loadAuthServiceConfig({ APP_ENV: 'test', AUTH_DEV_KEYS_DIR: platform.keysDir });
      const restarted = await createAuthService(
        config,
        createLogger({ serviceName: 'auth-service', level: 'silent' }),
      );
      expect(restarted.keys.signing.kid).to.equal(platform.auth.keys.signing.kid);
    });
  });

  describe('token verification on a service port', () => {
    it('refuses each bad token with 401 problem+json', async () => {
      const tokens = await badTokens(platform.keysDir);
      for (const [name, token] of Object.entries(tokens)) {
        const result = await request(`${platform.userUrl}/v1/users`, { token });
        expect(result.status, name).to.equal(401);
        expectProblem(result, 401, 'unauthorized');
        expect(result.headers.get('www-authenticate'), name).to.match(/^Bearer /);
      }
    });

    it('accepts a token from the real key, so the refusals above are about their one defect', async () => {
      const sign = await signerFor(join(platform.keysDir, 'auth-signing-key.pem'));
      expect(
        (await request(`${platform.userUrl}/v1/users`, { token: await sign({ roles: ['analyst'] }) })).status,
      ).to.equal(200);
    });

    it('a token without the role a route needs is 403, and a user token cannot call the internal credential check', async () => {
      const admin = await login(platform.authUrl, 'admin');
      const result = await request(`${platform.userUrl}/internal/v1/credentials/verify`, {
        method: 'POST',
        token: admin,
        json: { email: 'admin@example.com', password: 'admin123' },
      });
      expectProblem(result, 403, 'forbidden');
    });

    it("auth-service's own service token can call the credential check", async () => {
      const { token } = await platform.auth.tokens.issueServiceToken('auth-service');
      const result = await request(`${platform.userUrl}/internal/v1/credentials/verify`, {
        method: 'POST',
        token,
        json: { email: 'ANALYST@example.com', password: 'analyst123' },
      });
      expect(result.status, result.text).to.equal(200);
      expect(contract('VerifiedIdentity', result.body)).to.include({
        email: 'analyst@example.com',
        role: 'analyst',
      });
    });

    it("another service's token (case-service's, or a client with no scope) cannot: 403, the password unchecked", async () => {
      for (const client of ['case-service', 'test']) {
        const { token } = await platform.auth.tokens.issueServiceToken(client);
        const result = await request(`${platform.userUrl}/internal/v1/credentials/verify`, {
          method: 'POST',
          token,
          json: { email: 'analyst@example.com', password: 'analyst123' },
        });
        const problem = expectProblem(result, 403, 'forbidden');
        expect(problem.detail, client).to.include('users:verify-credentials');
      }
    });
  });

  describe('key rotation', () => {
    let rotating: TestPlatform;
    let previousKeyFile: string;

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mrp-rotation-'));
      previousKeyFile = join(dir, 'previous.pem');
      writeFileSync(previousKeyFile, generateSigningKeyPem());
      rotating = await startTestPlatform({ authEnv: { AUTH_EXTRA_PUBLIC_KEY_FILES: previousKeyFile } });
    });

    after(async () => {
      await rotating.stop();
    });

    it('publishes the previous key beside the signing key, and tokens signed by either are accepted', async () => {
      const jwks = contract('Jwks', (await request(`${rotating.authUrl}/.well-known/jwks.json`)).body);
      expect(jwks.keys.length).to.equal(2);
      const signedByPrevious = await (await signerFor(previousKeyFile))({ roles: ['analyst'] });
      expect((await request(`${rotating.userUrl}/v1/users`, { token: signedByPrevious })).status).to.equal(
        200,
      );
      const current = await login(rotating.authUrl, 'analyst');
      expect((await request(`${rotating.userUrl}/v1/users`, { token: current })).status).to.equal(200);
    });
  });
});
