import {
  isPgError,
  PG_UNIQUE_VIOLATION,
  withTransaction,
  type KeysetPosition,
  type Pool,
  type PoolClient,
} from '@mrp/platform';
import type { Role } from '@mrp/schemas';

/** A user row as the domain sees it; the hash never leaves the service's domain layer. */
export interface UserRecord {
  id: string;
  email: string;
  role: Role;
  fullName: string;
  passwordHash: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** created_at with full (microsecond) precision, for keyset cursors. */
  createdAtKey: string;
  /** Raised at each change of role or password; access tokens carry it (ADR 0021). */
  tokenVersion: number;
}

/** A user whose tokens below `minVersion` are refused until `expiresAt` (ADR 0021). */
export interface TokenRevocation {
  userId: string;
  minVersion: number;
  expiresAt: Date;
}

/** The version a deleted user's revocation names: above every token they could hold. */
export const DELETED_USER_MIN_VERSION = 2_147_483_647;

export class EmailTakenError extends Error {
  constructor() {
    super('email already in use');
    this.name = 'EmailTakenError';
  }
}

interface Row {
  id: string;
  email: string;
  role: Role;
  full_name: string;
  password_hash: string | null;
  created_at: Date;
  updated_at: Date;
  created_at_key: string;
  token_version: number;
}

const COLUMNS = `id, email, role, full_name, password_hash, created_at, updated_at, created_at::text AS created_at_key,
  token_version`;

function toRecord(row: Row): UserRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    fullName: row.full_name,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    createdAtKey: row.created_at_key,
    tokenVersion: row.token_version,
  };
}

function rethrow(error: unknown): never {
  if (isPgError(error, PG_UNIQUE_VIOLATION)) throw new EmailTakenError();
  throw error;
}

/** Data access for users: plain objects in and out, SQLSTATEs mapped to domain errors. */
export class UserRepository {
  readonly #pool: Pool;
  /** How long a revocation is kept: longer than any access token lives (ADR 0021). */
  readonly #revocationRetentionSeconds: number;

  constructor(pool: Pool, options: { revocationRetentionSeconds: number }) {
    this.#pool = pool;
    this.#revocationRetentionSeconds = options.revocationRetentionSeconds;
  }

  async insert(user: {
    email: string;
    role: Role;
    fullName: string;
    passwordHash: string | null;
  }): Promise<UserRecord> {
    try {
      const { rows } = await this.#pool.query<Row>(
        `INSERT INTO users (email, role, full_name, password_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [user.email, user.role, user.fullName, user.passwordHash],
      );
      return toRecord(rows[0]!);
    } catch (error) {
      return rethrow(error);
    }
  }

  /** Inserts unless a user with that email exists; returns whether it inserted. */
  async insertIfAbsent(user: {
    email: string;
    role: Role;
    fullName: string;
    passwordHash: string;
  }): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO users (email, role, full_name, password_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT ((lower(email))) DO NOTHING`,
      [user.email, user.role, user.fullName, user.passwordHash],
    );
    return rowCount === 1;
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`,
      [email],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Up to `limit` users after `after`, oldest first. */
  async page(limit: number, after: KeysetPosition | undefined): Promise<UserRecord[]> {
    const { rows } = after
      ? await this.#pool.query<Row>(
          `SELECT ${COLUMNS} FROM users WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
           ORDER BY created_at, id LIMIT $3`,
          [after.timestamp, after.id, limit],
        )
      : await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1`, [limit]);
    return rows.map(toRecord);
  }

  /**
   * Changes a user; undefined when there is none. A change of role or password raises the user's token
   * version and, in the same statement, revokes the tokens below it. Taking the admin role away from the last admin is
   * refused ('last_admin'): the admins' rows are locked first, so two demotions at once cannot both pass.
   */
  async update(
    id: string,
    changes: { email?: string; role?: Role; fullName?: string; passwordHash?: string },
  ): Promise<UserRecord | undefined | 'last_admin'> {
    const columns: Record<string, unknown> = {
      email: changes.email,
      role: changes.role,
      full_name: changes.fullName,
      password_hash: changes.passwordHash,
    };
    const set = Object.entries(columns).filter(([, value]) => value !== undefined);
    const revokes = changes.role !== undefined || changes.passwordHash !== undefined;
    // $1 is the id, $2 the revocation's retention; the new values follow.
    const assignments = set.map(([column], index) => `${column} = $${index + 3}`);
    if (revokes) assignments.push('token_version = token_version + 1');
    const update = `UPDATE users SET ${[...assignments, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`;
    // Without a revocation, the CTE inserts nothing ($2 still typed, so the statement is one shape).
    const statement = `WITH changed AS (${update}),
      revoked AS (
        INSERT INTO token_revocations (user_id, min_version, expires_at)
        SELECT id, token_version, now() + make_interval(secs => $2::int) FROM changed WHERE ${revokes}
        ON CONFLICT (user_id) DO UPDATE SET min_version = excluded.min_version, expires_at = excluded.expires_at
      )
      SELECT * FROM changed`;
    const apply = async (db: Pool | PoolClient) => {
      const { rows } = await db.query<Row>(statement, [
        id,
        this.#revocationRetentionSeconds,
        ...set.map(([, value]) => value),
      ]);
      return rows[0] && toRecord(rows[0]);
    };
    try {
      if (changes.role === undefined || changes.role === 'admin') return await apply(this.#pool);
      return await withTransaction(this.#pool, async (client) =>
        (await isLastAdmin(client, id)) ? 'last_admin' : apply(client),
      );
    } catch (error) {
      return rethrow(error);
    }
  }

  /**
   * Deletes a user, and in the same statement revokes every token they hold: 'not_found', or 'last_admin'
   * (refused) when it is the only admin left.
   */
  async delete(id: string): Promise<'deleted' | 'not_found' | 'last_admin'> {
    return withTransaction(this.#pool, async (client) => {
      if (await isLastAdmin(client, id)) return 'last_admin';
      const { rowCount } = await client.query(
        `WITH deleted AS (DELETE FROM users WHERE id = $1 RETURNING id)
         INSERT INTO token_revocations (user_id, min_version, expires_at)
         SELECT id, $2::int, now() + make_interval(secs => $3::int) FROM deleted
         ON CONFLICT (user_id) DO UPDATE SET min_version = excluded.min_version, expires_at = excluded.expires_at`,
        [id, DELETED_USER_MIN_VERSION, this.#revocationRetentionSeconds],
      );
      return rowCount === 1 ? 'deleted' : 'not_found';
    });
  }

  /** The revocations still in force, for the services (published to Redis). */
  async activeRevocations(): Promise<TokenRevocation[]> {
    const { rows } = await this.#pool.query<{ user_id: string; min_version: number; expires_at: Date }>(
      'SELECT user_id, min_version, expires_at FROM token_revocations WHERE expires_at > now()',
    );
    return rows.map((row) => ({
      userId: row.user_id,
      minVersion: row.min_version,
      expiresAt: row.expires_at,
    }));
  }

  /** Forgets the revocations whose tokens have all expired. */
  async pruneRevocations(): Promise<number> {
    const { rowCount } = await this.#pool.query('DELETE FROM token_revocations WHERE expires_at <= now()');
    return rowCount ?? 0;
  }
}

/** Whether `id` is the only admin; locks every admin's row until the transaction ends. */
async function isLastAdmin(client: PoolClient, id: string): Promise<boolean> {
  const { rows } = await client.query<{ id: string }>(
    "SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE",
  );
  return rows.length === 1 && rows[0]!.id === id;
}
