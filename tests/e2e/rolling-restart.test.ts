import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { DevRunner } from '../support/dev-runner.ts';
import { eventually } from '../support/eventually.ts';
import { login } from '../support/platform.ts';
import { freePort } from '../support/ports.ts';

const ready = async (url: string): Promise<boolean> =>
  fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.ok,
    () => false,
  );

describe('a rolling restart of two case-service instances behind the gateway, under load', function () {
  const dev = new DevRunner();
  let secondPort: number;

  before(async function () {
    this.timeout(90_000);
    secondPort = await freePort();
    await dev.start({ DEV_REPLICAS_CASE_SERVICE: '2', CASE_SERVICE_PORT_2: String(secondPort) });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.stop();
  });

  it('loses no request: each instance drains, stops and comes back while the other serves', async function () {
    this.timeout(120_000);
    const gateway = dev.gateway;
    const [viewer, analyst] = [await login(gateway, 'viewer'), await login(gateway, 'analyst')];
    const outcomes = new Map<string, number>();
    const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    // The first answer of each unexpected status, so that a failure says who refused (Envoy or the service) and why.
    const firstBodies = new Map<string, string>();
    const record = async (method: string, response: Response) => {
      const body = await response.text();
      const outcome = `${method} ${response.status}`;
      if (response.status >= 300 && !firstBodies.has(outcome))
        firstBodies.set(outcome, `${new Date().toISOString()} ${body.slice(0, 300)}`);
      count(outcome);
    };
    let loading = true;
    // Clients that do not retry: every request must succeed the first time.
    const reader = async () => {
      while (loading) {
        try {
          const response = await fetch(`${gateway}/v1/cases?limit=1`, {
            headers: { authorization: `Bearer ${viewer}` },
          });
          await record('GET', response);
        } catch (error) {
          count(`GET error ${(error as Error).message}`);
        }
      }
    };
    const creator = async () => {
      while (loading) {
        try {
          const response = await fetch(`${gateway}/v1/cases`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${analyst}`,
              'content-type': 'application/json',
              'idempotency-key': randomUUID(),
            },
            body: JSON.stringify({ title: 'Rolling', owner_id: randomUUID() }),
          });
          await record('POST', response);
        } catch (error) {
          count(`POST error ${(error as Error).message}`);
        }
      }
    };
    const clients = [reader(), reader(), creator()];
    await new Promise((resolve) => setTimeout(resolve, 1000));

    for (const port of [dev.ports.CASE_SERVICE_PORT!, secondPort]) {
      const instance = dev.childPid('services/case-service/', port);
      expect(instance, `the case-service on :${port}`).to.be.a('number');
      process.kill(instance!, 'SIGTERM');
      // Back after the runner's back-off, ready, and taken in by the gateway's health check again.
      await eventually(async () => {
        const restarted = dev.childPid('services/case-service/', port);
        expect(restarted, 'a new process').to.be.a('number').and.not.equal(instance);
        expect(await ready(`http://127.0.0.1:${port}`), 'ready').to.equal(true);
      }, 150);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }

    loading = false;
    await Promise.all(clients);
    const answered = Object.fromEntries(outcomes);
    expect(dev.output).to.match(/case-service exited \(code 0\); restarting it/);
    expect(dev.output).to.match(/case-service-2 exited \(code 0\); restarting it/);
    expect(
      Object.keys(answered).sort(),
      `${JSON.stringify(answered)} ${JSON.stringify(Object.fromEntries(firstBodies))}`,
    ).to.deep.equal(['GET 200', 'POST 201']);
    expect(answered['GET 200'], 'reads').to.be.greaterThan(100);
    expect(answered['POST 201'], 'creates').to.be.greaterThan(20);
  });
});
