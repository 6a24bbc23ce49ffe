import {
  collectDefaultMetrics,
  Counter,
  Histogram,
  Registry,
  type OpenMetricsContentType,
} from 'prom-client';

/** A service's metrics registry; it speaks OpenMetrics so histogram buckets can carry exemplars. */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/** The HTTP metrics every service exposes, on a registry of its own (tests run several services in one process). */
/** An empty OpenMetrics registry (prom-client's typings bind the format at construction but omit the argument). */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry() as unknown as MetricsRegistry;
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

export interface HttpMetrics {
  readonly registry: MetricsRegistry;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly requestsTotal: Counter<'method' | 'route' | 'status_code'>;
}

export function createHttpMetrics(serviceName: string): HttpMetrics {
  const registry = createMetricsRegistry();
  registry.setDefaultLabels({ service: serviceName });
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  return {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by route template.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      enableExemplars: true,
      registers: [registry],
    }),
    requestsTotal: new Counter({
      name: 'http_requests_total',
      help: 'Requests answered, by route template and status code.',
      labelNames,
      registers: [registry],
    }),
  };
}
