import type { User } from '@mrp/schemas';
import type { UserRecord } from '../data/user.repository.ts';

/** The public shape of a user: a whitelist, so a password hash can never slip into a response. */
export function presentUser(user: UserRecord): User {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    full_name: user.fullName,
    has_password: user.passwordHash !== null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
