import { decodeKeysetCursor, encodeKeysetCursor, errors } from '@mrp/platform';
import type { Role, UserCreateRequest, UserUpdateRequest } from '@mrp/schemas';
import { EmailTakenError, type UserRecord, type UserRepository } from '../data/user.repository.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password-hasher.ts';

const emailTaken = () => errors.conflict('email_taken', 'a user with this email already exists');
const userNotFound = (id: string) => errors.notFound(`no user with id ${id}`);
/** The platform always keeps an admin: nobody could manage users again without one. */
const lastAdmin = (what: 'deleted' | 'demoted') =>
  errors.conflict('last_admin', `the last admin cannot be ${what}; make another user admin first`);

/** The use cases of user management, in the words of the spec. */
export class UserUseCases {
  readonly #users: UserRepository;

  readonly #onTokensRevoked: () => void;

  /** `onTokensRevoked`: a change revoked a user's tokens (publish the revocation now). */
  constructor(users: UserRepository, options: { onTokensRevoked?: () => void } = {}) {
    this.#users = users;
    this.#onTokensRevoked = options.onTokensRevoked ?? (() => undefined);
  }

  async createUser(request: UserCreateRequest): Promise<UserRecord> {
    const passwordHash = request.password === undefined ? null : await hashPassword(request.password);
    try {
      return await this.#users.insert({
        email: request.email,
        role: request.role,
        fullName: request.full_name,
        passwordHash,
      });
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
  }

  async listUsers(
    limit: number,
    cursor: string | undefined,
  ): Promise<{ users: UserRecord[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeKeysetCursor(cursor);
    // One extra row tells whether another page exists.
    const rows = await this.#users.page(limit + 1, after);
    const users = rows.slice(0, limit);
    const last = users.at(-1);
    return {
      users,
      nextCursor:
        rows.length > limit && last
          ? encodeKeysetCursor({ timestamp: last.createdAtKey, id: last.id })
          : null,
    };
  }

  async getUser(id: string): Promise<UserRecord> {
    const user = await this.#users.findById(id);
    if (!user) throw userNotFound(id);
    return user;
  }

  async updateUser(id: string, changes: UserUpdateRequest): Promise<UserRecord> {
    const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
    try {
      const updated = await this.#users.update(id, {
        ...(changes.email !== undefined && { email: changes.email }),
        ...(changes.role !== undefined && { role: changes.role }),
        ...(changes.full_name !== undefined && { fullName: changes.full_name }),
        ...(passwordHash !== undefined && { passwordHash }),
      });
      if (!updated) throw userNotFound(id);
      if (updated === 'last_admin') throw lastAdmin('demoted');
      if (changes.role !== undefined || passwordHash !== undefined) this.#onTokensRevoked();
      return updated;
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
  }

  /** Deletes a user; an admin cannot delete their own account, and the last admin cannot be deleted. */
  async deleteUser(id: string, callerId: string): Promise<void> {
    if (id === callerId)
      throw errors.conflict(
        'cannot_delete_self',
        'an admin cannot delete their own account; another admin can',
      );
    const outcome = await this.#users.delete(id);
    if (outcome === 'not_found') throw userNotFound(id);
    if (outcome === 'last_admin') throw lastAdmin('deleted');
    this.#onTokensRevoked();
  }

  /**
   * Checks an email and password. An unknown email, a user without a password and a wrong password all
   * answer `undefined` after the same amount of hashing work, so the answer reveals nothing.
   */
  async verifyCredentials(
    email: string,
    password: string,
  ): Promise<{ id: string; email: string; role: Role; tokenVersion: number } | undefined> {
    const user = await this.#users.findByEmail(email);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user?.passwordHash || !matches) return undefined;
    return { id: user.id, email: user.email, role: user.role, tokenVersion: user.tokenVersion };
  }
}

/** The dev/test users of DESIGN.md; never seeded in production. */
export const DEV_USERS: readonly { email: string; password: string; role: Role; fullName: string }[] = [
  { email: 'admin@example.com', password: 'admin123', role: 'admin', fullName: 'Dev Admin' },
  { email: 'analyst@example.com', password: 'analyst123', role: 'analyst', fullName: 'Dev Analyst' },
  { email: 'viewer@example.com', password: 'viewer123', role: 'viewer', fullName: 'Dev Viewer' },
];

/**
 * Creates the install's first admin when no user has that email; an existing user (whatever their role or
 * password now) is left alone, so rotating the Secret later changes nothing already stored.
 */
export async function ensureBootstrapAdmin(
  users: UserRepository,
  admin: { email: string; password: string },
): Promise<boolean> {
  return users.insertIfAbsent({
    email: admin.email,
    role: 'admin',
    fullName: 'Bootstrap Admin',
    passwordHash: await hashPassword(admin.password),
  });
}

/** Creates the dev users that are missing; existing users (and their passwords) are left alone. */
export async function seedDevUsers(users: UserRepository): Promise<string[]> {
  const created: string[] = [];
  for (const user of DEV_USERS) {
    const inserted = await users.insertIfAbsent({
      email: user.email,
      role: user.role,
      fullName: user.fullName,
      passwordHash: await hashPassword(user.password),
    });
    if (inserted) created.push(user.email);
  }
  return created;
}
