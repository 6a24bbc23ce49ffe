import { defineRoute, errors, type RouteDefinition } from '@mrp/platform';
import type { UserUseCases } from '../domain/user.use-cases.ts';
import { presentUser } from './user.presenter.ts';

const READERS = ['admin', 'analyst', 'viewer'] as const;
/** Who may read the whole directory: admins manage it, analysts assign cases to its users (ADR 0020). */
const DIRECTORY_READERS = ['admin', 'analyst'] as const;
const ADMINS = ['admin'] as const;
const tags = ['users'];

/**
 * `/v1/users`: admins manage users; admins and analysts read the directory; a viewer reads only their own
 * account (ADR 0020).
 */
export function userRoutes(users: UserUseCases): RouteDefinition[] {
  return [
    defineRoute({
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
        const user = await users.createUser(ctx.state.input.body);
        ctx.status = 201;
        ctx.set('Location', `/v1/users/${user.id}`);
        ctx.body = presentUser(user);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users',
      operationId: 'listUsers',
      summary: 'List users, oldest first, a page at a time (admin, analyst).',
      tags,
      access: DIRECTORY_READERS,
      query: 'PageQuery',
      responses: { 200: { description: 'A page of users', schema: 'UserList' } },
      async handle(ctx) {
        const { limit, cursor } = ctx.state.input.query;
        const page = await users.listUsers(limit, cursor);
        ctx.body = { items: page.users.map(presentUser), next_cursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id',
      operationId: 'getUser',
      summary: 'Get one user (admin, analyst; a viewer only their own account).',
      tags,
      access: READERS,
      params: 'IdParams',
      responses: { 200: { description: 'The user', schema: 'User' }, 404: { description: 'No such user' } },
      async handle(ctx) {
        const { id } = ctx.state.input.params;
        const principal = ctx.state.principal!;
        // Decided before the lookup, so a viewer learns nothing about which ids exist.
        const readsDirectory = principal.roles.some((role) =>
          (DIRECTORY_READERS as readonly string[]).includes(role),
        );
        if (!readsDirectory && principal.subject !== id)
          throw errors.forbidden('a viewer may read only their own account');
        ctx.body = presentUser(await users.getUser(id));
      },
    }),
    defineRoute({
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
        const { id } = ctx.state.input.params;
        ctx.body = presentUser(await users.updateUser(id, ctx.state.input.body));
      },
    }),
    defineRoute({
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
        await users.deleteUser(ctx.state.input.params.id, ctx.state.principal!.subject);
        ctx.status = 204;
      },
    }),
  ];
}
