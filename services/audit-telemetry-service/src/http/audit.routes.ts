import { defineRoute, type RouteDefinition } from '@mrp/platform';
import type { AuditUseCases } from '../domain/audit.use-cases.ts';
import { presentAuditEvent } from './audit-event.presenter.ts';

// Viewers do not read the audit log (docs/adr/0007-audit-log-visibility.md).
const AUDITORS = ['admin', 'analyst'] as const;
const tags = ['audit'];

/** `/v1/audit`: the audit log of every event, for admins and analysts. */
export function auditRoutes(audit: AuditUseCases): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/audit',
      operationId: 'listAuditEvents',
      summary: 'List audit events, newest first, filtered, a page at a time (admin, analyst).',
      tags,
      access: AUDITORS,
      query: 'AuditQuery',
      responses: { 200: { description: 'A page of audit events', schema: 'AuditEventList' } },
      async handle(ctx) {
        const page = await audit.listEvents(ctx.state.input.query);
        ctx.body = { items: page.events.map(presentAuditEvent), next_cursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/audit/:id',
      operationId: 'getAuditEvent',
      summary: 'Get one audit event by its event id (admin, analyst).',
      tags,
      access: AUDITORS,
      params: 'AuditEventParams',
      responses: {
        200: { description: 'The audit event', schema: 'AuditEvent' },
        404: { description: 'No event with this id' },
      },
      async handle(ctx) {
        ctx.body = presentAuditEvent(await audit.getEvent(ctx.state.input.params.id));
      },
    }),
  ];
}
