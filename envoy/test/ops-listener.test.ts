import { expect } from 'chai';
import { freePort, startEnvoy, type EnvoyProcess } from '../src/testing/envoy-process.ts';
import { kubernetesTarget, renderEnvoyConfig } from '../src/render-envoy-config.ts';

describe('the ops listener of a containerised gateway (real Envoy)', function () {
  let envoy: EnvoyProcess;
  let ops: string;

  before(async function () {
    const opsPort = await freePort();
    // The services' names do not resolve here: the ops listener needs none of them.
    envoy = await startEnvoy({
      config: renderEnvoyConfig(
        kubernetesTarget({
          release: 'mrp',
          listenerPort: await freePort(),
          adminPort: await freePort(),
          opsPort,
        }),
      ),
    });
    ops = `http://127.0.0.1:${opsPort}`;
  });
  after(async function () {
    await envoy.stop();
  });

  it('when Prometheus scrapes /stats/prometheus, it gets the admin’s metrics in the Prometheus format', async function () {
    const response = await fetch(`${ops}/stats/prometheus`);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.match(/^envoy_server_live\{?[^\n]*\} 1$/m);
  });

  it('when the kubelet probes /ready, it gets the admin’s readiness', async function () {
    const response = await fetch(`${ops}/ready`);
    expect(response.status).to.equal(200);
    expect((await response.text()).trim()).to.equal('LIVE');
  });

  it('when anything else of the admin is asked for, or with another method, it answers 404 and changes nothing', async function () {
    for (const [method, path] of [
      ['POST', '/quitquitquit'],
      ['POST', '/healthcheck/fail'],
      ['GET', '/config_dump'],
      ['GET', '/clusters'],
      ['POST', '/ready'],
      ['GET', '/stats/prometheus/../../quitquitquit'],
    ] as const) {
      const response = await fetch(`${ops}${path}`, { method });
      expect(response.status, `${method} ${path}`).to.equal(404);
    }
    const ready = await fetch(`${envoy.adminUrl}/ready`);
    expect((await ready.text()).trim()).to.equal('LIVE');
  });
});
