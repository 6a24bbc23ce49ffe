import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from './output.ts';

/** An HTTP answer, read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed, when it is JSON (problem+json included); undefined otherwise. */
  readonly body: unknown;
}

export type Outcome = 'PASS' | 'FAIL' | 'SKIP';

/** One step of the flow as the smoke reports it. */
export interface StepResult {
  readonly step: string;
  readonly outcome: Outcome;
  /** The HTTP status of the (last) call; undefined when there was no answer or no call. */
  readonly status?: number | undefined;
  /** The call's `x-request-id`, to follow it with `mrpctl logs`. */
  readonly requestId?: string | undefined;
  /** FAIL: expected versus got; SKIP: what the step needed. */
  readonly reason?: string | undefined;
  /** PASS: what the step produced (a user id, a case status). */
  readonly note?: string | undefined;
}

/** What a check makes of an answer: the value the next steps need, or why it is wrong. */
export type Check<T> =
  | { readonly ok: true; readonly value: T; readonly note?: string }
  | { readonly ok: false; readonly reason: string };

export const STEPS = {
  healthz: 'gateway healthz',
  login: 'login',
  tokenRequired: 'token required',
  createUser: 'create user',
  createCase: 'create case',
  replay: 'idempotent replay',
  audit: 'audit case_created',
} as const;

const STEP_WIDTH = Math.max(...Object.values(STEPS).map((name) => name.length));

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const mediaType = (answer: Answer): string =>
  (answer.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();

const pass = <T>(value: T, note?: string): Check<T> =>
  note === undefined ? { ok: true, value } : { ok: true, value, note };
const fail = (reason: string): Check<never> => ({ ok: false, reason });

/**
 * "got <status> <media type> (<code>: <detail>)": what an answer says, in a line. Problem details
 * (RFC 9457) and OAuth errors (RFC 6749) give their code and detail; anything else a short excerpt.
 */
export function describeAnswer(answer: Answer): string {
  let detail: string | undefined;
  if (isRecord(answer.body)) {
    const { body } = answer;
    const code = text(body.code) ?? text(body.error);
    const message = text(body.detail) ?? text(body.error_description) ?? text(body.title);
    if (code !== undefined || message !== undefined) detail = [code, message].filter(Boolean).join(': ');
  }
  if (detail === undefined && answer.text.trim() !== '') {
    const flat = answer.text.trim().replace(/\s+/g, ' ');
    detail = flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
  }
  const type = mediaType(answer);
  return `got ${answer.status}${type ? ` ${type}` : ''}${detail ? ` (${detail})` : ''}`;
}

/** (a) The gateway's own health endpoint answers 200. */
export function checkHealthz(answer: Answer): Check<null> {
  return answer.status === 200 ? pass(null) : fail(`expected 200, ${describeAnswer(answer)}`);
}

/** (b) The password grant answers 200 with a Bearer access token. */
export function checkLogin(answer: Answer): Check<string> {
  if (answer.status !== 200) return fail(`expected 200 with an access_token, ${describeAnswer(answer)}`);
  const body = isRecord(answer.body) ? answer.body : {};
  const token = text(body.access_token);
  if (token === undefined) return fail(`answered 200 without an access_token (${describeAnswer(answer)})`);
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer')
    return fail(`expected token_type Bearer, got ${JSON.stringify(body.token_type)}`);
  return pass(token, 'Bearer token');
}

/** (c) A call without a token is refused by the gateway: 401 as application/problem+json. */
export function checkTokenRequired(answer: Answer): Check<null> {
  if (answer.status !== 401) return fail(`expected 401 application/problem+json, ${describeAnswer(answer)}`);
  if (mediaType(answer) !== 'application/problem+json')
    return fail(`expected the 401 as application/problem+json, ${describeAnswer(answer)}`);
  return pass(null);
}

/** (d) An admin creates the smoke user: 201 with its id. */
export function checkCreateUser(answer: Answer, email: string): Check<string> {
  if (answer.status !== 201) return fail(`expected 201 with the new user, ${describeAnswer(answer)}`);
  const body = isRecord(answer.body) ? answer.body : {};
  const id = text(body.id);
  if (id === undefined) return fail(`answered 201 without an id (${describeAnswer(answer)})`);
  if (body.email !== email) return fail(`answered 201 for ${JSON.stringify(body.email)}, expected ${email}`);
  return pass(id, `user ${id}`);
}

/** The statuses a freshly created case may have: scored at once, or waiting for scoring. */
export const CREATED_CASE_STATUSES: readonly string[] = ['SCORED', 'PENDING_SCORE'];

/** (e) The case is created: 201 with an id, SCORED or PENDING_SCORE. */
export function checkCreateCase(answer: Answer): Check<string> {
  if (answer.status !== 201) return fail(`expected 201 with the new case, ${describeAnswer(answer)}`);
  const body = isRecord(answer.body) ? answer.body : {};
  const id = text(body.id);
  if (id === undefined) return fail(`answered 201 without an id (${describeAnswer(answer)})`);
  if (typeof body.status !== 'string' || !CREATED_CASE_STATUSES.includes(body.status))
    return fail(`expected status SCORED or PENDING_SCORE, got ${JSON.stringify(body.status)}`);
  return pass(id, `case ${id} ${body.status}`);
}

/** (f) The same create again replays the first answer: same case, `Idempotent-Replayed: true`. */
export function checkReplay(answer: Answer, caseId: string): Check<null> {
  if (answer.status !== 201) return fail(`expected 201 replaying case ${caseId}, ${describeAnswer(answer)}`);
  const body = isRecord(answer.body) ? answer.body : {};
  if (body.id !== caseId) return fail(`expected case ${caseId} again, got ${JSON.stringify(body.id)}`);
  const replayed = answer.headers.get('idempotent-replayed');
  if (replayed !== 'true')
    return fail(
      `expected header Idempotent-Replayed: true, got ${replayed === null ? 'none' : JSON.stringify(replayed)}`,
    );
  return pass(null, `case ${caseId} replayed`);
}

/** (g) The audit log lists the case's `case_created` event. */
export function checkAuditCaseCreated(answer: Answer, caseId: string): Check<null> {
  if (answer.status !== 200) return fail(`expected 200 with the case's events, ${describeAnswer(answer)}`);
  const items = isRecord(answer.body) && Array.isArray(answer.body.items) ? answer.body.items : undefined;
  if (items === undefined) return fail(`answered 200 without items (${describeAnswer(answer)})`);
  const created = items.some(
    (item) => isRecord(item) && item.type === 'case_created' && item.subject === `case:${caseId}`,
  );
  if (!created) {
    const types = items.flatMap((item) =>
      isRecord(item) && typeof item.type === 'string' ? [item.type] : [],
    );
    return fail(`no case_created event for case ${caseId} (events: ${types.join(', ') || 'none'})`);
  }
  return pass(null, 'case_created listed');
}

export interface SeedFlowOptions {
  /** The gateway, e.g. http://127.0.0.1:8080 (no trailing slash). */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** The longest one call may take. */
  readonly requestTimeoutMs: number;
  /** How long the audit event may take to appear (it travels outbox -> Redis -> consumer). */
  readonly auditTimeoutMs: number;
  /** Pause between two audit queries (default 500 ms). */
  readonly auditIntervalMs?: number;
  /** Makes the smoke user's email and the idempotency key unique (default: random). */
  readonly runId?: string;
  readonly signal?: AbortSignal;
  /** Hears each step as it finishes, so the CLI prints as it goes. */
  readonly onStep?: (result: StepResult) => void;
}

type Sent = { readonly answer: Answer } | { readonly error: string };

interface Call {
  /** Retried when answered 503 with Retry-After, as a client of the token endpoint should (login only). */
  readonly retryUnavailable?: boolean;
  readonly method: string;
  readonly path: string;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * Runs the seed README's flow through the gateway, step by step, and returns every step's result. A
 * step whose input an earlier step failed to produce is SKIP; the others still run, so one failure does
 * not hide another.
 */
export async function runSeedFlow(options: SeedFlowOptions): Promise<StepResult[]> {
  const run = options.runId ?? randomBytes(4).toString('hex');
  const results: StepResult[] = [];
  const report = (result: StepResult): void => {
    results.push(result);
    options.onStep?.(result);
  };
  const step = async <T>(name: string, call: Call, check: (answer: Answer) => Check<T>) => {
    let sent = await send(options, call);
    const unavailable: string[] = [];
    while (call.retryUnavailable && unavailable.length < UNAVAILABLE_RETRIES && !options.signal?.aborted) {
      const wait = retryAfterMs(sent);
      if (wait === undefined) break;
      unavailable.push(describeAnswer((sent as { answer: Answer }).answer));
      await sleep(wait);
      sent = await send(options, call);
    }
    const { result, value } = judge(name, sent, check);
    if (unavailable.length === 0) report(result);
    else {
      // Said either way: a platform that needs a retry right after start is worth knowing about.
      const retried = `after ${unavailable.length} ${unavailable.length === 1 ? 'retry' : 'retries'} (${unavailable[0]!})`;
      report(
        result.outcome === 'PASS'
          ? { ...result, note: [result.note, retried].filter(Boolean).join(', ') }
          : { ...result, reason: `${result.reason ?? ''}, ${retried}` },
      );
    }
    return value;
  };
  const skip = (name: string, reason: string): void => {
    report({ step: name, outcome: 'SKIP', reason });
  };

  await step(STEPS.healthz, { method: 'GET', path: '/healthz' }, checkHealthz);
  const token = await step(
    STEPS.login,
    {
      retryUnavailable: true,
      method: 'POST',
      path: '/v1/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
    },
    checkLogin,
  );
  await step(STEPS.tokenRequired, { method: 'GET', path: '/v1/users' }, checkTokenRequired);

  if (token === undefined) {
    for (const name of [STEPS.createUser, STEPS.createCase, STEPS.replay, STEPS.audit])
      skip(name, 'needs the token from login');
    return results;
  }
  const json = { 'content-type': 'application/json' };
  const email = `smoke-${run}@example.com`;
  const userId = await step(
    STEPS.createUser,
    {
      method: 'POST',
      path: '/v1/users',
      token,
      headers: json,
      body: JSON.stringify({ email, role: 'viewer', full_name: 'Smoke Test' }),
    },
    (answer) => checkCreateUser(answer, email),
  );
  if (userId === undefined) {
    for (const name of [STEPS.createCase, STEPS.replay, STEPS.audit])
      skip(name, 'needs the user from create user');
    return results;
  }
  const createCase: Call = {
    method: 'POST',
    path: '/v1/cases',
    token,
    headers: { ...json, 'idempotency-key': `smoke-${run}` },
    body: JSON.stringify({ title: 'Smoke test', owner_id: userId, priority: 'high' }),
  };
  const caseId = await step(STEPS.createCase, createCase, checkCreateCase);
  if (caseId === undefined) {
    for (const name of [STEPS.replay, STEPS.audit]) skip(name, 'needs the case from create case');
    return results;
  }
  await step(STEPS.replay, createCase, (answer) => checkReplay(answer, caseId));
  report(await pollAudit(options, token, caseId));
  return results;
}

/** How often a step marked retryUnavailable is sent again after a 503 with Retry-After. */
const UNAVAILABLE_RETRIES = 3;
/** The longest Retry-After honoured (seconds); a longer one is waited for this long. */
const RETRY_AFTER_CAP_S = 5;

/** The wait a 503 with a Retry-After in seconds asks for (capped), or undefined for any other answer. */
function retryAfterMs(sent: Sent): number | undefined {
  if (!('answer' in sent) || sent.answer.status !== 503) return undefined;
  const header = sent.answer.headers.get('retry-after');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Math.min(Number(header.trim()), RETRY_AFTER_CAP_S) * 1000;
}

/** (g) Queries the audit log until the event is listed, a 4xx says it never will be, or time is up. */
async function pollAudit(options: SeedFlowOptions, token: string, caseId: string): Promise<StepResult> {
  const call: Call = { method: 'GET', path: `/v1/audit?case_id=${encodeURIComponent(caseId)}`, token };
  const started = performance.now();
  for (let queries = 1; ; queries += 1) {
    const { result } = judge(STEPS.audit, await send(options, call), (answer) =>
      checkAuditCaseCreated(answer, caseId),
    );
    const refused =
      result.status !== undefined && result.status >= 400 && result.status < 500 && result.status !== 429;
    const elapsed = performance.now() - started;
    if (result.outcome === 'PASS' || refused || options.signal?.aborted) return result;
    if (elapsed >= options.auditTimeoutMs)
      return {
        ...result,
        reason: `${result.reason ?? ''}, after ${queries} queries in ${formatDuration(elapsed)}`,
      };
    await sleep(Math.min(options.auditIntervalMs ?? 500, options.auditTimeoutMs - elapsed));
  }
}

function judge<T>(
  name: string,
  sent: Sent,
  check: (answer: Answer) => Check<T>,
): { result: StepResult; value?: T } {
  if ('error' in sent) return { result: { step: name, outcome: 'FAIL', reason: sent.error } };
  const checked = check(sent.answer);
  const base = {
    step: name,
    status: sent.answer.status,
    requestId: sent.answer.headers.get('x-request-id') ?? undefined,
  };
  return checked.ok
    ? { result: { ...base, outcome: 'PASS', note: checked.note }, value: checked.value }
    : { result: { ...base, outcome: 'FAIL', reason: checked.reason } };
}

/** One call with Node's fetch, bounded by the per-request timeout (and the stop signal). */
async function send(options: SeedFlowOptions, call: Call): Promise<Sent> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
  const timeout = AbortSignal.timeout(options.requestTimeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await fetch(`${options.baseUrl}${call.path}`, {
      method: call.method,
      headers,
      body: call.body,
      signal,
    });
    const text = await response.text();
    let body: unknown;
    if (/\bjson\b/.test(response.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { answer: { status: response.status, headers: response.headers, text, body } };
  } catch (error) {
    if (timeout.aborted) return { error: `no answer within ${formatDuration(options.requestTimeoutMs)}` };
    if (options.signal?.aborted) return { error: 'interrupted' };
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : (error as Error).message;
    return { error: `no answer from ${options.baseUrl}: ${why}` };
  }
}

/**
 * `PASS  create case         201  x-request-id 1f0c...  case 7d2e... SCORED`: the outcome, step, HTTP
 * status and request ID, then what it produced or why it failed.
 */
export function formatStep(result: StepResult): string {
  const status = result.status === undefined ? '---' : String(result.status);
  const requestId = result.outcome === 'SKIP' ? undefined : `x-request-id ${result.requestId ?? '-'}`;
  return [
    result.outcome.padEnd(4),
    result.step.padEnd(STEP_WIDTH),
    status,
    requestId,
    result.reason ?? result.note,
  ]
    .filter((part): part is string => part !== undefined && part !== '')
    .join('  ');
}

/** The last line: how many steps passed, and how to follow a failed call. */
export function formatSummary(results: readonly StepResult[], baseUrl: string): string[] {
  const count = (outcome: Outcome) => results.filter((result) => result.outcome === outcome).length;
  if (count('PASS') === results.length)
    return [`smoke passed: ${results.length} of ${results.length} steps against ${baseUrl}`];
  const lines = [
    `smoke FAILED against ${baseUrl}: ${count('FAIL')} failed, ${count('SKIP')} skipped, ${count('PASS')} passed of ${results.length} steps`,
  ];
  const followable = results.find((result) => result.outcome === 'FAIL' && result.requestId !== undefined);
  if (followable) lines.push(`follow a failed call: mrpctl logs ${followable.requestId!}`);
  return lines;
}

/** Whether the flow passed: every step PASS. */
export function flowPassed(results: readonly StepResult[]): boolean {
  return results.length > 0 && results.every((result) => result.outcome === 'PASS');
}
