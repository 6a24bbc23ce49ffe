import { createLogger, runMain, runService } from '@mrp/platform';
import { loadScoringServiceConfig } from './config.ts';
import { createScoringService, SERVICE_NAME } from './scoring-service.ts';

runMain(async () => {
  const config = loadScoringServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  const { service, close } = createScoringService(config, logger);
  await runService({
    service,
    config,
    logger,
    cleanup: [close],
  });
});
