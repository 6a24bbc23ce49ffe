import { randomBytes } from 'node:crypto';
import { createCaseService, loadCaseServiceConfig, type CaseService } from '@mrp/case-service';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { Redis } from 'ioredis';
import { LogCapture } from './log-capture.ts';
import type { TestPlatform } from './platform.ts';
import { createTestDatabase } from './test-database.ts';

export interface TestCaseService {
  readonly url: string;
  readonly port: number;
  readonly caseService: CaseService;
  readonly databaseUrl: string;
  /** The stream this instance publishes to (unique per test run). */
  readonly stream: string;
  readonly logs: LogCapture;
  stop(): Promise<void>;
}

export interface TestCaseServiceOptions {
  readonly scoringUrl: string;
  readonly env?: Record<string, string>;
  /** Start the outbox relay and the re-scoring worker (default true). */
  readonly startWorkers?: boolean;
}

/**
 * case-service in this process against a fresh database and a stream of its own on the real Redis, with
 * timings shortened so recovery happens within a test (the mechanisms are the production ones).
 */
export async function startTestCaseService(
  platform: TestPlatform,
  options: TestCaseServiceOptions,
): Promise<TestCaseService> {
  const database = await createTestDatabase('cases');
  const stream = `test:${randomBytes(4).toString('hex')}:events:case`;
  const logs = new LogCapture();
  const config = loadCaseServiceConfig({
    APP_ENV: 'test',
    DATABASE_URL: database.url,
    CASE_EVENT_STREAM: stream,
    AUTH_JWKS_URL: `${platform.authUrl}/.well-known/jwks.json`,
    AUTH_TOKEN_URL: `${platform.authUrl}/internal/v1/token`,
    SCORING_SERVICE_URL: options.scoringUrl,
    SCORING_ATTEMPT_TIMEOUT_MS: '300',
    SCORING_BACKOFF_BASE_MS: '20',
    SCORING_BACKOFF_MAX_MS: '80',
    SCORING_BREAKER_RESET_MS: '1000',
    RESCORE_INTERVAL_MS: '200',
    RESCORE_BACKOFF_BASE_MS: '200',
    RESCORE_BACKOFF_MAX_MS: '1000',
    ...options.env,
  });
  const caseService = await createCaseService(
    config,
    createLogger({ serviceName: 'case-service', level: 'debug', destination: logs }),
  );
  if (options.startWorkers ?? true) caseService.startWorkers();
  const server: RunningServer = await listen(caseService.service, 0);
  return {
    url: server.url,
    port: server.port,
    caseService,
    databaseUrl: database.url,
    stream,
    logs,
    async stop() {
      await server.close(500);
      await caseService.close();
      await database.drop();
      const redis = new Redis('redis://127.0.0.1:6379');
      await redis.del(stream, `outbox:marker:case-service:${stream}`);
      redis.disconnect();
    },
  };
}
