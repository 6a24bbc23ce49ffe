import { createScoringService, loadScoringServiceConfig, type ScoringService } from '@mrp/scoring-service';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import type { TestPlatform } from './platform.ts';

export interface TestScoringService {
  readonly url: string;
  readonly port: number;
  readonly scoring: ScoringService;
  /** Stops answering: the port is closed (connections refused) until another instance listens on it. */
  stop(): Promise<void>;
}

/**
 * scoring-service in this process. `port` lets a test bring scoring back on the address case-service
 * already knows; `env` sets faults or the event stream.
 */
export async function startTestScoringService(
  platform: TestPlatform,
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<TestScoringService> {
  const config = loadScoringServiceConfig({
    APP_ENV: 'test',
    AUTH_JWKS_URL: `${platform.authUrl}/.well-known/jwks.json`,
    ...options.env,
  });
  const scoring = createScoringService(
    config,
    createLogger({ serviceName: 'scoring-service', level: 'silent' }),
  );
  const server: RunningServer = await listen(scoring.service, options.port ?? 0);
  return {
    url: server.url,
    port: server.port,
    scoring,
    async stop() {
      // A hanging request is cut at once rather than waited for.
      await server.close(0);
      await scoring.close();
    },
  };
}
