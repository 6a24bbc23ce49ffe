import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type AppContext } from '@mrp/platform';
import { Counter } from 'prom-client';
import {
  decideFault,
  faultsEnabled,
  type FaultSettings,
  type RandomSource,
} from '../domain/fault-injection.ts';

const injectedFailure = (detail: string) =>
  new AppError({
    code: 'injected_fault',
    status: 503,
    title: 'Scoring is unavailable',
    detail,
    headers: { 'Retry-After': '1' },
    // An injected fault is the experiment working, not an incident: it is counted, not logged as an error.
    reportable: false,
  });

/** Resolves once the client's connection is gone (it gave up, or the server closed it at shutdown). */
function untilConnectionCloses(ctx: AppContext): Promise<void> {
  return new Promise((resolve) => {
    if (ctx.res.destroyed || ctx.req.socket.destroyed) {
      resolve();
      return;
    }
    ctx.res.once('close', () => {
      resolve();
    });
  });
}

/** Applies the configured faults to a request, counting each one it injects. */
export class FaultInjector {
  readonly #settings: FaultSettings;
  readonly #random: RandomSource;
  readonly injected = new Counter({
    name: 'scoring_injected_faults_total',
    help: 'Faults injected into scoring requests by configuration, by kind (latency, error, hang).',
    labelNames: ['kind'] as const,
    registers: [],
  });

  constructor(settings: FaultSettings, random: RandomSource = Math.random) {
    this.#settings = settings;
    this.#random = random;
  }

  get enabled(): boolean {
    return faultsEnabled(this.#settings);
  }

  /** Delays, fails (503 problem) or never finishes the request, as configured; a no-op when all are off. */
  async apply(ctx: AppContext): Promise<void> {
    if (!this.enabled) return;
    const decision = decideFault(this.#settings, this.#random);
    if (decision.kind === 'hang') {
      this.injected.inc({ kind: 'hang' });
      await untilConnectionCloses(ctx);
      throw injectedFailure('injected fault: the request was held until the connection closed');
    }
    if (decision.delayMs > 0) {
      this.injected.inc({ kind: 'latency' });
      await sleep(decision.delayMs);
    }
    if (decision.kind === 'fail') {
      this.injected.inc({ kind: 'error' });
      throw injectedFailure('injected fault: scoring is configured to fail a share of requests');
    }
  }
}
