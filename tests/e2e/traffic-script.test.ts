import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { eventually } from '../support/eventually.ts';
import { asRecord, request } from '../support/http.ts';
import { login } from '../support/platform.ts';
import { runChartScript } from '../support/chart-script.ts';

const traffic = (env: Record<string, string>) => runChartScript('traffic.sh', env);

describe('the load generator (charts/platform/files/traffic.sh, make traffic) through the real Envoy', function () {
  this.timeout(90_000);
  let platform: FullPlatform;

  before(async function () {
    platform = await startFullPlatform();
  });
  after(async function () {
    await platform.stop();
  });

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
    const created = (asRecord(list.body).items as { id: string; title: string }[]).filter((item) =>
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
