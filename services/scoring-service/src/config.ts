import {
  env,
  loadConfig,
  type ConfigKey,
  type ConfigOf,
  serviceKeys,
  tokenVerificationKeys,
} from '@mrp/platform';

/** A probability between 0 and 1 written as a decimal ("0", "0.25", "1"). */
function probability(name: string, fallback: number, doc: string): ConfigKey<number> {
  return {
    env: name,
    doc,
    default: fallback,
    secret: false,
    optional: false,
    parse: (raw) => {
      const value = raw.trim();
      if (!/^(\d+(\.\d+)?|\.\d+)$/.test(value) || Number(value) > 1)
        throw new Error(`expected a probability between 0 and 1, got "${raw}"`);
      return Number(value);
    },
  };
}

/** Every setting of scoring-service: env var, default and meaning. */
export const scoringServiceConfigSpec = {
  ...serviceKeys({ port: 3004 }),
  ...tokenVerificationKeys(),
  redisUrl: env.url(
    'REDIS_URL',
    'redis://127.0.0.1:6379',
    'Redis that receives score_updated events; scoring keeps answering while it is down.',
  ),
  eventStream: env.string(
    'SCORING_EVENT_STREAM',
    'events:scoring',
    'The Redis stream score events are published to.',
  ),
  eventQueueCapacity: env.int(
    'SCORING_EVENT_QUEUE_CAPACITY',
    10_000,
    'Events held in memory while Redis is unreachable; beyond it the oldest are dropped (and counted).',
    { min: 1, max: 1_000_000 },
  ),
  eventFlushTimeoutMs: env.int(
    'SCORING_EVENT_FLUSH_TIMEOUT_MS',
    5000,
    'How long shutdown keeps trying to deliver the events still queued.',
    { min: 0, max: 60_000 },
  ),
  faultLatencyMs: env.int(
    'SCORING_FAULT_LATENCY_MS',
    0,
    'Fault injection: milliseconds added to every scoring request (0 = off).',
    { min: 0, max: 60_000 },
  ),
  faultErrorRate: probability(
    'SCORING_FAULT_ERROR_RATE',
    0,
    'Fault injection: probability (0..1) that a scoring request answers 503 (0 = off).',
  ),
  faultHang: env.bool(
    'SCORING_FAULT_HANG',
    false,
    "Fault injection: accept scoring requests and never answer them (to test callers' timeouts).",
  ),
};

export type ScoringServiceConfig = ConfigOf<typeof scoringServiceConfigSpec>;

/** Reads and checks the configuration, listing every problem at once. */
export function loadScoringServiceConfig(
  source: Record<string, string | undefined> = process.env,
): ScoringServiceConfig {
  return loadConfig(scoringServiceConfigSpec, source);
}
