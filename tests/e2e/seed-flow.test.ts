import { expect } from 'chai';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { curl } from '../support/curl.ts';
import { contract } from '../support/http.ts';

/**
 * The seed README's login and create-user calls, run with curl exactly as written; only the gateway's
 * port differs (the test gateway listens on a free port so it never clashes with `make dev`).
 */
describe("the seed's example flow through Envoy, with curl", () => {
  let gateway: TestGateway;

  before(async () => {
    gateway = await startTestGateway();
  });

  after(async () => {
    await gateway.stop();
  });

  it('admin logs in, creates the seed user and gets 201 with the user and no password material', async () => {
    const base = `http://localhost:${gateway.port}`;
    // curl -X POST http://localhost:8080/v1/auth/login -d "username=admin@example.com&password=admin123"
    const login = await curl([
      '-X',
      'POST',
      `${base}/v1/auth/login`,
      '-d',
      'username=admin@example.com&password=admin123',
    ]);
    expect(login.status, login.body).to.equal(200);
    const token = contract('TokenResponse', JSON.parse(login.body)).access_token;

    const create = await curl([
      '-X',
      'POST',
      `${base}/v1/users`,
      '-H',
      `Authorization: Bearer ${token}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"email":"new@example.com","role":"viewer","full_name":"New User"}',
    ]);
    expect(create.status, create.body).to.equal(201);
    const user = contract('User', JSON.parse(create.body));
    expect(user).to.include({ email: 'new@example.com', role: 'viewer', full_name: 'New User' });
    expect(user.id).to.match(/^[0-9a-f-]{36}$/);
    expect(create.body).not.to.match(/password_hash|argon2/i);
    expect(user).not.to.have.any.keys('password', 'password_hash');

    const fetched = await curl([`${base}/v1/users/${user.id}`, '-H', `Authorization: Bearer ${token}`]);
    expect(fetched.status).to.equal(200);
    expect(contract('User', JSON.parse(fetched.body))).to.deep.equal(user);
  });
});
