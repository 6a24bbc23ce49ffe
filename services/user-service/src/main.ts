import { createLogger, runMain, runService } from '@mrp/platform';
import { loadUserServiceConfig } from './config.ts';
import { createUserService, SERVICE_NAME } from './user-service.ts';

runMain(async () => {
  const config = loadUserServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  const { service, close } = await createUserService(config, logger);
  await runService({
    service,
    config,
    logger,
    cleanup: [close],
  });
});
