import { createLogger, runMain, runService } from '@mrp/platform';
import { createCaseService, SERVICE_NAME } from './case-service.ts';
import { loadCaseServiceConfig } from './config.ts';

runMain(async () => {
  const config = loadCaseServiceConfig();
  const logger = createLogger({ serviceName: SERVICE_NAME, level: config.logLevel });
  const caseService = await createCaseService(config, logger);
  if (config.workersEnabled) caseService.startWorkers();
  await runService({
    service: caseService.service,
    config,
    logger,
    cleanup: [caseService.close],
  });
});
