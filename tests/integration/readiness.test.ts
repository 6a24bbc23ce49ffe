import { expect } from 'chai';
import { contract, request } from '../support/http.ts';
import { login, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { expectProblem } from '../support/problem.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { eventually } from '../support/eventually.ts';

describe('readiness follows Postgres, liveness does not', () => {
  let proxy: TcpProxy;
  let platform: TestPlatform;

  before(async () => {
    proxy = new TcpProxy('127.0.0.1', 5432);
    await proxy.start();
    platform = await startTestPlatform({
      // Statements are cancelled after 1 s, and the client gives up a second later when nothing answers.
      userEnv: { DATABASE_QUERY_TIMEOUT_MS: '1000' },
      userDatabaseUrl: (url) => {
        const proxied = new URL(url);
        proxied.port = String(proxy.port);
        return proxied.toString();
      },
    });
  });

  after(async () => {
    await proxy.start().catch(() => undefined);
    await platform.stop();
    await proxy.cut();
  });

  it('/readyz fails while Postgres is unreachable and recovers when it returns; /healthz stays up', async () => {
    const token = await login(platform.authUrl, 'analyst');
    expect((await request(`${platform.userUrl}/readyz`)).status).to.equal(200);

    await proxy.cut();
    const notReady = await request(`${platform.userUrl}/readyz`);
    expect(notReady.status).to.equal(503);
    const health = contract('Health', notReady.body);
    expect(health).to.deep.include({ status: 'not_ready' });
    // The answer names what failed, never why (addresses and server messages go to the log).
    expect(health.checks, 'checks').to.be.an('object');
    expect(Object.values(health.checks ?? {})).to.include('failed');
    expect(notReady.text).not.to.include(String(proxy.port));
    expect(notReady.text).not.to.match(/ECONN|127\.0\.0\.1|timeout/i);
    expect((await request(`${platform.userUrl}/healthz`)).status).to.equal(200);
    // A request that needs the database fails fast and cleanly instead of hanging.
    const during = await request(`${platform.userUrl}/v1/users`, { token });
    expectProblem(during, 503, 'dependency_unavailable');

    await proxy.start();
    await eventually(async () => {
      expect((await request(`${platform.userUrl}/readyz`)).status).to.equal(200);
    });
    expect((await request(`${platform.userUrl}/v1/users`, { token })).status).to.equal(200);
  });

  it('a Postgres that stops answering (no refusal, no answer): requests get 503 in bounded time, readiness fails, both recover', async function () {
    this.timeout(30_000);
    const token = await login(platform.authUrl, 'analyst');
    expect((await request(`${platform.userUrl}/v1/users`, { token })).status).to.equal(200);

    proxy.stall();
    const started = Date.now();
    const during = await request(`${platform.userUrl}/v1/users`, { token });
    const waited = Date.now() - started;
    expectProblem(during, 503, 'dependency_unavailable');
    // A bound, not a speed: without the client-side query timeout this request never answers.
    expect(waited, 'ms until the 503').to.be.lessThan(5000);
    expect((await request(`${platform.userUrl}/readyz`)).status).to.equal(503);
    expect((await request(`${platform.userUrl}/healthz`)).status).to.equal(200);

    await proxy.cut();
    await proxy.start();
    await eventually(async () => {
      expect((await request(`${platform.userUrl}/readyz`)).status).to.equal(200);
      expect((await request(`${platform.userUrl}/v1/users`, { token })).status).to.equal(200);
    });
  });
});
