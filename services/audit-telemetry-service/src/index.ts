export {
  createAuditService,
  prepareAuditDatabase,
  redisReadiness,
  MIGRATIONS_DIR,
  SERVICE_NAME,
  type AuditService,
  type AuditServiceOptions,
} from './audit-telemetry-service.ts';
export { auditServiceConfigSpec, loadAuditServiceConfig, type AuditServiceConfig } from './config.ts';
export { CONSUMER_GROUP } from './events/audit-events.consumer.ts';
