import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { eventually } from '../support/eventually.ts';
import { contract, request } from '../support/http.ts';
import { login } from '../support/platform.ts';
import { runChartScript } from '../support/chart-script.ts';

const seedFlow = (env: Record<string, string>) => runChartScript('seed-flow.sh', env);
const traffic = (env: Record<string, string>) => runChartScript('traffic.sh', env);

/** The umbrella chart's shell scripts (charts/platform/files), run with sh and curl as their pods run them. */
describe("the chart's scripts through the real Envoy", function () {
  this.timeout(90_000);
  let platform: FullPlatform;

  before(async function () {
    platform = await startFullPlatform();
  });
  after(async function () {
    await platform.stop();
  });

  describe('the helm test script (seed-flow.sh)', function () {
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

  describe('the load generator (traffic.sh, make traffic)', function () {
    it('when it runs for a few seconds as the seed users, every call gets the answer it expects, and its cases reach the case list and the audit log', async function () {
      const result = await traffic({ GATEWAY_URL: platform.url, TRAFFIC_RATE: '4', TRAFFIC_DURATION_S: '5' });
      expect(result.code, result.output).to.equal(0);
      const done = /traffic: done: (\d+) cycles, (\d+) calls, (\d+) failed/.exec(result.output);
      expect(done, result.output).to.not.equal(null);
      const [cycles, calls, failed] = done!.slice(1).map(Number);
      expect(cycles, result.output).to.be.at.least(5);
      expect(calls, result.output).to.be.at.least(cycles! * 5);
      expect(failed, result.output).to.equal(0);

      const token = await login(platform.url, 'admin');
      const list = await request(`${platform.url}/v2/cases?limit=100`, { token });
      expect(list.status, list.text).to.equal(200);
      const created = contract('CaseListV2', list.body).items.filter((item) =>
        item.title.startsWith('Traffic case '),
      );
      expect(created.length, 'every cycle creates one case').to.equal(cycles);
      await eventually(async () => {
        const audit = await request(`${platform.url}/v1/audit?case_id=${created[0]!.id}`, { token });
        expect(audit.text).to.include('"case_created"');
      });
    });

    it('when a setting is not a number, it says which and exits 2 before calling anything', async function () {
      const settings: Record<string, string>[] = [
        { TRAFFIC_RATE: 'fast' },
        { TRAFFIC_RATE: '0' },
        { TRAFFIC_DURATION_S: '1.5' },
      ];
      for (const env of settings) {
        const result = await traffic({ GATEWAY_URL: platform.url, ...env });
        expect(result.code, JSON.stringify(env)).to.equal(2);
        expect(result.output).to.match(/^traffic: TRAFFIC_(RATE|DURATION_S) must be/);
      }
    });
  });
});
