import { request as httpRequest } from 'node:http';
import { localTarget, renderEnvoyConfig } from '@mrp/gateway';
import { startEnvoy, type EnvoyProcess } from '@mrp/gateway/testing';
import { freePort } from './ports.ts';
import { startTestPlatform, type TestPlatform } from './platform.ts';

export interface TestGateway {
  readonly url: string;
  readonly port: number;
  readonly envoy: EnvoyProcess;
  readonly platform: TestPlatform;
  stop(): Promise<void>;
}

/**
 * The platform as a user meets it: auth-service and user-service (in-process, real Postgres) behind the
 * real Envoy, rendered from the same gateway source as `make dev` with only the ports changed.
 */
export async function startTestGateway(): Promise<TestGateway> {
  const platform = await startTestPlatform();
  const [listenerPort, adminPort] = [await freePort(), await freePort()];
  // Services that do not exist yet point at ports nothing listens on, exactly as in `make dev`.
  const [casePort, scoringPort, auditPort] = [await freePort(), await freePort(), await freePort()];
  const config = renderEnvoyConfig(
    localTarget({
      listenerPort,
      adminPort,
      servicePorts: {
        'auth-service': platform.authPort,
        'user-service': platform.userPort,
        'case-service': casePort,
        'scoring-service': scoringPort,
        'audit-telemetry-service': auditPort,
      },
    }),
  );
  const envoy = await startEnvoy({ config });
  return {
    url: `http://127.0.0.1:${listenerPort}`,
    port: listenerPort,
    envoy,
    platform,
    async stop() {
      await envoy.stop();
      await platform.stop();
    },
  };
}

/** A raw HTTP call from a chosen loopback source address (fetch cannot pick one), for per-client limits. */
export async function requestFrom(
  localAddress: string,
  url: string,
  options: { method: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method, headers: options.headers, localAddress },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
