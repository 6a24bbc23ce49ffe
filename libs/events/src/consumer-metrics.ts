/**
 * The stream consumers' metrics: counters of consumed, failed and dead-lettered messages, and gauges of
 * each stream's pending count and lag, sampled once per scrape for every consumer on a registry.
 */
import type { MetricsRegistry } from '@mrp/platform';
import { Counter, Gauge } from 'prom-client';

export interface StreamSample {
  readonly stream: string;
  readonly pending?: number;
  readonly lag?: number;
}

/** The consumer metrics of one registry, shared by every consumer registered on it. */
export interface ConsumerMetrics {
  readonly consumed: Counter<'stream' | 'type'>;
  readonly failed: Counter<'stream'>;
  readonly deadLettered: Counter<'stream' | 'reason'>;
  readonly samplers: Set<() => Promise<StreamSample[]>>;
}

const metricsByRegistry = new WeakMap<MetricsRegistry, ConsumerMetrics>();

/**
 * Samples every registered consumer once per scrape: both gauges collect within the same scrape, so a
 * sampling started less than a second ago is shared instead of asking Redis twice.
 */
function sampleOncePerScrape(samplers: ConsumerMetrics['samplers']): () => Promise<StreamSample[]> {
  let last: { at: number; samples: Promise<StreamSample[]> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > 1000) {
      last = {
        at: Date.now(),
        samples: Promise.all([...samplers].map((sample) => sample().catch(() => []))).then((all) =>
          all.flat(),
        ),
      };
    }
    return last.samples;
  };
}

export function createConsumerMetrics(registry: MetricsRegistry | undefined): ConsumerMetrics {
  const existing = registry && metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = registry ? [registry] : [];
  const samplers = new Set<() => Promise<StreamSample[]>>();
  const collectSamples = sampleOncePerScrape(samplers);
  const metrics: ConsumerMetrics = {
    consumed: new Counter({
      name: 'events_consumed_total',
      help: 'Events handled and acknowledged, by stream and event type.',
      labelNames: ['stream', 'type'],
      registers,
    }),
    failed: new Counter({
      name: 'events_failed_total',
      help: 'Handler failures (each failed attempt), by stream.',
      labelNames: ['stream'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'events_dead_lettered_total',
      help: 'Messages parked in the dead-letter stream, by stream and reason.',
      labelNames: ['stream', 'reason'],
      registers,
    }),
    samplers,
  };
  // Sampled at scrape time; while Redis is down a gauge keeps its last value rather than failing the scrape.
  new Gauge({
    name: 'events_consumer_pending',
    help: 'Messages delivered to the consumer group but not yet acknowledged (XPENDING), by stream.',
    labelNames: ['stream'],
    registers,
    async collect() {
      for (const sample of await collectSamples())
        if (sample.pending !== undefined) this.set({ stream: sample.stream }, sample.pending);
    },
  });
  new Gauge({
    name: 'events_consumer_lag',
    help: 'Entries in the stream the consumer group has not read yet, by stream.',
    labelNames: ['stream'],
    registers,
    async collect() {
      for (const sample of await collectSamples())
        if (sample.lag !== undefined) this.set({ stream: sample.stream }, sample.lag);
    },
  });
  if (registry) metricsByRegistry.set(registry, metrics);
  return metrics;
}
