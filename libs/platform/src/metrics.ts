import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The HTTP metrics every service exposes, on a registry of its own (tests run several services in one process). */
export interface HttpMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly requestsTotal: Counter<'method' | 'route' | 'status_code'>;
}

export function createHttpMetrics(serviceName: string): HttpMetrics {
  const registry = new Registry();
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
