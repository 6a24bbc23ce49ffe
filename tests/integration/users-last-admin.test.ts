import { expect } from 'chai';
import type { Role } from '@mrp/schemas';
import { contract, request } from '../support/http.ts';
import { buildUser } from '../support/factories.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';

/**
 * The platform always keeps an admin: an admin cannot delete their own account, and the last admin can be
 * neither deleted nor demoted (409 problem+json), so no token, however valid, locks everyone out. A
 * platform of its own: these tests delete the seeded admin.
 */
describe('user-service keeps an admin (in-process, real Postgres)', () => {
  let platform: TestPlatform;
  let users: string;
  /** The token and id of the only admin left by the deletion test. */
  let lastAdmin: [string, string] | undefined;

  before(async () => {
    platform = await startTestPlatform();
    users = `${platform.userUrl}/v1/users`;
  });

  after(async () => {
    await platform.stop();
  });

  const loginAs = async (email: string, password: string): Promise<string> => {
    const result = await request(`${platform.authUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password }).toString(),
    });
    expect(result.status, result.text).to.equal(200);
    return contract('TokenResponse', result.body).access_token;
  };
  const subjectOf = (token: string): string =>
    (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
  const roleOf = async (token: string, id: string): Promise<Role> =>
    contract('User', (await request(`${users}/${id}`, { token })).body).role;

  it('refuses an admin deleting their own account, and the account stays', async () => {
    const admin = await login(platform.authUrl, 'admin');
    const self = subjectOf(admin);
    expectProblem(
      await request(`${users}/${self}`, { method: 'DELETE', token: admin }),
      409,
      'cannot_delete_self',
    );
    expect(await roleOf(admin, self)).to.equal('admin');
  });

  it('refuses demoting or deleting the last admin, even with a token of a deleted admin', async () => {
    const seeded = await login(platform.authUrl, 'admin');
    const seededId = subjectOf(seeded);
    // A second admin, who then deletes the seeded one: allowed while two exist.
    const body = buildUser({ role: 'admin', password: 'second-admin-password' });
    const created = await request(users, { method: 'POST', token: seeded, json: body });
    expect(created.status, created.text).to.equal(201);
    const secondId = contract('User', created.body).id;
    const second = await loginAs(String(body.email), 'second-admin-password');
    expect((await request(`${users}/${seededId}`, { method: 'DELETE', token: second })).status).to.equal(204);

    // The seeded admin's token is still valid until it expires; the second admin is now the last one.
    expectProblem(
      await request(`${users}/${secondId}`, { method: 'PATCH', token: seeded, json: { role: 'viewer' } }),
      409,
      'last_admin',
    );
    expectProblem(
      await request(`${users}/${secondId}`, { method: 'DELETE', token: seeded }),
      409,
      'last_admin',
    );
    expect(await roleOf(second, secondId)).to.equal('admin');

    // Changing anything else about the last admin is fine, and so is keeping the role.
    const renamed = await request(`${users}/${secondId}`, {
      method: 'PATCH',
      token: second,
      json: { full_name: 'Still Admin', role: 'admin' },
    });
    expect(renamed.status, renamed.text).to.equal(200);
    lastAdmin = [second, secondId];
  });

  it('two demotions at once of the only two admins: one succeeds, the other is refused, one admin remains', async () => {
    // The previous test left one admin (the second); a third makes two.
    const [token, firstId] = lastAdmin!;
    const created = await request(users, { method: 'POST', token, json: buildUser({ role: 'admin' }) });
    expect(created.status, created.text).to.equal(201);
    const otherId = contract('User', created.body).id;
    const results = await Promise.all(
      [firstId, otherId].map((id) =>
        request(`${users}/${id}`, { method: 'PATCH', token, json: { role: 'analyst' } }),
      ),
    );
    expect(results.map((result) => result.status).sort()).to.deep.equal([200, 409]);
    const roles = [await roleOf(token, firstId), await roleOf(token, otherId)];
    expect(roles.filter((role) => role === 'admin')).to.have.length(1);
  });
});
