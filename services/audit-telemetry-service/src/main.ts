import { createLogger, runMain, runService } from '@mrp/platform';
import { loadAuditServiceConfig } from './config.ts';
import { createAuditService, SERVICE_NAME } from './audit-telemetry-service.ts';

runMain(async () => {
  const config = loadAuditServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  const { service, close } = await createAuditService(config, logger);
  await runService({
    service,
    config,
    logger,
    cleanup: [close],
  });
});
