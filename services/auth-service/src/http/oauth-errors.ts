import { AppError, type AppContext } from '@mrp/platform';
import { RequestValidationError } from '@mrp/schemas';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable';

const OAUTH_ERRORS = new Set<string>([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
]);

/** An RFC 6749 error raised by a token endpoint handler. */
export function oauthError(code: OAuthErrorCode, description: string, status = 400): AppError {
  return new AppError({ code, status, title: 'The token request was refused', detail: description });
}

/**
 * RFC 6749 section 5.2: a JSON body with `error` and `error_description`, `Cache-Control: no-store`. It
 * also carries the problem members and the request ID, so clients that speak RFC 9457 read it too.
 */
function writeOAuthError(ctx: AppContext, status: number, code: OAuthErrorCode, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.type = 'application/json';
  ctx.body = {
    error: code,
    error_description: description,
    type: `urn:problem-type:mrp:oauth:${code}`,
    title: status >= 500 ? 'Token issuing is temporarily unavailable' : 'The token request was refused',
    status,
    request_id: ctx.state.requestId,
  };
}

/**
 * The `formatError` of the token endpoints: validation failures become `invalid_request`, their own
 * OAuth errors keep their code and status, an unavailable dependency becomes `temporarily_unavailable`.
 */
export function oauthErrorFormatter(ctx: AppContext, error: unknown): boolean {
  if (error instanceof RequestValidationError) {
    const detail =
      error.status === 415
        ? 'the body must be application/x-www-form-urlencoded'
        : error.errors.map((problem) => `${problem.pointer.slice(1)}: ${problem.message}`).join('; ');
    writeOAuthError(ctx, 400, 'invalid_request', detail);
    return true;
  }
  if (error instanceof AppError && OAUTH_ERRORS.has(error.code)) {
    writeOAuthError(ctx, error.status, error.code as OAuthErrorCode, error.detail ?? error.title);
    return true;
  }
  if (error instanceof AppError && error.status === 503) {
    ctx.state.log.warn({ err: error }, 'token request failed: a dependency is unavailable');
    ctx.set('Retry-After', '1');
    writeOAuthError(
      ctx,
      503,
      'temporarily_unavailable',
      'token issuing is temporarily unavailable, try again shortly',
    );
    return true;
  }
  return false;
}
