import type { Middleware } from 'koa';
import { getSchema, getValidator, type ErrorObject } from './registry.ts';
import type { RouteSpec } from './route-spec.ts';

/** A field-level validation failure; `pointer` is a JSON Pointer into the request part. */
export interface RequestFieldError {
  readonly in: 'body' | 'query' | 'path';
  readonly pointer: string;
  readonly message: string;
}

/**
 * Thrown when a request does not match its contract. It carries an HTTP status and `expose`, like the
 * errors of the body parser and http-errors, so the service's error handler renders it as a 4xx problem.
 */
export class RequestValidationError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose = true;
  readonly errors: readonly RequestFieldError[];
  constructor(problem: {
    readonly status: number;
    readonly code: string;
    readonly message: string;
    readonly errors?: readonly RequestFieldError[];
  }) {
    super(problem.message);
    this.name = 'RequestValidationError';
    this.status = problem.status;
    this.code = problem.code;
    this.errors = problem.errors ?? [];
  }
}

/** The validated parts of a request, stored on `ctx.state.input` by `validateRequest`. */
export interface ValidatedInput {
  body: unknown;
  query: unknown;
  params: unknown;
}

function describe(error: ErrorObject): { pointer: string; message: string } {
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { pointer: `${error.instancePath}/${extra}`, message: `unknown field "${extra}"` };
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { pointer: `${error.instancePath}/${missing}`, message: `"${missing}" is required` };
  }
  return { pointer: error.instancePath || '/', message: error.message ?? 'is invalid' };
}

function check(part: RequestFieldError['in'], schemaName: string, value: unknown): RequestFieldError[] {
  const validate = getValidator(schemaName);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => ({ in: part, ...describe(error) }));
}

/**
 * Query strings carry only strings; the schema says which parameters are integers (the only other type a
 * query contract uses). A value that does not look like an integer is left as a string so that validation
 * reports it.
 */
function coerceQuery(schemaName: string, query: Record<string, unknown>): Record<string, unknown> {
  const properties = (getSchema(schemaName).properties ?? {}) as Record<string, { type?: unknown }>;
  const result: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(query)) {
    const integer =
      properties[name]?.type === 'integer' && typeof raw === 'string' && /^-?\d{1,15}$/.test(raw);
    result[name] = integer ? Number(raw) : raw;
  }
  return result;
}

/**
 * Validates path parameters, query and body of a request against the route's contracts, rejecting a
 * body of the wrong media type with 415 and any other mismatch with 400 listing every problem.
 * The validated (and defaulted) values are stored on `ctx.state.input`.
 */
export function validateRequest(spec: RouteSpec): Middleware<{ input: ValidatedInput }> {
  return async (ctx, next) => {
    const problems: RequestFieldError[] = [];
    const params = { ...(ctx as unknown as { params?: Record<string, string> }).params };
    if (spec.params) problems.push(...check('path', spec.params, params));

    const query = spec.query ? coerceQuery(spec.query, { ...ctx.query }) : {};
    if (spec.query) problems.push(...check('query', spec.query, query));
    else if (Object.keys(ctx.query).length > 0) {
      problems.push(
        ...Object.keys(ctx.query).map((name) => ({
          in: 'query' as const,
          pointer: `/${name}`,
          message: `unknown parameter "${name}"`,
        })),
      );
    }

    let body: unknown = undefined;
    if (spec.body) {
      if (!ctx.is(spec.body.mediaType)) {
        throw new RequestValidationError({
          status: 415,
          code: 'unsupported_media_type',
          message: `the request body must be ${spec.body.mediaType}`,
        });
      }
      body = (ctx.request as { body?: unknown }).body;
      problems.push(...check('body', spec.body.schema, body));
    }

    if (problems.length > 0) {
      throw new RequestValidationError({
        status: 400,
        code: 'validation_failed',
        message: 'the request does not match its contract',
        errors: problems,
      });
    }
    ctx.state.input = { body, query, params };
    await next();
  };
}
