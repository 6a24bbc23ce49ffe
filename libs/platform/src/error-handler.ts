import type { Middleware } from 'koa';
import { AppError } from './errors.ts';
import { isDatabaseUnavailable, isPgError, PG_DATA_EXCEPTION_CLASS } from './pg-errors.ts';
import { problemType, sendProblem } from './problem.ts';
import type { AppState } from './request-context.ts';

/** The body parser's failures as client errors: they are always the client's input. */
export function bodyParseError(error: Error & { status?: number; type?: string }, limit: string): AppError {
  if (error.type === 'entity.too.large' || error.status === 413) {
    return new AppError({
      code: 'payload_too_large',
      status: 413,
      title: 'The request body is too large',
      detail: `the body must not exceed ${limit}`,
    });
  }
  if (error.status === 415) {
    return new AppError({
      code: 'unsupported_media_type',
      status: 415,
      title: 'Unsupported media type',
      detail: error.message,
    });
  }
  return new AppError({
    code: 'malformed_body',
    status: 400,
    title: 'The request body cannot be parsed',
    detail: error.message.includes('only supports object and array')
      ? 'a JSON body must be an object or an array'
      : 'the body is not well-formed for its content type',
  });
}

/** Codes for the 4xx errors raised by the body parser and the router. */
function codeForExposedError(error: { type?: unknown; status: number; code?: unknown }): string {
  if (typeof error.code === 'string' && /^[a-z][a-z0-9_]*$/.test(error.code)) return error.code;
  if (error.type === 'entity.too.large' || error.status === 413) return 'payload_too_large';
  if (error.type === 'entity.parse.failed') return 'malformed_body';
  if (error.status === 415) return 'unsupported_media_type';
  if (error.status === 404) return 'not_found';
  return 'bad_request';
}

const STATUS_TITLES: Record<number, string> = {
  400: 'The request is not valid',
  404: 'Not found',
  413: 'The request body is too large',
  415: 'Unsupported media type',
};

/**
 * The one error handler: AppErrors and the exposed 4xx errors of the body parser and the router become
 * problems; anything else is logged with its stack and answered with a generic 500 that leaks nothing.
 */
export function problemErrors(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) {
          sendProblem(ctx, {
            type: problemType('not_found'),
            title: 'Not found',
            status: 404,
            detail: `no route for ${ctx.method} ${ctx.path}`,
            code: 'not_found',
            request_id: ctx.state.requestId,
          });
        } else if (ctx.status === 405 || ctx.status === 501) {
          // The router answers 501 for methods no route knows; to the client both mean "not this method".
          sendProblem(ctx, {
            type: problemType('method_not_allowed'),
            title: 'Method not allowed',
            status: 405,
            detail: `${ctx.method} is not allowed on ${ctx.path}`,
            code: 'method_not_allowed',
            request_id: ctx.state.requestId,
          });
        }
      }
    } catch (caught) {
      const requestId = ctx.state.requestId;
      if (caught instanceof AppError) {
        if (caught.reportable) ctx.state.log.error({ err: caught }, caught.message);
        sendProblem(
          ctx,
          {
            ...caught.extensions,
            type: problemType(caught.code),
            title: caught.title,
            status: caught.status,
            detail: caught.detail,
            code: caught.code,
            request_id: requestId,
          },
          caught.headers,
        );
        return;
      }
      const error = caught as { status?: unknown; expose?: unknown; message?: unknown; errors?: unknown };
      if (
        typeof error.status === 'number' &&
        error.status >= 400 &&
        error.status < 500 &&
        error.expose === true
      ) {
        const code = codeForExposedError(error as { status: number });
        sendProblem(ctx, {
          type: problemType(code),
          title: STATUS_TITLES[error.status] ?? 'Bad request',
          status: error.status,
          detail: typeof error.message === 'string' ? error.message : undefined,
          code,
          request_id: requestId,
          ...(Array.isArray(error.errors) ? { errors: error.errors } : {}),
        });
        return;
      }
      if (isPgError(caught, PG_DATA_EXCEPTION_CLASS)) {
        // Input that passed validation but not Postgres (a value out of range): still the client's input.
        ctx.state.log.warn({ err: caught }, 'input refused by the database');
        sendProblem(ctx, {
          type: problemType('invalid_input'),
          title: 'The request is not valid',
          status: 400,
          detail: 'a value in the request cannot be stored (out of range, or containing a NUL character)',
          code: 'invalid_input',
          request_id: requestId,
        });
        return;
      }
      if (isDatabaseUnavailable(caught)) {
        ctx.state.log.warn({ err: caught }, 'database unavailable');
        sendProblem(
          ctx,
          {
            type: problemType('dependency_unavailable'),
            title: 'A dependency is unavailable',
            status: 503,
            detail: 'the database cannot be reached; retry shortly',
            code: 'dependency_unavailable',
            request_id: requestId,
          },
          { 'Retry-After': '1' },
        );
        return;
      }
      ctx.state.log.error({ err: caught }, 'unhandled error');
      sendProblem(ctx, {
        type: problemType('internal_error'),
        title: 'Internal server error',
        status: 500,
        detail: 'an unexpected error occurred; quote the request ID when reporting it',
        code: 'internal_error',
        request_id: requestId,
      });
    }
  };
}
