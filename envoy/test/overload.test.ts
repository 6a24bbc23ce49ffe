import { expect } from 'chai';
import { OVERLOADED_PROBLEM } from '../src/gateway.ts';
import { localTarget, renderEnvoyConfig } from '../src/render-envoy-config.ts';
import { freePort, startEnvoy, type EnvoyProcess } from '../src/testing/envoy-process.ts';
import { send, type GatewayResponse } from './support/http-client.ts';
import { expectProblem } from './support/problem-assertions.ts';
import { startServiceStubs, type StubUpstream } from './support/stub-upstream.ts';
import { createTokenKit } from './support/test-tokens.ts';

const ISSUER = 'https://auth.test';
const AUDIENCE = 'mrp-test';

/**
 * The gateway's per-service limits (circuit breakers) with the real Envoy: a slow service holds its
 * connections, and what exceeds the limits is refused at once with a problem and Retry-After instead of
 * waiting behind them. The limits are made tiny here; the rendering's defaults are checked in
 * render-envoy-config.test.ts.
 */
describe('the gateway under overload (Envoy circuit breakers)', function () {
  let envoy: EnvoyProcess | undefined;
  let port: number;
  let token: string;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const stubs: StubUpstream[] = [];

  before(async function () {
    const tokens = await createTokenKit({ issuer: ISSUER, audience: AUDIENCE });
    token = await tokens.sign();
    const started = await startServiceStubs(tokens.jwks, { 'case-service': held });
    stubs.push(...started.stubs.values());
    const servicePorts = started.servicePorts;
    port = await freePort();
    envoy = await startEnvoy({
      config: renderEnvoyConfig(
        localTarget({
          listenerPort: port,
          adminPort: await freePort(),
          servicePorts,
          issuer: ISSUER,
          audience: AUDIENCE,
          upstreamLimits: { maxConnections: 2, maxPendingRequests: 1, maxRequests: 2 },
        }),
      ),
    });
  });

  after(async function () {
    release();
    await envoy?.stop();
    await Promise.all(stubs.map((upstream) => upstream.close()));
  });

  it('when a slow service holds as many requests as its limits allow, the rest are refused at once with 503 overloaded and Retry-After, and the held ones still complete', async function () {
    const caseService = stubs.find((stub) => stub.name === 'case-service')!;
    const settled: GatewayResponse[] = [];
    const all = Array.from({ length: 6 }, (_, index) =>
      send(port, {
        path: '/v1/cases',
        headers: { authorization: `Bearer ${token}`, 'x-request-id': `burst-${index}` },
      }).then((answer) => {
        settled.push(answer);
        return answer;
      }),
    );
    // While the service holds its requests, what did not fit has already been answered: two requests in
    // progress and one pending at most, so at least three of the six.
    for (let attempt = 0; settled.length < 3 && attempt < 100; attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(caseService.requests.length, 'requests the slow service holds').to.be.at.most(2);
    expect(settled.map((answer) => answer.status))
      .to.have.length.at.least(3)
      .and.to.satisfy((statuses: number[]) => statuses.every((status) => status === 503));
    for (const refused of settled) {
      const problem = expectProblem(refused, 503);
      expect(problem.code).to.equal(OVERLOADED_PROBLEM.code);
      expect(refused.headers['retry-after']).to.equal(String(OVERLOADED_PROBLEM.retryAfterSeconds));
      expect(refused.headers['x-envoy-overloaded']).to.equal('true');
    }

    release();
    const answers = await Promise.all(all);
    const served = answers.filter((answer) => answer.status === 200);
    expect(served.length, 'the held requests completed')
      .to.equal(caseService.requests.length)
      .and.to.be.at.least(1);
    expect(served.length + settled.filter((answer) => answer.status === 503).length).to.equal(6);
  });
});
