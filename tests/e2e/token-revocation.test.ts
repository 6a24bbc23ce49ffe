import { expect } from 'chai';
import { contract, request } from '../support/http.ts';
import { eventually } from '../support/eventually.ts';
import { buildUser } from '../support/factories.ts';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { login } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';

/**
 * ADR 0021 through the real Envoy: a change of a user's role or password, or their deletion, makes every
 * token they held stop working at every service within seconds; their new tokens, and everyone else's,
 * keep working.
 */
describe('token revocation, through the real Envoy', function () {
  this.timeout(120_000);
  let full: FullPlatform;
  let admin: string;

  before(async () => {
    full = await startFullPlatform();
    admin = await login(full.url, 'admin');
  });

  after(async () => {
    await full.stop();
  });

  const loginAs = async (email: string, password: string): Promise<string> => {
    const result = await request(`${full.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
    });
    expect(result.status, result.text).to.equal(200);
    return contract('TokenResponse', result.body).access_token;
  };
  const createUser = async (role: string, password: string) => {
    const created = await request(`${full.url}/v1/users`, {
      method: 'POST',
      token: admin,
      json: buildUser({ role, password }),
    });
    expect(created.status, created.text).to.equal(201);
    return contract('User', created.body);
  };
  /** The answers of one call to each kind of service: case-service, audit, scoring's model, user-service. */
  const statuses = async (token: string, userId: string) => [
    (await request(`${full.url}/v1/cases?limit=1`, { token })).status,
    (await request(`${full.url}/v1/scoring/model`, { token })).status,
    (await request(`${full.url}/v1/users/${userId}`, { token })).status,
  ];

  it('a demoted analyst’s token is refused everywhere within seconds; a new login works with the new role', async () => {
    const user = await createUser('analyst', 'analyst-password-1');
    const before = await loginAs(user.email, 'analyst-password-1');
    expect(await statuses(before, user.id)).to.deep.equal([200, 200, 200]);
    expect((await request(`${full.url}/v1/audit?limit=1`, { token: before })).status).to.equal(200);

    const demoted = await request(`${full.url}/v1/users/${user.id}`, {
      method: 'PATCH',
      token: admin,
      json: { role: 'viewer' },
    });
    expect(demoted.status, demoted.text).to.equal(200);

    await eventually(async () => {
      expect(await statuses(before, user.id)).to.deep.equal([401, 401, 401]);
      expect((await request(`${full.url}/v1/audit?limit=1`, { token: before })).status).to.equal(401);
    });
    const refused = await request(`${full.url}/v1/cases?limit=1`, { token: before });
    expect(expectProblem(refused, 401).detail).to.include('revoked');

    const after = await loginAs(user.email, 'analyst-password-1');
    expect(await statuses(after, user.id)).to.deep.equal([200, 200, 200]);
    // The new token carries the new role: a viewer reads no audit log.
    expect((await request(`${full.url}/v1/audit?limit=1`, { token: after })).status).to.equal(403);
  });

  it('a password change revokes the tokens issued before it; a change of name or email does not', async () => {
    const user = await createUser('viewer', 'viewer-password-1');
    const first = await loginAs(user.email, 'viewer-password-1');
    const email = `renamed-${user.email}`;
    const renamed = await request(`${full.url}/v1/users/${user.id}`, {
      method: 'PATCH',
      token: admin,
      json: { full_name: 'Renamed User', email },
    });
    expect(renamed.status, renamed.text).to.equal(200);
    // Nothing was revoked: the token still works a couple of publishing rounds later.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await statuses(first, user.id)).to.deep.equal([200, 200, 200]);

    const changed = await request(`${full.url}/v1/users/${user.id}`, {
      method: 'PATCH',
      token: admin,
      json: { password: 'viewer-password-2' },
    });
    expect(changed.status, changed.text).to.equal(200);
    await eventually(async () => {
      expect(await statuses(first, user.id)).to.deep.equal([401, 401, 401]);
    });
    const second = await loginAs(email, 'viewer-password-2');
    expect(await statuses(second, user.id)).to.deep.equal([200, 200, 200]);
  });

  it('a deleted user’s tokens are refused everywhere; the admin who deleted them and everyone else are not affected', async () => {
    const user = await createUser('analyst', 'analyst-password-3');
    const token = await loginAs(user.email, 'analyst-password-3');
    const analyst = await login(full.url, 'analyst');
    expect((await request(`${full.url}/v1/cases?limit=1`, { token })).status).to.equal(200);

    const deleted = await request(`${full.url}/v1/users/${user.id}`, { method: 'DELETE', token: admin });
    expect(deleted.status, deleted.text).to.equal(204);
    await eventually(async () => {
      expect((await request(`${full.url}/v1/cases?limit=1`, { token })).status).to.equal(401);
      expect((await request(`${full.url}/v1/scoring/model`, { token })).status).to.equal(401);
    });
    expect((await request(`${full.url}/v1/cases?limit=1`, { token: admin })).status).to.equal(200);
    expect((await request(`${full.url}/v1/cases?limit=1`, { token: analyst })).status).to.equal(200);
  });
});
