import { randomBytes } from 'node:crypto';

/** A valid user-creation body with a unique email; override any field. */
export function buildUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: `user-${randomBytes(5).toString('hex')}@example.com`,
    role: 'viewer',
    full_name: 'Test User',
    ...overrides,
  };
}
