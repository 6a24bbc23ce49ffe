import { defineRoute, errors, type AppContext, type RouteDefinition } from '@mrp/platform';
import type { CaseUpdateV2Request } from '@mrp/schemas';
import type { CaseUseCases, Caller, CreateCaseRequest } from '../domain/case.use-cases.ts';
import type { ApiVersion } from '../domain/case.ts';
import { presentCase } from './case.presenter.ts';

const WRITERS = ['admin', 'analyst'] as const;
const READERS = ['admin', 'analyst', 'viewer'] as const;

// Visible ASCII, as in the IETF Idempotency-Key draft's examples; long enough for a UUID or a hash.
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(ctx: AppContext): string | undefined {
  const raw = ctx.get('idempotency-key');
  if (raw === '') return undefined;
  if (!IDEMPOTENCY_KEY.test(raw)) {
    throw errors.invalid(
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
    );
  }
  return raw;
}

function caller(ctx: AppContext): Caller {
  return { subject: ctx.state.principal!.subject, requestId: ctx.state.requestId };
}

/** `/v1/cases` or `/v2/cases`: the same rows; v2 adds priority (and scoring features on create). */
export function caseRoutes(version: ApiVersion, cases: CaseUseCases): RouteDefinition[] {
  const base = `/${version}/cases`;
  const suffix = version === 'v1' ? 'V1' : 'V2';
  const tags = [`cases ${version}`];
  const schema = `Case${suffix}` as const;

  const create = {
    method: 'post',
    path: base,
    operationId: `createCase${suffix}`,
    summary: `Create a case and score it (analyst, admin). Idempotency-Key makes retries safe.${version === 'v1' ? ' priority is ignored.' : ''}`,
    tags,
    access: WRITERS,
    responses: {
      201: { description: 'Created (status SCORED, or PENDING_SCORE when scoring is unavailable)', schema },
      409: { description: 'A request with the same Idempotency-Key is still in progress' },
      422: { description: 'The Idempotency-Key was used with another body' },
    },
  } as const;
  async function answerCreate(ctx: AppContext, request: CreateCaseRequest): Promise<void> {
    const result = await cases.createCase(request, caller(ctx), idempotencyKey(ctx));
    // A replay answers as the first request was answered: 201 with the stored body, marked as a replay.
    ctx.status = 201;
    if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
    const id = (result.answer as { id?: string }).id;
    if (id) ctx.set('Location', `${base}/${id}`);
    ctx.body = result.answer;
  }

  const update = {
    method: 'patch',
    path: `${base}/:id`,
    operationId: `updateCase${suffix}`,
    summary: `Change a case's title, description, owner${version === 'v2' ? ', priority' : ''} or close/reopen it (analyst, admin).`,
    tags,
    access: WRITERS,
    params: 'IdParams',
    responses: {
      200: { description: 'The updated case', schema },
      404: { description: 'No such case' },
      409: { description: 'The status change is not allowed' },
    },
  } as const;
  async function answerUpdate(ctx: AppContext, id: string, changes: CaseUpdateV2Request): Promise<void> {
    ctx.body = presentCase(version, await cases.updateCase(id, changes, caller(ctx)));
  }

  const json = 'application/json';
  return [
    version === 'v1'
      ? defineRoute({
          ...create,
          body: { schema: 'CaseCreateV1Request', mediaType: json },
          handle: (ctx) => answerCreate(ctx, { version: 'v1', body: ctx.state.input.body }),
        })
      : defineRoute({
          ...create,
          body: { schema: 'CaseCreateV2Request', mediaType: json },
          handle: (ctx) => answerCreate(ctx, { version: 'v2', body: ctx.state.input.body }),
        }),
    defineRoute({
      method: 'get',
      path: base,
      operationId: `listCases${suffix}`,
      summary: `List cases, newest first, filtered by status and owner${version === 'v2' ? ' and priority' : ''}.`,
      tags,
      access: READERS,
      query: `CaseList${suffix}Query`,
      responses: { 200: { description: 'A page of cases', schema: `CaseList${suffix}` } },
      async handle(ctx) {
        const query = ctx.state.input.query;
        const priority = 'priority' in query ? query.priority : undefined;
        const page = await cases.listCases(
          { status: query.status, ownerId: query.owner_id, priority },
          query.limit,
          query.cursor,
        );
        ctx.body = {
          items: page.cases.map((record) => presentCase(version, record)),
          next_cursor: page.nextCursor,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:id`,
      operationId: `getCase${suffix}`,
      summary: 'Get one case.',
      tags,
      access: READERS,
      params: 'IdParams',
      responses: { 200: { description: 'The case', schema }, 404: { description: 'No such case' } },
      async handle(ctx) {
        ctx.body = presentCase(version, await cases.getCase(ctx.state.input.params.id));
      },
    }),
    version === 'v1'
      ? defineRoute({
          ...update,
          body: { schema: 'CaseUpdateV1Request', mediaType: json },
          handle(ctx) {
            // v1 accepts priority and ignores it.
            const { priority: _ignored, ...changes } = ctx.state.input.body;
            return answerUpdate(ctx, ctx.state.input.params.id, changes);
          },
        })
      : defineRoute({
          ...update,
          body: { schema: 'CaseUpdateV2Request', mediaType: json },
          handle: (ctx) => answerUpdate(ctx, ctx.state.input.params.id, ctx.state.input.body),
        }),
  ];
}
