/**
 * The one error model: an AppError carries a stable snake_case `code`, an HTTP status, a human title
 * and whether it is worth reporting (logged at error level). The Koa error handler turns it into an
 * RFC 9457 problem; anything else becomes a generic 500 that leaks nothing.
 */
export interface AppErrorOptions {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail?: string | undefined;
  /** Extra problem members, e.g. `errors` for validation failures. */
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
  /** Response headers to set with the problem (e.g. WWW-Authenticate). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly reportable?: boolean | undefined;
  readonly cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly reportable: boolean;

  constructor(options: AppErrorOptions) {
    super(options.detail ?? options.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.status = options.status;
    this.title = options.title;
    this.detail = options.detail;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
    this.reportable = options.reportable ?? options.status >= 500;
  }
}

/** A field-level problem reported with a 400. `pointer` is a JSON Pointer into the request part. */
export interface FieldError {
  readonly in: 'body' | 'query' | 'path' | 'header';
  readonly pointer: string;
  readonly message: string;
}

export const errors = {
  badRequest: (detail: string, fieldErrors?: readonly FieldError[]) =>
    new AppError({
      code: 'validation_failed',
      status: 400,
      title: 'The request is not valid',
      detail,
      extensions: fieldErrors ? { errors: fieldErrors } : undefined,
    }),
  unauthorized: (detail: string) =>
    new AppError({
      code: 'unauthorized',
      status: 401,
      title: 'Authentication is required',
      detail,
      headers: {
        'WWW-Authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`,
      },
    }),
  /** A 400 with a code of its own, for input the schema cannot judge (a header's format, a cursor). */
  invalid: (code: string, detail: string) =>
    new AppError({ code, status: 400, title: 'The request is not valid', detail }),
  forbidden: (detail: string) =>
    new AppError({ code: 'forbidden', status: 403, title: 'Not allowed', detail }),
  notFound: (detail: string) => new AppError({ code: 'not_found', status: 404, title: 'Not found', detail }),
  conflict: (code: string, detail: string) => new AppError({ code, status: 409, title: 'Conflict', detail }),
  unsupportedMediaType: (expected: string) =>
    new AppError({
      code: 'unsupported_media_type',
      status: 415,
      title: 'Unsupported media type',
      detail: `the request body must be ${expected}`,
    }),
  unavailable: (detail: string, cause?: unknown) =>
    new AppError({
      code: 'dependency_unavailable',
      status: 503,
      title: 'A dependency is unavailable',
      detail,
      cause,
      headers: { 'Retry-After': '1' },
    }),
};
