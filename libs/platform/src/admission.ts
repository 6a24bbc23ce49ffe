import type { Middleware } from 'koa';
import { AppError } from './errors.ts';
import type { AppState } from './request-context.ts';
import { QUIET_ROUTES } from './request-logging.ts';

/**
 * Admission control: at most `limit` requests in the handlers at once. The one over the limit is answered
 * 503 with `Retry-After` before its body is read, which keeps latency bounded for the admitted ones and
 * tells well-behaved clients when to come back. Probes and scrapes are always served.
 */
export function admission(limit: number): Middleware<AppState> {
  let inFlight = 0;
  return async (ctx, next) => {
    if (QUIET_ROUTES.has(ctx.path)) {
      await next();
      return;
    }
    if (inFlight >= limit) {
      throw new AppError({
        code: 'overloaded',
        status: 503,
        title: 'The service is overloaded',
        detail: 'too many requests are in progress; retry after the delay in Retry-After',
        headers: { 'Retry-After': '1' },
      });
    }
    inFlight += 1;
    try {
      await next();
    } finally {
      inFlight -= 1;
    }
  };
}
