import { createLogger, runMain, runService } from '@mrp/platform';
import { createAuthService, SERVICE_NAME } from './auth-service.ts';
import { loadAuthServiceConfig } from './config.ts';

runMain(async () => {
  const config = loadAuthServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  const auth = await createAuthService(config, logger);
  await runService({
    service: auth.service,
    config,
    logger,
    cleanup: [() => auth.close()],
  });
});
