import { randomBytes, randomUUID } from 'node:crypto';
import { createEvent, type EventEnvelope } from '@mrp/events';

/**
 * Builders of valid request bodies and events for the tests, one place for each shape: each gives fresh
 * identifiers and takes overrides of any field.
 */

/** A valid user-creation body with a unique email; override any field. */
export function buildUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: `user-${randomBytes(5).toString('hex')}@example.com`,
    role: 'viewer',
    full_name: 'Test User',
    ...overrides,
  };
}

/** A valid v1 case-creation body, the seed's shape; override any field. */
export function buildCase(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: 'Investigate', owner_id: randomUUID(), ...overrides };
}

/** A valid scoring request for a new case; override any field. */
export function buildScoreRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    case_id: randomUUID(),
    features: {
      priority_level: 3,
      amount: 12_500,
      prior_incidents: 2,
      is_new_customer: true,
      title_length: 42,
      description_length: 640,
      channel: 'web',
    },
    ...overrides,
  };
}

/** A valid event (a case's score_pending, as case-service publishes it); override any field. */
export function buildEvent(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const caseId = randomUUID();
  return {
    ...createEvent({
      type: 'score_pending',
      source: 'case-service',
      subject: `case:${caseId}`,
      actor: 'service:case-service',
      data: { case_id: caseId, reason: 'scoring unavailable' },
    }),
    ...overrides,
  };
}
