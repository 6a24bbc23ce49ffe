import type { Context } from 'koa';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem `type` URI for a stable error code; the same scheme is used by Envoy's local replies. */
export function problemType(code: string): string {
  return `urn:problem-type:mrp:${code}`;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string | undefined;
  readonly instance?: string | undefined;
  readonly code: string;
  readonly request_id: string;
  readonly [extension: string]: unknown;
}

/** Writes an RFC 9457 problem as the response. */
export function sendProblem(
  ctx: Context,
  problem: Problem,
  headers: Readonly<Record<string, string>> = {},
): void {
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.type = PROBLEM_CONTENT_TYPE;
  ctx.body = problem;
}
