import { backoffDelay, type Logger, type Pool, type MetricsRegistry } from '@mrp/platform';
import { Counter } from 'prom-client';
import { caseRepository } from '../data/case.repository.ts';
import { idempotencyRepository } from '../data/idempotency.repository.ts';
import type { ScoringClient } from '../clients/scoring.client.ts';
import type { CaseUseCases } from '../domain/case.use-cases.ts';

export interface RescoreWorkerOptions {
  readonly pool: Pool;
  readonly cases: CaseUseCases;
  readonly scoring: ScoringClient;
  readonly logger: Logger;
  readonly registry: MetricsRegistry;
  /** Pause between polls (ms). */
  readonly intervalMs: number;
  readonly batchSize: number;
  /** How long a claimed case is reserved for this worker (ms). */
  readonly leaseMs: number;
  /** Backoff between attempts on one case: base and cap (ms). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/**
 * Scores the cases left unscored (PENDING_SCORE, or OPEN after a crash mid-creation) once scoring answers
 * again, with a service token. Safe with several replicas: a case is claimed with a lease under
 * `FOR UPDATE SKIP LOCKED`, and each failed attempt pushes the next one back with exponential backoff.
 * It also deletes expired idempotency keys once a minute.
 */
export class RescoreWorker {
  readonly #options: RescoreWorkerOptions;
  readonly #rescored: Counter;
  #running = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(options: RescoreWorkerOptions) {
    this.#options = options;
    this.#rescored = new Counter({
      name: 'case_rescore_attempts_total',
      help: 'Re-scoring attempts of pending cases, by outcome.',
      labelNames: ['outcome'],
      registers: [options.registry],
    });
  }

  /** Tries the due cases once; resolves with how many got a score. */
  async runOnce(): Promise<number> {
    // While the breaker is open every call would be refused; wait for it to let a trial through.
    if (this.#options.scoring.isOpen) return 0;
    const claimed = await caseRepository.claimUnscored(
      this.#options.pool,
      this.#options.batchSize,
      this.#options.leaseMs,
    );
    if (claimed.length === 0) return 0;
    let scored = 0;
    for (const record of claimed) {
      const delay = backoffDelay(record.attempts, {
        baseDelayMs: this.#options.backoffBaseMs,
        maxDelayMs: this.#options.backoffMaxMs,
      });
      const ok = await this.#options.cases.rescore(
        record,
        'service:case-service',
        Math.max(delay, this.#options.backoffBaseMs),
      );
      scored += ok ? 1 : 0;
      this.#rescored.inc({ outcome: ok ? 'scored' : 'failed' });
    }
    if (scored > 0) this.#options.logger.info({ scored, claimed: claimed.length }, 'pending cases re-scored');
    return scored;
  }

  /** Whether the loop should go on (a getter, so checks after an await read the current value). */
  get isRunning(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let lastCleanup = 0;
    while (this.#running) {
      try {
        await this.runOnce();
        // Expired idempotency keys are also replaced on use; this keeps the table from growing.
        if (Date.now() - lastCleanup > 60_000) {
          lastCleanup = Date.now();
          await idempotencyRepository.deleteExpired(this.#options.pool);
        }
      } catch (error) {
        this.#options.logger.warn({ err: error }, 're-scoring pass failed; will retry');
      }
      if (!this.isRunning) break;
      await new Promise<void>((resolve) => {
        this.#timer = setTimeout(resolve, this.#options.intervalMs);
        this.#wake = resolve;
      });
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }
}
