import {
  ConfigError,
  env,
  loadConfig,
  type ConfigOf,
  serviceKeys,
  databaseKeys,
  tokenVerificationKeys,
} from '@mrp/platform';
import { defaultConsumerName, STREAMS } from '@mrp/events';

/** Every setting of audit-telemetry-service: env var, default and meaning. */
export const auditServiceConfigSpec = {
  ...serviceKeys({ port: 3005 }),
  ...databaseKeys('mrp_audit'),
  ...tokenVerificationKeys(),
  redisUrl: env.url('REDIS_URL', 'redis://127.0.0.1:6379', 'Redis holding the event streams.'),
  streams: env.list(
    'AUDIT_STREAMS',
    [STREAMS.case, STREAMS.scoring],
    'Comma-separated event streams the audit log consumes (every producing stream).',
  ),
  deadLetterStream: env.string(
    'AUDIT_DEAD_LETTER_STREAM',
    STREAMS.deadLetter,
    'Stream where messages that cannot be stored are parked.',
  ),
  consumerName: env.string(
    'CONSUMER_NAME',
    defaultConsumerName(),
    'Name of this replica in the consumer group; unique per replica (the pod name), default <host>-<pid>.',
  ),
  maxDeliveries: env.int(
    'AUDIT_MAX_DELIVERIES',
    5,
    'Deliveries after which an event that still cannot be stored is dead-lettered.',
    { min: 1, max: 1000 },
  ),
  consumerConcurrency: env.int(
    'AUDIT_CONSUMER_CONCURRENCY',
    8,
    'Events stored one by one at once by this replica (reclaimed events, and the events of a read whose one insert failed), each on its own database connection; a read takes up to 4 times as many, stored in one insert. Keep it below DATABASE_POOL_MAX.',
    { min: 1, max: 100 },
  ),
  claimIdleMs: env.int(
    'AUDIT_CLAIM_IDLE_MS',
    30_000,
    'An event pending this long (ms) in a replica that stopped or crashed is taken over by another.',
    { min: 10, max: 86_400_000 },
  ),
};

export type AuditServiceConfig = ConfigOf<typeof auditServiceConfigSpec>;

/** Reads and checks the configuration: at least one stream, and never the dead-letter stream itself. */
export function loadAuditServiceConfig(
  source: Record<string, string | undefined> = process.env,
): AuditServiceConfig {
  const config = loadConfig(auditServiceConfigSpec, source);
  const problems: string[] = [];
  if (config.streams.length === 0) problems.push('AUDIT_STREAMS must name at least one stream');
  if (config.streams.includes(config.deadLetterStream))
    problems.push('AUDIT_STREAMS must not include the dead-letter stream (AUDIT_DEAD_LETTER_STREAM)');
  if (new Set(config.streams).size !== config.streams.length)
    problems.push('AUDIT_STREAMS names a stream more than once');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
