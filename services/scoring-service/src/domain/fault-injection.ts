/**
 * Fault injection for resilience tests of scoring's callers. The faults come from configuration only
 * (they are off by default); nothing in a request can switch them on or off.
 */
export interface FaultSettings {
  /** Milliseconds added to every scoring request. */
  readonly latencyMs: number;
  /** Probability in [0, 1] that a scoring request fails with a 503. */
  readonly errorRate: number;
  /** Accept scoring requests and never answer them. */
  readonly hang: boolean;
}

/** Uniform numbers in [0, 1), like Math.random; tests inject a fixed sequence. */
export type RandomSource = () => number;

/** What to do with one request: never answer it, or wait `delayMs` and then fail it or let it through. */
export type FaultDecision =
  | { readonly kind: 'hang' }
  | { readonly kind: 'fail'; readonly delayMs: number }
  | { readonly kind: 'pass'; readonly delayMs: number };

export const NO_FAULTS: FaultSettings = { latencyMs: 0, errorRate: 0, hang: false };

/** True when any fault is configured. */
export function faultsEnabled(settings: FaultSettings): boolean {
  return settings.hang || settings.latencyMs > 0 || settings.errorRate > 0;
}

/**
 * Decides the fate of one request. A hang wins over everything; otherwise the latency applies to every
 * request and the random source is drawn once, and only when an error rate is set, so a rate of 0 never
 * fails and a rate of 1 always does.
 */
export function decideFault(settings: FaultSettings, random: RandomSource): FaultDecision {
  if (settings.hang) return { kind: 'hang' };
  const fail = settings.errorRate > 0 && random() < settings.errorRate;
  return { kind: fail ? 'fail' : 'pass', delayMs: settings.latencyMs };
}
