import { randomBytes } from 'node:crypto';
import { createAuditService, loadAuditServiceConfig, type AuditService } from '@mrp/audit-telemetry-service';
import { localTarget, renderEnvoyConfig } from '@mrp/gateway';
import { startEnvoy, type EnvoyProcess } from '@mrp/gateway/testing';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { Redis } from 'ioredis';
import { startTestCaseService, type TestCaseService } from './case-platform.ts';
import { LogCapture } from './log-capture.ts';
import { freePort } from './ports.ts';
import { startTestPlatform, type TestPlatform } from './platform.ts';
import { startTestScoringService, type TestScoringService } from './scoring-platform.ts';
import { createTestDatabase } from './test-database.ts';

export interface FullPlatform {
  /** The gateway, e.g. http://127.0.0.1:<port>. */
  readonly url: string;
  readonly port: number;
  readonly envoy: EnvoyProcess;
  readonly platform: TestPlatform;
  readonly cases: TestCaseService;
  /** The scoring-service instance now serving (it changes when `restartScoring` brings it back). */
  readonly scoring: TestScoringService;
  /** Stops scoring-service (`down: true`) or starts it again on the same port (`down: false`). */
  restartScoring(options: { down: boolean }): Promise<void>;
  readonly audit: AuditService;
  /** Where audit-telemetry-service listens (its own port, as Envoy and Prometheus reach it). */
  readonly auditPort: number;
  /** Envoy's admin port (Prometheus scrapes /stats/prometheus there). */
  readonly adminPort: number;
  readonly auditLogs: LogCapture;
  readonly streams: { readonly case: string; readonly scoring: string; readonly deadLetter: string };
  stop(): Promise<void>;
}

export interface FullPlatformOptions {
  /** Redis as case-service and the audit consumer see it (e.g. through a TcpProxy). */
  readonly redisUrl?: string;
}

/**
 * All five services behind the real Envoy, as a user meets them: auth, users, cases, scoring and the audit
 * log in this process on free ports, each data service on a fresh database, events on streams of this run
 * only. The Envoy config is rendered by the same code as `make dev`, only the ports differ.
 */
export async function startFullPlatform(options: FullPlatformOptions = {}): Promise<FullPlatform> {
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  const run = randomBytes(4).toString('hex');
  const platform = await startTestPlatform();
  const scoringStream = `test:${run}:events:scoring`;
  const scoringEnv = {
    SCORING_EVENT_STREAM: scoringStream,
    REDIS_URL: redisUrl,
    SCORING_EVENT_FLUSH_TIMEOUT_MS: '500',
  };
  let scoring: TestScoringService | undefined = await startTestScoringService(platform, { env: scoringEnv });
  const scoringPort = scoring.port;
  const cases = await startTestCaseService(platform, {
    scoringUrl: scoring.url,
    env: { REDIS_URL: redisUrl },
  });
  const streams = {
    case: cases.stream,
    scoring: scoringStream,
    deadLetter: `test:${run}:events:dead-letter`,
  };

  const auditDatabase = await createTestDatabase('audit');
  const auditLogs = new LogCapture();
  const audit = await createAuditService(
    loadAuditServiceConfig({
      APP_ENV: 'test',
      DATABASE_URL: auditDatabase.url,
      AUTH_JWKS_URL: `${platform.authUrl}/.well-known/jwks.json`,
      REDIS_URL: redisUrl,
      AUDIT_STREAMS: `${streams.case},${streams.scoring}`,
      AUDIT_DEAD_LETTER_STREAM: streams.deadLetter,
      AUDIT_CLAIM_IDLE_MS: '1000',
      CONSUMER_NAME: `e2e-${run}`,
    }),
    createLogger({ serviceName: 'audit-telemetry-service', level: 'debug', destination: auditLogs }),
  );
  const auditServer: RunningServer = await listen(audit.service, 0);

  const listenerPort = { listener: await freePort(), admin: await freePort() };
  const envoy = await startEnvoy({
    config: renderEnvoyConfig(
      localTarget({
        listenerPort: listenerPort.listener,
        adminPort: listenerPort.admin,
        servicePorts: {
          'auth-service': platform.authPort,
          'user-service': platform.userPort,
          'case-service': cases.port,
          'scoring-service': scoringPort,
          'audit-telemetry-service': auditServer.port,
        },
      }),
    ),
  });

  return {
    url: `http://127.0.0.1:${listenerPort.listener}`,
    port: listenerPort.listener,
    envoy,
    platform,
    cases,
    get scoring() {
      if (!scoring) throw new Error('scoring-service is down');
      return scoring;
    },
    async restartScoring({ down }) {
      if (down) {
        await scoring?.stop();
        scoring = undefined;
      } else if (!scoring) {
        scoring = await startTestScoringService(platform, { port: scoringPort, env: scoringEnv });
      }
    },
    audit,
    auditPort: auditServer.port,
    adminPort: listenerPort.admin,
    auditLogs,
    streams,
    async stop() {
      await envoy.stop();
      await auditServer.close(200);
      await audit.close();
      await auditDatabase.drop();
      await cases.stop();
      await scoring?.stop();
      await platform.stop();
      const redis = new Redis('redis://127.0.0.1:6379');
      await redis.del(streams.scoring, streams.deadLetter);
      redis.disconnect();
    },
  };
}
