import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startEnvoy, type EnvoyProcess } from '../src/testing/envoy-process.ts';
import { localTarget, renderEnvoyConfig } from '../src/render-envoy-config.ts';
import { send, type GatewayResponse } from './support/http-client.ts';
import { expectProblem } from './support/problem-assertions.ts';
import { startStubUpstream, type StubUpstream } from './support/stub-upstream.ts';
import { createTokenKit, type TokenKit } from './support/test-tokens.ts';

// Envoy is started before auth-service exists, as happens when the gateway comes up first.
describe('gateway key fetching (real Envoy, auth-service starting late)', function () {
  let envoy: EnvoyProcess | undefined;
  let auth: StubUpstream | undefined;
  let user: StubUpstream | undefined;
  let port: number;
  let authPort: number;
  let tokens: TokenKit;
  let token: string;

  const authorized = (): Promise<GatewayResponse> =>
    send(port, { path: '/v1/users/1', headers: { authorization: `Bearer ${token}` } });

  before(async function () {
    tokens = await createTokenKit({ issuer: 'mrp-auth', audience: 'mrp-platform' });
    token = await tokens.sign();
    user = await startStubUpstream('user-service', { port: await freePort() });
    authPort = await freePort();
    port = await freePort();
    const config = renderEnvoyConfig(
      localTarget({
        listenerPort: port,
        adminPort: await freePort(),
        servicePorts: { 'auth-service': authPort, 'user-service': user.port },
      }),
    );
    envoy = await startEnvoy({ config });
  });

  after(async function () {
    await envoy?.stop();
    await auth?.close();
    await user?.close();
  });

  it('when auth-service is not up yet, Envoy still starts and answers /healthz', async function () {
    const response = await send(port, { path: '/healthz' });
    expect(response.status).to.equal(200);
  });

  it('while the keys cannot be fetched, a valid token is refused with 401 and no service is called', async function () {
    const problem = expectProblem(await authorized(), 401);
    expect(problem.detail).to.match(/jwks/i);
    expect(user!.requests).to.be.empty;
  });

  it('once auth-service is up, Envoy fetches the keys in the background and then accepts the token', async function () {
    auth = await startStubUpstream('auth-service', { port: authPort, jwks: tokens.jwks });
    // No request is sent while waiting: the fetch must come from Envoy's own retry after the failed
    // one (about a second later), not from a request that finds the keys missing.
    for (let waited = 0; waited < 5000 && auth.jwksFetches() === 0; waited += 100) await sleep(100);
    expect(auth.jwksFetches(), 'JWKS fetches by Envoy').to.be.at.least(1);
    const response = await authorized();
    expect(response.status, response.text).to.equal(200);
    expect(user!.requests).to.have.lengthOf(1);
  });
});
