export { createCaseService, MIGRATIONS_DIR, SERVICE_NAME, type CaseService } from './case-service.ts';
export { caseServiceConfigSpec, loadCaseServiceConfig, type CaseServiceConfig } from './config.ts';
