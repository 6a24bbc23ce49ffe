import coBody from 'co-body';
import type { Middleware } from 'koa';

declare module 'koa' {
  interface Request {
    /** The parsed body (see bodyParser); undefined when none was read. */
    body?: unknown;
  }
}

/** Methods whose bodies are read; a body on any other method is ignored, as HTTP allows. */
const PARSED_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const JSON_TYPES = [
  'application/json',
  'application/json-patch+json',
  'application/vnd.api+json',
  'application/csp-report',
  'application/reports+json',
];

export interface BodyParserOptions {
  /** Largest accepted body, e.g. "100kb" (the bytes package's units). */
  readonly limit: string;
  /** Turns a read or parse failure (raw-body / co-body error) into the error to throw. */
  readonly onError: (error: Error & { status?: number; type?: string }) => Error;
}

/**
 * Reads JSON (strict: an object or an array) and `application/x-www-form-urlencoded` bodies into
 * `ctx.request.body`, up to `limit`; other content types are left unread for validation to refuse.
 * A few lines over co-body instead of a general body middleware: the services accept exactly these two
 * types, and the general ones load option validators and multipart parsers that cost every process
 * megabytes of memory and start-up time.
 */
export function bodyParser(options: BodyParserOptions): Middleware {
  return async (ctx, next) => {
    if (PARSED_METHODS.has(ctx.method)) {
      try {
        if (ctx.is(JSON_TYPES)) {
          ctx.request.body = await coBody.json(ctx, { limit: options.limit, strict: true });
        } else if (ctx.is('urlencoded')) {
          ctx.request.body = await coBody.form(ctx, { limit: options.limit });
        }
      } catch (error) {
        throw options.onError(error as Error & { status?: number; type?: string });
      }
    }
    await next();
  };
}
