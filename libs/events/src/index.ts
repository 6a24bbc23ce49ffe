export {
  activeTraceparent,
  assertValidEnvelope,
  createEvent,
  EVENT_TYPES,
  InvalidEventError,
  parseEvent,
  type EventEnvelope,
  type EventType,
  type NewEvent,
} from './envelope.ts';
export { appendEvent, createRedis, EVENT_FIELD, STREAM_MAX_LENGTH, STREAMS } from './streams.ts';
export type { Redis } from 'ioredis';
export {
  enqueueEvent,
  enqueueRow,
  OutboxRelay,
  outboxRow,
  type OutboxRelayOptions,
  type OutboxRow,
} from './outbox.ts';
export {
  defaultConsumerName,
  StreamConsumer,
  type BatchEventHandler,
  type DeadLetterReason,
  type Delivery,
  type DeliveryMeta,
  type EventHandler,
  type StreamConsumerOptions,
} from './stream-consumer.ts';
