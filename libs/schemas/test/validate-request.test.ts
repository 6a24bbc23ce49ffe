import { expect } from 'chai';
import type { RouteSpec } from '../src/route-spec.ts';
import {
  RequestValidationError,
  validateRequest,
  type RequestFieldError,
  type ValidatedInput,
} from '../src/validate-request.ts';

const OWNER = '11111111-2222-4333-8444-555555555555';

/** The parts of Koa's context validateRequest reads, as a request would fill them. */
interface Request {
  readonly params?: Record<string, string>;
  readonly query?: Record<string, string | string[]>;
  /** The request's media type (what `ctx.is` matches); none when it has no body. */
  readonly contentType?: string;
  readonly body?: unknown;
}

/** Runs the middleware of `spec` on a request: what it stored on ctx.state, or what it threw. */
async function validate(
  spec: RouteSpec,
  request: Request,
): Promise<{ input?: ValidatedInput; error?: RequestValidationError }> {
  const ctx = {
    params: request.params,
    query: request.query ?? {},
    request: { body: request.body },
    state: {} as { input?: ValidatedInput },
    is: (type: string) => (request.contentType === type ? type : false),
  };
  let passed = false;
  try {
    await validateRequest(spec)(ctx as never, () => {
      passed = true;
      return Promise.resolve();
    });
  } catch (error) {
    expect(error).to.be.instanceOf(RequestValidationError);
    expect(passed, 'the handler ran after a refusal').to.equal(false);
    return { error: error as RequestValidationError };
  }
  expect(passed, 'the handler did not run').to.equal(true);
  return { input: ctx.state.input! };
}

const base = { operationId: 'op', summary: 'An operation.', access: 'public', responses: {} } as const;
const create: RouteSpec = {
  ...base,
  method: 'post',
  path: '/v1/cases',
  body: { schema: 'CaseCreateV1Request', mediaType: 'application/json' },
};
const list: RouteSpec = { ...base, method: 'get', path: '/v1/cases', query: 'CaseListV1Query' };
const read: RouteSpec = { ...base, method: 'get', path: '/v1/cases/:id', params: 'IdParams' };
const bare: RouteSpec = { ...base, method: 'get', path: '/v1/things' };

const errorsOf = async (spec: RouteSpec, request: Request): Promise<readonly RequestFieldError[]> => {
  const { error } = await validate(spec, request);
  expect(error, 'the request was accepted').to.not.equal(undefined);
  expect(error!.status).to.equal(400);
  expect(error!.code).to.equal('validation_failed');
  expect(error!.message).to.equal('the request does not match its contract');
  return error!.errors;
};

describe('request validation against the route spec', () => {
  it('a valid request reaches the handler with its body, its path parameters and its query, defaults filled in', async () => {
    const body = { title: 'A case', owner_id: OWNER };
    expect((await validate(create, { contentType: 'application/json', body })).input).to.deep.equal({
      body,
      query: {},
      params: {},
    });
    expect((await validate(read, { params: { id: OWNER } })).input).to.deep.equal({
      body: undefined,
      query: {},
      params: { id: OWNER },
    });
    expect((await validate(list, { query: { status: 'OPEN' } })).input!.query).to.deep.equal({
      status: 'OPEN',
      limit: 20,
    });
  });

  it('query integers are read as numbers; what does not look like one stays text and is refused', async () => {
    expect((await validate(list, { query: { limit: '5' } })).input!.query).to.deep.equal({ limit: 5 });
    expect((await validate(list, { query: { limit: '100' } })).input!.query).to.deep.equal({ limit: 100 });
    expect(await errorsOf(list, { query: { limit: '-3' } })).to.deep.equal([
      { in: 'query', pointer: '/limit', message: 'must be >= 1' },
    ]);
    for (const raw of ['abc', '1.5', '1234567890123456', '5 ', '0x10', '']) {
      const [error, ...rest] = await errorsOf(list, { query: { limit: raw } });
      expect(rest, raw).to.deep.equal([]);
      expect(error, raw).to.deep.equal({ in: 'query', pointer: '/limit', message: 'must be integer' });
    }
    for (const repeated of [['1', '2'], ['5']])
      expect(await errorsOf(list, { query: { limit: repeated } }), String(repeated)).to.deep.equal([
        { in: 'query', pointer: '/limit', message: 'must be integer' },
      ]);
    // Only integers are read as numbers: digits in a text parameter stay text.
    expect(await errorsOf(list, { query: { cursor: '12345' } })).to.deep.equal([
      { in: 'query', pointer: '/cursor', message: 'must match format "keyset-cursor"' },
    ]);
    expect(await errorsOf(list, { query: { page: '2' } })).to.deep.equal([
      { in: 'query', pointer: '/page', message: 'unknown field "page"' },
    ]);
  });

  it('a route without a query refuses every parameter, naming each', async () => {
    expect(await errorsOf(bare, { query: { page: '2', sort: 'x' } })).to.deep.equal([
      { in: 'query', pointer: '/page', message: 'unknown parameter "page"' },
      { in: 'query', pointer: '/sort', message: 'unknown parameter "sort"' },
    ]);
    expect((await validate(bare, {})).input).to.deep.equal({ body: undefined, query: {}, params: {} });
  });

  it('a body field missing, unknown or wrong is named by its JSON pointer, all of them at once', async () => {
    const errors = await errorsOf(create, {
      contentType: 'application/json',
      body: { owner_id: 'not-a-uuid', extra: 1 },
    });
    expect(errors).to.have.deep.members([
      { in: 'body', pointer: '/title', message: '"title" is required' },
      { in: 'body', pointer: '/extra', message: 'unknown field "extra"' },
      { in: 'body', pointer: '/owner_id', message: 'must match format "uuid"' },
    ]);
    expect(await errorsOf(create, { contentType: 'application/json', body: [] })).to.deep.equal([
      { in: 'body', pointer: '/', message: 'must be object' },
    ]);
  });

  it('a path parameter that is not what the route takes is refused, with the query and body problems', async () => {
    const spec: RouteSpec = { ...create, path: '/v1/cases/:id', params: 'IdParams', query: 'PageQuery' };
    const errors = await errorsOf(spec, {
      params: { id: '42' },
      query: { limit: '0' },
      contentType: 'application/json',
      body: { title: 'x'.repeat(201), owner_id: OWNER },
    });
    expect(errors.map((error) => `${error.in} ${error.pointer}`)).to.have.members([
      'path /id',
      'query /limit',
      'body /title',
    ]);
  });

  it('a body of another media type is a 415, before anything in it is looked at', async () => {
    for (const contentType of [undefined, 'text/plain', 'application/x-www-form-urlencoded']) {
      const { error } = await validate(create, { contentType, body: { title: 'x', owner_id: OWNER } });
      expect(error, String(contentType)).to.be.instanceOf(RequestValidationError);
      expect(error!.status).to.equal(415);
      expect(error!.code).to.equal('unsupported_media_type');
      expect(error!.message).to.equal('the request body must be application/json');
      expect(error!.errors).to.deep.equal([]);
      expect(error!.expose).to.equal(true);
      expect(error!.name).to.equal('RequestValidationError');
    }
  });

  it('a route without a body hands the handler none, whatever was sent', async () => {
    const { input } = await validate(read, {
      params: { id: OWNER },
      contentType: 'application/json',
      body: { anything: true },
    });
    expect(input!.body).to.equal(undefined);
  });
});
