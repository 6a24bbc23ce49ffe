import { expect } from 'chai';
import { AppError, errors } from '../src/errors.ts';
import {
  isDatabaseUnavailable,
  isPgError,
  PG_DATA_EXCEPTION_CLASS,
  PG_FOREIGN_KEY_VIOLATION,
  PG_UNIQUE_VIOLATION,
} from '../src/pg-errors.ts';
import { PROBLEM_CONTENT_TYPE, problemType, sendProblem, type Problem } from '../src/problem.ts';

describe('the error model (AppError and its builders)', () => {
  it('an AppError carries its code, status, title and detail; extensions and headers default to none', () => {
    const cause = new Error('underneath');
    const error = new AppError({ code: 'c', status: 418, title: 'T', detail: 'D', cause });
    expect(error).to.be.instanceOf(Error);
    expect(error).to.deep.include({
      name: 'AppError',
      code: 'c',
      status: 418,
      title: 'T',
      detail: 'D',
      message: 'D',
    });
    expect(error.cause).to.equal(cause);
    expect(error.extensions).to.deep.equal({});
    expect(error.headers).to.deep.equal({});
    expect(error.reportable).to.equal(false);
    const untitled = new AppError({ code: 'c', status: 400, title: 'Only a title' });
    expect(untitled.message).to.equal('Only a title');
    expect(untitled.detail).to.equal(undefined);
  });

  it('a 5xx is worth reporting unless said otherwise, a 4xx is not unless said', () => {
    expect(new AppError({ code: 'c', status: 500, title: 'T' }).reportable).to.equal(true);
    expect(new AppError({ code: 'c', status: 499, title: 'T' }).reportable).to.equal(false);
    expect(new AppError({ code: 'c', status: 503, title: 'T', reportable: false }).reportable).to.equal(
      false,
    );
    expect(new AppError({ code: 'c', status: 404, title: 'T', reportable: true }).reportable).to.equal(true);
  });

  it('each builder gives its status, code and title', () => {
    const cases: [AppError, number, string, string][] = [
      [errors.badRequest('bad'), 400, 'validation_failed', 'The request is not valid'],
      [errors.invalid('invalid_cursor', 'bad'), 400, 'invalid_cursor', 'The request is not valid'],
      [errors.unauthorized('bad'), 401, 'unauthorized', 'Authentication is required'],
      [errors.forbidden('bad'), 403, 'forbidden', 'Not allowed'],
      [errors.notFound('bad'), 404, 'not_found', 'Not found'],
      [errors.conflict('email_taken', 'bad'), 409, 'email_taken', 'Conflict'],
      [errors.unavailable('bad'), 503, 'dependency_unavailable', 'A dependency is unavailable'],
    ];
    for (const [error, status, code, title] of cases) {
      expect(error, code).to.deep.include({ status, code, title, detail: 'bad' });
      expect(error.reportable, code).to.equal(status >= 500);
    }
    expect(errors.unsupportedMediaType('application/json')).to.deep.include({
      status: 415,
      code: 'unsupported_media_type',
      title: 'Unsupported media type',
      detail: 'the request body must be application/json',
    });
  });

  it('a 400 lists its field errors only when there are some; a 401 says how to authenticate; a 503 when to retry', () => {
    const fields = [{ in: 'body', pointer: '/title', message: 'is required' }] as const;
    expect(errors.badRequest('bad', fields).extensions).to.deep.equal({ errors: fields });
    expect(errors.badRequest('bad').extensions).to.deep.equal({});
    expect(errors.unauthorized('the "token" expired').headers).to.deep.equal({
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="the 'token' expired"`,
    });
    const cause = new Error('down');
    const unavailable = errors.unavailable('db down', cause);
    expect(unavailable.headers).to.deep.equal({ 'Retry-After': '1' });
    expect(unavailable.cause).to.equal(cause);
  });
});

describe('Postgres errors, classified', () => {
  it('matches a SQLSTATE exactly, or its class by two characters', () => {
    expect(isPgError({ code: PG_UNIQUE_VIOLATION }, PG_UNIQUE_VIOLATION)).to.equal(true);
    expect(isPgError({ code: PG_FOREIGN_KEY_VIOLATION }, PG_UNIQUE_VIOLATION)).to.equal(false);
    expect(isPgError({ code: '22007' }, PG_DATA_EXCEPTION_CLASS)).to.equal(true);
    expect(isPgError({ code: '23505' }, PG_DATA_EXCEPTION_CLASS)).to.equal(false);
    expect(isPgError({ code: '2350' }, '2350')).to.equal(false);
    expect(isPgError({ code: 'ECONNREFUSED' }, 'ECONNREFUSED')).to.equal(false);
    expect(isPgError({ code: '23505x' }, PG_UNIQUE_VIOLATION)).to.equal(false);
    expect(isPgError({ code: 23505 }, PG_UNIQUE_VIOLATION)).to.equal(false);
    for (const value of [null, undefined, '23505', 23505])
      expect(isPgError(value, PG_UNIQUE_VIOLATION)).to.equal(false);
  });

  it('a database that cannot be reached, is shutting down or timed out is unavailable; a wrong query is not', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENOTFOUND',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '57014',
      '08006',
      '08001',
    ])
      expect(isDatabaseUnavailable({ code }), code).to.equal(true);
    for (const message of [
      'timeout exceeded when trying to connect',
      'Connection terminated unexpectedly',
      'connection timeout',
      'Query read timeout',
    ])
      expect(isDatabaseUnavailable(new Error(message)), message).to.equal(true);
    for (const error of [
      { code: '23505' },
      { code: '42P01' },
      { code: 8006 },
      new Error('syntax error'),
      null,
      'ECONNREFUSED',
      { message: 5 },
    ])
      expect(isDatabaseUnavailable(error), JSON.stringify(error)).to.equal(false);
  });
});

describe('RFC 9457 problems', () => {
  it('names a problem type by its code, as Envoy does', () => {
    expect(problemType('not_found')).to.equal('urn:problem-type:mrp:not_found');
  });

  it('writes the status, the headers, the problem media type and the body', () => {
    const headers = new Map<string, string>();
    const ctx = {
      status: 0,
      type: '',
      body: undefined as unknown,
      set: (name: string, value: string) => headers.set(name, value),
    };
    const problem: Problem = { type: problemType('x'), title: 'T', status: 429, code: 'x', request_id: 'r' };
    sendProblem(ctx as never, problem, { 'Retry-After': '3' });
    expect(ctx).to.deep.include({ status: 429, type: PROBLEM_CONTENT_TYPE, body: problem });
    expect(PROBLEM_CONTENT_TYPE).to.equal('application/problem+json');
    expect([...headers]).to.deep.equal([['Retry-After', '3']]);
    sendProblem(ctx as never, { ...problem, status: 404 });
    expect(ctx.status).to.equal(404);
    expect(headers.size).to.equal(1);
  });
});
