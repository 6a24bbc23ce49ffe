import CircuitBreaker from 'opossum';
import { Counter, Gauge } from 'prom-client';
import {
  Bulkhead,
  BulkheadRejectedError,
  httpRequest,
  retryWithBackoff,
  type HttpResponse,
  type Logger,
  type MetricsRegistry,
} from '@mrp/platform';
import type { CaseScore, RiskBand, ScoreReason } from '../domain/case.ts';

export interface ScoringClientOptions {
  readonly baseUrl: string;
  /** Time limit of one attempt (ms). */
  readonly attemptTimeoutMs: number;
  readonly retries: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Failure percentage (over the rolling window) that opens the breaker. */
  readonly breakerErrorThresholdPercent: number;
  /** Calls in the window before the breaker may open. */
  readonly breakerVolumeThreshold: number;
  /** How long the breaker stays open before letting a trial call through (ms). */
  readonly breakerResetMs: number;
  readonly bulkheadMaxConcurrent: number;
  readonly bulkheadMaxQueue: number;
  readonly logger: Logger;
  readonly registry: MetricsRegistry;
}

/** A call's token (case-service's own) and the request it belongs to (null for background work). */
export interface CallContext {
  readonly token: string;
  readonly requestId: string | null;
}

/** Why a case could not be scored; the case is then stored as PENDING_SCORE with this reason. */
export class ScoringUnavailableError extends Error {
  readonly reason:
    'breaker_open' | 'bulkhead_full' | 'timeout' | 'unreachable' | 'server_error' | 'rejected' | 'no_token';
  constructor(reason: ScoringUnavailableError['reason'], message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ScoringUnavailableError';
    this.reason = reason;
  }
}

interface ScoreResponse {
  score: number;
  risk_band: RiskBand;
  model_version: string;
  reasons: ScoreReason[];
  scored_at: string;
}

const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * case-service's view of scoring-service, with every resilience pattern in one place: a bulkhead
 * (bounded concurrency and queue) around an opossum circuit breaker around retries with exponential
 * backoff and full jitter, each attempt with its own timeout. Client errors (4xx) are neither retried
 * nor counted against the breaker.
 */
export class ScoringClient {
  readonly #options: ScoringClientOptions;
  readonly #bulkhead: Bulkhead;
  readonly #breaker: CircuitBreaker<[string, Record<string, unknown>, CallContext], ScoreResponse>;
  readonly #retries: Counter;
  readonly #rejections: Counter;

  constructor(options: ScoringClientOptions) {
    this.#options = options;
    this.#bulkhead = new Bulkhead('scoring', options.bulkheadMaxConcurrent, options.bulkheadMaxQueue);
    const registers = [options.registry];
    this.#retries = new Counter({
      name: 'scoring_client_retries_total',
      help: 'Retried calls to scoring-service.',
      registers,
    });
    this.#rejections = new Counter({
      name: 'scoring_client_bulkhead_rejections_total',
      help: 'Calls to scoring-service refused because the bulkhead was full.',
      registers,
    });
    const transitions = new Counter({
      name: 'scoring_client_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered.',
      labelNames: ['state'],
      registers,
    });
    const state = new Gauge({
      name: 'scoring_client_breaker_state',
      help: 'Circuit breaker state towards scoring-service: 0 closed, 1 half-open, 2 open.',
      registers,
    });
    const bulkhead = this.#bulkhead;
    new Gauge({
      name: 'scoring_client_bulkhead_in_use',
      help: 'Calls to scoring-service running (active) or waiting (queued).',
      labelNames: ['slot'],
      registers,
      collect() {
        this.set({ slot: 'active' }, bulkhead.active);
        this.set({ slot: 'queued' }, bulkhead.queued);
      },
    });
    state.set(BREAKER_STATE.closed);

    this.#breaker = new CircuitBreaker(
      (path: string, body: Record<string, unknown>, call: CallContext) =>
        this.#callWithRetries(path, body, call),
      {
        // The retries have their own time limits; the breaker only counts outcomes.
        timeout: false,
        errorThresholdPercentage: options.breakerErrorThresholdPercent,
        volumeThreshold: options.breakerVolumeThreshold,
        resetTimeout: options.breakerResetMs,
        rollingCountTimeout: 10_000,
        rollingCountBuckets: 10,
        errorFilter: (error: unknown) =>
          error instanceof ScoringUnavailableError && error.reason === 'rejected',
      },
    );
    for (const [event, value] of [
      ['open', BREAKER_STATE.open],
      ['halfOpen', BREAKER_STATE.half_open],
      ['close', BREAKER_STATE.closed],
    ] as const) {
      this.#breaker.on(event as 'open', () => {
        state.set(value);
        transitions.inc({ state: event === 'halfOpen' ? 'half_open' : event === 'open' ? 'open' : 'closed' });
        options.logger.warn(
          { dependency: 'scoring-service', breaker: event },
          'circuit breaker state changed',
        );
      });
    }
  }

  /** Whether calls are being refused without trying (breaker open). */
  get isOpen(): boolean {
    return this.#breaker.opened;
  }

  /** Scores a case's features with case-service's token, for a request (its ID) or for background work. */
  async score(caseId: string, features: Record<string, unknown>, call: CallContext): Promise<CaseScore> {
    let response: ScoreResponse;
    try {
      response = await this.#bulkhead.run(() =>
        this.#breaker.fire('/v1/scoring/score', { case_id: caseId, features }, call),
      );
    } catch (error) {
      if (error instanceof ScoringUnavailableError) throw error;
      if (error instanceof BulkheadRejectedError) {
        this.#rejections.inc();
        throw new ScoringUnavailableError('bulkhead_full', 'too many scoring calls in flight', error);
      }
      if ((error as { code?: string }).code === 'EOPENBREAKER') {
        throw new ScoringUnavailableError(
          'breaker_open',
          'the circuit breaker towards scoring-service is open',
          error,
        );
      }
      throw new ScoringUnavailableError('unreachable', 'scoring-service failed', error);
    }
    return {
      // Stored as numeric(5, 4): rounded here as the column would round it, so the answer, the stored case
      // and its events agree.
      value: Math.round(response.score * 10_000) / 10_000,
      riskBand: response.risk_band,
      modelVersion: response.model_version,
      reasons: response.reasons,
      scoredAt: new Date(response.scored_at),
    };
  }

  async #callWithRetries(
    path: string,
    body: Record<string, unknown>,
    call: CallContext,
  ): Promise<ScoreResponse> {
    return retryWithBackoff(() => this.#attempt(path, body, call), {
      retries: this.#options.retries,
      baseDelayMs: this.#options.backoffBaseMs,
      maxDelayMs: this.#options.backoffMaxMs,
      isRetryable: (error) => !(error instanceof ScoringUnavailableError && error.reason === 'rejected'),
      onRetry: () => {
        this.#retries.inc();
      },
    });
  }

  async #attempt(path: string, body: Record<string, unknown>, call: CallContext): Promise<ScoreResponse> {
    let response: HttpResponse;
    try {
      response = await httpRequest(new URL(path, this.#options.baseUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${call.token}`,
          'content-type': 'application/json',
          ...(call.requestId ? { 'x-request-id': call.requestId } : {}),
        },
        body: JSON.stringify(body),
        timeoutMs: this.#options.attemptTimeoutMs,
      });
    } catch (error) {
      const timedOut = (error as { name?: string }).name === 'TimeoutError';
      throw new ScoringUnavailableError(
        timedOut ? 'timeout' : 'unreachable',
        timedOut ? 'scoring timed out' : 'scoring is unreachable',
        error,
      );
    }
    if (response.ok) return response.json() as ScoreResponse;
    const { text } = response;
    if (
      response.status >= 400 &&
      response.status < 500 &&
      response.status !== 408 &&
      response.status !== 429
    ) {
      throw new ScoringUnavailableError(
        'rejected',
        `scoring refused the request: ${response.status} ${text.slice(0, 200)}`,
      );
    }
    throw new ScoringUnavailableError('server_error', `scoring answered ${response.status}`);
  }

  /** Stops the breaker's timers (shutdown). */
  shutdown(): void {
    this.#breaker.shutdown();
  }
}
