import { isDatabaseUnavailable, type HttpMetrics, type Logger } from '@mrp/platform';
import { StreamConsumer } from '@mrp/events';
import type { AuditServiceConfig } from '../config.ts';
import type { AuditUseCases } from '../domain/audit.use-cases.ts';

/** The consumer group of the audit log: every replica shares it, so each event is stored by one of them. */
export const CONSUMER_GROUP = 'audit-telemetry';

/**
 * The audit log's entry point for events: every event stream, consumed in the `audit-telemetry` group,
 * the events of each read stored idempotently in one insert and acknowledged after it committed. While audit-db is
 * down the events in hand are retried in place (not dead-lettered); an event that cannot be stored is retried up
 * to AUDIT_MAX_DELIVERIES times, then parked in the dead-letter stream.
 */
export function createAuditConsumer(
  config: AuditServiceConfig,
  audit: AuditUseCases,
  logger: Logger,
  registry: HttpMetrics['registry'],
): StreamConsumer {
  return new StreamConsumer({
    redis: config.redisUrl,
    streams: config.streams,
    group: CONSUMER_GROUP,
    consumer: config.consumerName,
    maxDeliveries: config.maxDeliveries,
    // Entries are stored idempotently by event id and listed by occurred_at, not by arrival, so a read's
    // events are stored together (handleBatch), and several at once when they are stored one by one.
    concurrency: config.consumerConcurrency,
    batchSize: Math.max(10, config.consumerConcurrency * 4),
    claimIdleMs: config.claimIdleMs,
    deadLetterStream: config.deadLetterStream,
    isTransient: isDatabaseUnavailable,
    logger,
    registry,
    async handle(event, meta) {
      const stored = await audit.recordEvent(event, meta);
      if (!stored) logger.debug({ event_id: event.id, stream: meta.stream }, 'duplicate event ignored');
    },
    // The events of one read in one insert and one commit, acknowledged together; an event audit-db
    // refuses makes the batch fail, and its events are then stored one by one by handle().
    async handleBatch(deliveries) {
      const stored = await audit.recordEvents(deliveries.map(({ event, meta }) => ({ event, origin: meta })));
      if (stored < deliveries.length)
        logger.debug({ events: deliveries.length, stored }, 'duplicate events ignored');
    },
  });
}
