/**
 * Event lag: a case's created_at (case-db) to its case_created row's received_at (audit-db), both stamped by
 * the same Postgres server's clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { auditArrivals } from './gateway-client.ts';
import { checkNotStopping } from './lifecycle.ts';
import { percentile } from './load.ts';
import { LAG_TIMEOUT_S } from './settings.ts';

export interface LagFigures {
  readonly created: number;
  readonly arrived: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  /** From the end of the create run until the audit log held every case (or the wait gave up). */
  readonly caught_up_after_ms: number | null;
}

/** Pages through the audit log until it holds every created case or LAG_TIMEOUT_S passes. */
export async function measureLag(
  gateway: string,
  token: string,
  created: ReadonlyMap<string, number>,
  since: string,
  loadEnded: number,
): Promise<LagFigures> {
  const deadline = Date.now() + LAG_TIMEOUT_S * 1000;
  let arrivals = new Map<string, number>();
  let caughtUp: number | null = null;
  for (;;) {
    checkNotStopping();
    arrivals = await auditArrivals(gateway, token, since);
    const missing = [...created.keys()].filter((id) => !arrivals.has(id)).length;
    if (missing === 0) {
      caughtUp = Date.now() - loadEnded;
      break;
    }
    if (Date.now() >= deadline) break;
    await sleep(500);
  }
  const lags = [...created]
    .filter(([id]) => arrivals.has(id))
    .map(([id, createdAt]) => arrivals.get(id)! - createdAt)
    .sort((a, b) => a - b);
  return {
    created: created.size,
    arrived: lags.length,
    p50_ms: percentile(lags, 50),
    p99_ms: percentile(lags, 99),
    max_ms: lags.at(-1) ?? Number.NaN,
    caught_up_after_ms: caughtUp,
  };
}
