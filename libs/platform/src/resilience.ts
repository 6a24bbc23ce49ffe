import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions extends Omit<BackoffOptions, 'jitter'> {
  /** Attempts after the first one. */
  readonly retries: number;
  /** Whether an error is worth another attempt (timeouts and 5xx are; a 4xx is not). */
  readonly isRetryable: (error: unknown) => boolean;
  /** Called before each retry, e.g. to count it. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

/** How a backoff spreads its delays: `full` in [0, cap), `equal` in [cap / 2, cap]. */
export type Jitter = 'full' | 'equal';

export interface BackoffOptions {
  /** Base of the exponential backoff (ms): the cap of attempt n is base * 2^n. */
  readonly baseDelayMs: number;
  /** Largest backoff (ms). */
  readonly maxDelayMs: number;
  /**
   * `full` (the default) spreads clients that failed together the most, for retries against a shared
   * dependency; `equal` never waits less than half the cap, for a loop that must not spin (a reconnect).
   */
  readonly jitter?: Jitter;
  /** Source of randomness in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/**
 * The repository's one exponential backoff: the cap of attempt n is min(max, base * 2^n), and the delay
 * is drawn below it as `jitter` says.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  const random = (options.random ?? Math.random)();
  return options.jitter === 'equal' ? Math.round(cap / 2 + (random * cap) / 2) : Math.floor(random * cap);
}

/** Runs `attempt` until it succeeds, the error is not retryable, or the retries are spent. */
export async function retryWithBackoff<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attemptNumber = 0; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (attemptNumber >= options.retries || !options.isRetryable(error)) throw error;
      options.onRetry?.(error, attemptNumber + 1);
      await sleep(backoffDelay(attemptNumber, options));
    }
  }
}

/** Raised when a bulkhead has no free slot and its queue is full. */
export class BulkheadRejectedError extends Error {
  constructor(name: string) {
    super(`bulkhead ${name} is full`);
    this.name = 'BulkheadRejectedError';
  }
}

/**
 * Bounds the concurrent calls to one dependency, with a bounded queue behind them: a slow dependency
 * can tie up at most `maxConcurrent + maxQueue` requests, the rest are refused at once.
 */
export class Bulkhead {
  readonly #name: string;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(name: string, maxConcurrent: number, maxQueue: number) {
    this.#name = name;
    this.#maxConcurrent = maxConcurrent;
    this.#maxQueue = maxQueue;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#maxConcurrent) {
      if (this.#queue.length >= this.#maxQueue) throw new BulkheadRejectedError(this.#name);
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      // The slot passes straight to the next queued task; otherwise it is freed.
      if (next) next();
      else this.#active -= 1;
    }
  }
}
