import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { runChartScript } from '../support/chart-script.ts';

const seedFlow = (env: Record<string, string>) => runChartScript('seed-flow.sh', env);

describe('the helm test script (charts/platform/files/seed-flow.sh) through the real Envoy', function () {
  this.timeout(90_000);
  let platform: FullPlatform;

  before(async function () {
    platform = await startFullPlatform();
  });
  after(async function () {
    await platform.stop();
  });

  it('when the platform works, every step of the seed flow passes and the script exits 0', async function () {
    const result = await seedFlow({
      GATEWAY_URL: platform.url,
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'admin123',
    });
    expect(result.code, result.output).to.equal(0);
    const lines = result.output.trim().split('\n');
    expect(
      lines.every((line) => line.startsWith('PASS ')),
      result.output,
    ).to.be.true;
    expect(lines.map((line) => line.replace(/ \(.*\)$/, ''))).to.deep.equal([
      'PASS GET /healthz',
      'PASS POST /v1/auth/login',
      'PASS GET /v1/users without a token is refused',
      'PASS POST /v1/users',
      'PASS POST /v1/cases',
      'PASS POST /v1/cases again replays it',
      'PASS the replay is the same case',
      'PASS the replay says so',
      'PASS GET /v1/audit lists case_created',
    ]);
  });

  it('when the admin’s password is wrong, the login step fails (invalid_grant), the script stops and exits 1', async function () {
    const result = await seedFlow({
      GATEWAY_URL: platform.url,
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'wrong-password',
    });
    expect(result.code).to.equal(1);
    expect(result.output, result.output).to.match(
      /^FAIL POST \/v1\/auth\/login: expected 200, got 400 .*invalid_grant/m,
    );
    expect(result.output).not.to.include('POST /v1/users');
  });
});
