import type { AppContext, RouteDefinition } from '@mrp/platform';
import type { IdParams, PageQuery, UserCreateRequest, UserUpdateRequest } from '@mrp/schemas';
import type { UserUseCases } from '../domain/user.use-cases.ts';
import { presentUser } from './user.presenter.ts';

const READERS = ['admin', 'analyst', 'viewer'] as const;
const ADMINS = ['admin'] as const;
const tags = ['users'];

const params = (ctx: AppContext) => ctx.state.input.params as unknown as IdParams;

/** `/v1/users`: admins manage users, every role reads them. */
export function userRoutes(users: UserUseCases): RouteDefinition[] {
  return [
    {
      method: 'post',
      path: '/v1/users',
      operationId: 'createUser',
      summary: 'Create a user (admin). Without a password the user cannot log in.',
      tags,
      access: ADMINS,
      body: { schema: 'UserCreateRequest', mediaType: 'application/json' },
      responses: {
        201: { description: 'Created', schema: 'User' },
        409: { description: 'Email already in use' },
      },
      async handle(ctx) {
        const user = await users.createUser(ctx.state.input.body as UserCreateRequest);
        ctx.status = 201;
        ctx.set('Location', `/v1/users/${user.id}`);
        ctx.body = presentUser(user);
      },
    },
    {
      method: 'get',
      path: '/v1/users',
      operationId: 'listUsers',
      summary: 'List users, oldest first, a page at a time.',
      tags,
      access: READERS,
      query: 'PageQuery',
      responses: { 200: { description: 'A page of users', schema: 'UserList' } },
      async handle(ctx) {
        const { limit, cursor } = ctx.state.input.query as unknown as PageQuery;
        const page = await users.listUsers(limit, cursor);
        ctx.body = { items: page.users.map(presentUser), next_cursor: page.nextCursor };
      },
    },
    {
      method: 'get',
      path: '/v1/users/:id',
      operationId: 'getUser',
      summary: 'Get one user.',
      tags,
      access: READERS,
      params: 'IdParams',
      responses: { 200: { description: 'The user', schema: 'User' }, 404: { description: 'No such user' } },
      async handle(ctx) {
        ctx.body = presentUser(await users.getUser(params(ctx).id));
      },
    },
    {
      method: 'patch',
      path: '/v1/users/:id',
      operationId: 'updateUser',
      summary: "Change a user's email, role, name or password (admin).",
      tags,
      access: ADMINS,
      params: 'IdParams',
      body: { schema: 'UserUpdateRequest', mediaType: 'application/json' },
      responses: {
        200: { description: 'The updated user', schema: 'User' },
        404: { description: 'No such user' },
        409: { description: 'Email already in use, or the last admin demoted' },
      },
      async handle(ctx) {
        const { id } = params(ctx);
        ctx.body = presentUser(await users.updateUser(id, ctx.state.input.body as UserUpdateRequest));
      },
    },
    {
      method: 'delete',
      path: '/v1/users/:id',
      operationId: 'deleteUser',
      summary: 'Delete a user (admin).',
      tags,
      access: ADMINS,
      params: 'IdParams',
      responses: {
        204: { description: 'Deleted' },
        404: { description: 'No such user' },
        409: { description: 'The caller’s own account, or the last admin' },
      },
      async handle(ctx) {
        await users.deleteUser(params(ctx).id, ctx.state.principal!.subject);
        ctx.status = 204;
      },
    },
  ];
}
