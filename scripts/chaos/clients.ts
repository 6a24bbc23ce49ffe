/**
 * Clients that behave as the API documents: each creates cases one after another with a fresh
 * Idempotency-Key, and on a connection error, a 5xx, a 409 (the same key still in progress) or a 429 it
 * retries with the same key after Retry-After (or a short pause). An answer 201 is an acknowledgement:
 * the platform promised that case.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Acknowledged {
  readonly key: string;
  readonly caseId: string;
  /** When the attempt that got the 201 was sent, and when its answer came (ms since the epoch). */
  readonly sentAt: number;
  readonly at: number;
}

export interface ClientFigures {
  readonly acknowledged: Acknowledged[];
  /** Attempts answered with something to retry (error, 5xx, 409, 429), by what it was. */
  readonly retried: Map<string, number>;
  /** Creates whose retries ran out (not acknowledged: the client may not count on them). */
  readonly givenUp: string[];
  /** Answers the API never gives a valid request (a 4xx other than 409 and 429): a defect. */
  readonly unexpected: string[];
  requests: number;
}

export interface ClientOptions {
  readonly gateway: string;
  readonly token: () => string;
  /** Called on 401: the token is renewed (it may have expired during a long run). */
  readonly renewToken: () => Promise<void>;
  readonly ownerId: string;
  /** Clients stop starting new creates once this returns true; the ones in progress finish. */
  readonly stopping: () => boolean;
  /** How long one create may keep retrying before the client gives up on it (ms). */
  readonly retryForMs: number;
}

async function attempt(
  options: ClientOptions,
  key: string,
): Promise<
  | { outcome: 'created'; caseId: string }
  | { outcome: 'retry'; why: string; waitMs: number }
  | { outcome: 'unexpected'; why: string }
  | { outcome: 'unauthorized' }
> {
  try {
    const response = await fetch(`${options.gateway}/v1/cases`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.token()}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ title: `chaos ${key}`, owner_id: options.ownerId }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    if (response.status === 201)
      return { outcome: 'created', caseId: (JSON.parse(text) as { id: string }).id };
    if (response.status === 401) return { outcome: 'unauthorized' };
    if (response.status >= 500 || response.status === 409 || response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        outcome: 'retry',
        why: String(response.status),
        waitMs: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 5) * 1000 : 200,
      };
    }
    return { outcome: 'unexpected', why: `${response.status} ${text.slice(0, 200)}` };
  } catch (error) {
    const why =
      error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.name) : 'error';
    return { outcome: 'retry', why: `connection: ${why}`, waitMs: 200 };
  }
}

async function createOne(options: ClientOptions, figures: ClientFigures): Promise<void> {
  const key = randomUUID();
  const deadline = Date.now() + options.retryForMs;
  while (Date.now() < deadline) {
    figures.requests += 1;
    const sentAt = Date.now();
    const result = await attempt(options, key);
    if (result.outcome === 'created') {
      figures.acknowledged.push({ key, caseId: result.caseId, sentAt, at: Date.now() });
      return;
    }
    if (result.outcome === 'unexpected') {
      figures.unexpected.push(result.why);
      return;
    }
    if (result.outcome === 'unauthorized') {
      await options.renewToken().catch(() => undefined);
      continue;
    }
    figures.retried.set(result.why, (figures.retried.get(result.why) ?? 0) + 1);
    await sleep(result.waitMs);
  }
  figures.givenUp.push(key);
}

/** Runs `count` clients until `stopping()`; resolves when the last one finished its create in progress. */
export async function runClients(count: number, options: ClientOptions): Promise<ClientFigures> {
  const figures: ClientFigures = {
    acknowledged: [],
    retried: new Map(),
    givenUp: [],
    unexpected: [],
    requests: 0,
  };
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (!options.stopping()) await createOne(options, figures);
    }),
  );
  return figures;
}
