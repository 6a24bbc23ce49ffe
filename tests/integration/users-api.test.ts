import { expect } from 'chai';
import { contract, request, type HttpResult } from '../support/http.ts';
import { buildUser } from '../support/factories.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';

describe('user-service API (in-process, real Postgres)', () => {
  let platform: TestPlatform;
  let tokens: { admin: string; analyst: string; viewer: string };
  let users: string;

  before(async () => {
    platform = await startTestPlatform();
    users = `${platform.userUrl}/v1/users`;
    tokens = {
      admin: await login(platform.authUrl, 'admin'),
      analyst: await login(platform.authUrl, 'analyst'),
      viewer: await login(platform.authUrl, 'viewer'),
    };
  });

  after(async () => {
    await platform.stop();
  });

  const createUser = async (overrides: Record<string, unknown> = {}) => {
    const result = await request(users, { method: 'POST', token: tokens.admin, json: buildUser(overrides) });
    expect(result.status, result.text).to.equal(201);
    return contract('User', result.body);
  };

  describe('creating users', () => {
    it("when an admin sends the seed's body, it answers 201 with the user and no password material", async () => {
      const result = await request(users, {
        method: 'POST',
        token: tokens.admin,
        json: { email: 'new@example.com', role: 'viewer', full_name: 'New User' },
      });
      expect(result.status, result.text).to.equal(201);
      const user = contract('User', result.body);
      expect(user).to.include({
        email: 'new@example.com',
        role: 'viewer',
        full_name: 'New User',
        has_password: false,
      });
      expect(user.id).to.match(/^[0-9a-f-]{36}$/);
      expect(result.headers.get('location')).to.equal(`/v1/users/${user.id}`);
      expect(Object.keys(user).sort()).to.deep.equal(
        ['created_at', 'email', 'full_name', 'has_password', 'id', 'role', 'updated_at'].sort(),
      );
    });

    it('when a password is given, it is stored only as an argon2id hash and never returned', async () => {
      const user = await createUser({ password: 'correct horse battery' });
      expect(user.has_password).to.equal(true);
      expect(JSON.stringify(user)).not.to.match(/argon2|correct horse/);
      const listed = await request(`${users}?limit=100`, { token: tokens.admin });
      expect(listed.text).not.to.match(/argon2|password_hash/);
    });

    it('when the email is taken (in any letter case), it answers 409 and leaves the first user unchanged', async () => {
      const first = await createUser({ full_name: 'First Owner', role: 'analyst' });
      const duplicate = await request(users, {
        method: 'POST',
        token: tokens.admin,
        json: buildUser({ email: first.email.toUpperCase(), full_name: 'Impostor', role: 'admin' }),
      });
      expectProblem(duplicate, 409, 'email_taken');
      const after = await request(`${users}/${first.id}`, { token: tokens.admin });
      expect(after.body).to.deep.equal(first);
    });
  });

  describe('reading users', () => {
    it('admins and analysts read any user and the list', async () => {
      const user = await createUser();
      for (const token of [tokens.admin, tokens.analyst]) {
        expect((await request(`${users}/${user.id}`, { token })).status).to.equal(200);
        expect((await request(users, { token })).status).to.equal(200);
      }
    });

    it('a viewer reads their own account only: the list and any other user are 403, whether it exists or not', async () => {
      const list = contract(
        'UserList',
        (await request(`${users}?limit=100`, { token: tokens.admin })).body,
      ).items;
      const own = list.find((user) => user.email === 'viewer@example.com')!;
      const ownAnswer = await request(`${users}/${own.id}`, { token: tokens.viewer });
      expect(ownAnswer.status).to.equal(200);
      expect(contract('User', ownAnswer.body)).to.include({
        id: own.id,
        email: 'viewer@example.com',
        role: 'viewer',
      });

      const other = await createUser();
      expectProblem(await request(users, { token: tokens.viewer }), 403, 'forbidden');
      expectProblem(await request(`${users}/${other.id}`, { token: tokens.viewer }), 403, 'forbidden');
      expectProblem(
        await request(`${users}/6f1c1d1e-0000-4000-8000-000000000000`, { token: tokens.viewer }),
        403,
        'forbidden',
      );
    });

    it('pages through every user exactly once, following next_cursor', async () => {
      for (let i = 0; i < 5; i += 1) await createUser();
      const all = contract(
        'UserList',
        (await request(`${users}?limit=100`, { token: tokens.analyst })).body,
      ).items;
      const seen: string[] = [];
      let url: string | undefined = `${users}?limit=2`;
      while (url) {
        const answer = await request(url, { token: tokens.analyst });
        const page = contract('UserList', answer.body);
        const items = page.items;
        expect(items.length).to.be.at.most(2);
        seen.push(...items.map((item) => item.id));
        url = page.next_cursor !== null ? `${users}?limit=2&cursor=${page.next_cursor}` : undefined;
      }
      expect(seen).to.deep.equal(all.map((user) => user.id));
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen.length).to.be.at.least(8);
    });

    it('an unknown id is 404', async () => {
      expectProblem(
        await request(`${users}/6f1c1d1e-0000-4000-8000-000000000000`, { token: tokens.analyst }),
        404,
        'not_found',
      );
    });
  });

  describe('updating and deleting users', () => {
    it("an admin changes a user's role and name", async () => {
      const user = await createUser();
      const result = await request(`${users}/${user.id}`, {
        method: 'PATCH',
        token: tokens.admin,
        json: { role: 'analyst', full_name: 'Renamed' },
      });
      expect(result.status, result.text).to.equal(200);
      expect(contract('User', result.body)).to.include({
        role: 'analyst',
        full_name: 'Renamed',
        email: user.email,
      });
    });

    it('changing the email to a taken one is 409 and changes nothing', async () => {
      const first = await createUser();
      const second = await createUser();
      expectProblem(
        await request(`${users}/${second.id}`, {
          method: 'PATCH',
          token: tokens.admin,
          json: { email: first.email, full_name: 'X' },
        }),
        409,
        'email_taken',
      );
      expect((await request(`${users}/${second.id}`, { token: tokens.admin })).body).to.deep.equal(second);
    });

    it('a password set by an admin lets the user log in; a user without one cannot', async () => {
      const user = await createUser();
      const loginAs = (password: string) =>
        request(`${platform.authUrl}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: user.email, password }).toString(),
        });
      expect((await loginAs('anything-at-all')).status).to.equal(400);
      await request(`${users}/${user.id}`, {
        method: 'PATCH',
        token: tokens.admin,
        json: { password: 'a-new-password' },
      });
      expect((await loginAs('a-new-password')).status).to.equal(200);
    });

    it('an admin deletes a user; it is gone afterwards', async () => {
      const user = await createUser();
      const result = await request(`${users}/${user.id}`, { method: 'DELETE', token: tokens.admin });
      expect(result.status).to.equal(204);
      expectProblem(await request(`${users}/${user.id}`, { token: tokens.admin }), 404);
      expectProblem(await request(`${users}/${user.id}`, { method: 'DELETE', token: tokens.admin }), 404);
    });
  });

  describe('RBAC on the service port', () => {
    const forgedIdentity = {
      'x-jwt-payload': Buffer.from(JSON.stringify({ sub: 'x', roles: ['admin'] })).toString('base64url'),
      'x-user-roles': 'admin',
      'x-user-id': '00000000-0000-4000-8000-000000000001',
    };

    for (const role of ['analyst', 'viewer'] as const) {
      it(`a ${role} cannot create, update or delete users (403), even with identity headers of their own`, async () => {
        const user = await createUser();
        const token = tokens[role];
        const attempts = [
          request(users, { method: 'POST', token, headers: forgedIdentity, json: buildUser() }),
          request(`${users}/${user.id}`, {
            method: 'PATCH',
            token,
            headers: forgedIdentity,
            json: { role: 'admin' },
          }),
          request(`${users}/${user.id}`, { method: 'DELETE', token, headers: forgedIdentity }),
        ];
        for (const result of await Promise.all(attempts)) expectProblem(result, 403, 'forbidden');
        expect((await request(`${users}/${user.id}`, { token: tokens.admin })).body).to.deep.equal(user);
      });
    }

    it('identity headers without a token get 401', async () => {
      expectProblem(await request(users, { headers: forgedIdentity }), 401, 'unauthorized');
    });
  });

  describe('bad input gets a 4xx problem, never a 5xx', () => {
    const cases: [string, () => Promise<HttpResult>, number][] = [];
    const post =
      (body: string, contentType = 'application/json') =>
      () =>
        request(users, {
          method: 'POST',
          token: tokens.admin,
          body,
          headers: { 'content-type': contentType },
        });

    cases.push(['malformed JSON', post('{"email": "a@b.co", '), 400]);
    cases.push(['a JSON array instead of an object', post('[1,2]'), 400]);
    cases.push(['a JSON string literal', post('"hello"'), 400]);
    cases.push(['the wrong content type', post('email=a@b.co', 'text/plain'), 415]);
    cases.push([
      'a form body',
      post('email=a@b.co&role=viewer&full_name=x', 'application/x-www-form-urlencoded'),
      415,
    ]);
    cases.push(['an unknown field', post(JSON.stringify(buildUser({ is_superuser: true }))), 400]);
    cases.push(['a missing field', post(JSON.stringify({ email: 'a@b.co', role: 'viewer' })), 400]);
    cases.push(['an invalid email', post(JSON.stringify(buildUser({ email: 'not-an-email' }))), 400]);
    cases.push(['an unknown role', post(JSON.stringify(buildUser({ role: 'root' }))), 400]);
    cases.push(['a wrongly typed field', post(JSON.stringify(buildUser({ full_name: 42 }))), 400]);
    cases.push(['a blank name', post(JSON.stringify(buildUser({ full_name: '   ' }))), 400]);
    cases.push([
      'a NUL character in the name',
      post(JSON.stringify(buildUser({ full_name: 'a\u0000b' }))),
      400,
    ]);
    cases.push(['a too short password', post(JSON.stringify(buildUser({ password: 'short' }))), 400]);
    cases.push([
      'an oversized body',
      post(JSON.stringify(buildUser({ full_name: 'x'.repeat(200_000) }))),
      413,
    ]);
    cases.push(['a non-UUID id', () => request(`${users}/not-a-uuid`, { token: tokens.admin }), 400]);
    cases.push([
      'a non-UUID id on update',
      () => request(`${users}/123`, { method: 'PATCH', token: tokens.admin, json: { role: 'viewer' } }),
      400,
    ]);
    cases.push([
      'an empty update',
      () =>
        request(`${users}/6f1c1d1e-0000-4000-8000-000000000000`, {
          method: 'PATCH',
          token: tokens.admin,
          json: {},
        }),
      400,
    ]);
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=1.5',
      'limit=-1',
      'cursor=@@@',
      'cursor=bm90LWEtY3Vyc29y',
      'page=2',
      'limit=1&limit=2',
    ]) {
      cases.push([`pagination "${query}"`, () => request(`${users}?${query}`, { token: tokens.admin }), 400]);
    }
    cases.push([
      'an unsupported method',
      () => request(users, { method: 'PUT', token: tokens.admin, json: {} }),
      405,
    ]);

    for (const [name, send, status] of cases) {
      it(`${name}: ${status}`, async () => {
        const result = await send();
        expectProblem(result, status);
      });
    }

    it('a validation problem lists each failing field with a pointer', async () => {
      const result = await post(JSON.stringify({ email: 'nope', role: 'root', extra: 1 }))();
      const problem = expectProblem(result, 400, 'validation_failed');
      const pointers = (problem.errors ?? []).map((error) => error.pointer).sort();
      expect(pointers).to.include.members(['/email', '/role', '/extra', '/full_name']);
    });

    it('after all that bad input, the seeded users are intact', async () => {
      const list = contract(
        'UserList',
        (await request(`${users}?limit=100`, { token: tokens.admin })).body,
      ).items;
      expect(list.map((user) => user.email)).to.include.members([
        'admin@example.com',
        'analyst@example.com',
        'viewer@example.com',
      ]);
    });
  });

  describe('request IDs', () => {
    it('keeps a sent X-Request-Id, echoes it and logs it with the request', async () => {
      const result = await request(users, {
        token: tokens.analyst,
        headers: { 'x-request-id': 'test-req-0001' },
      });
      expect(result.headers.get('x-request-id')).to.equal('test-req-0001');
      const line = platform.logs.user
        .forRequest('test-req-0001')
        .find((entry) => entry.message === 'request completed');
      expect(line).to.include({ service_name: 'user-service', status_code: 200, route: '/v1/users' });
    });

    it('generates one when absent, and replaces one that is unsafe to log', async () => {
      const generated = await request(users, { token: tokens.analyst });
      expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      for (const unsafe of ['a b <script>', 'x'.repeat(300)]) {
        const result = await request(users, { token: tokens.analyst, headers: { 'x-request-id': unsafe } });
        expect(result.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      }
    });
  });
});
