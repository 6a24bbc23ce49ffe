import type { Queryable } from './case.repository.ts';

export interface IdempotencyRecord {
  requestHash: string;
  caseId: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
}

interface Row {
  request_hash: string;
  case_id: string | null;
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
}

/** Idempotency keys of case creation, scoped to the caller. */
export const idempotencyRepository = {
  /**
   * Claims `key` for this request inside the caller's transaction, in one statement: a new key is
   * inserted and an expired one taken over. A concurrent claim of the same key waits on the primary key
   * until the first transaction ends, then finds the row: so exactly one request wins. Returns undefined
   * when claimed, else the existing record. (The case id is recorded by caseRepository.insert.)
   */
  async claim(
    db: Queryable,
    owner: string,
    key: string,
    requestHash: string,
    ttlSeconds: number,
  ): Promise<IdempotencyRecord | undefined> {
    const claimed = await db.query({
      name: 'idempotency_claim',
      text: `INSERT INTO idempotency_keys AS current (owner, key, request_hash, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (owner, key) DO UPDATE
               SET request_hash = EXCLUDED.request_hash, case_id = NULL, response_status = NULL,
                   response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
               WHERE current.expires_at <= now()`,
      values: [owner, key, requestHash, ttlSeconds],
    });
    if (claimed.rowCount === 1) return undefined;
    const { rows } = await db.query<Row>(
      'SELECT request_hash, case_id, response_status, response_body, created_at FROM idempotency_keys WHERE owner = $1 AND key = $2',
      [owner, key],
    );
    const row = rows[0]!;
    return {
      requestHash: row.request_hash,
      caseId: row.case_id,
      responseStatus: row.response_status,
      responseBody: row.response_body,
      createdAt: row.created_at,
    };
  },

  /** Stores the first response, to be replayed for the same key and body. */
  async complete(db: Queryable, owner: string, key: string, status: number, body: unknown): Promise<void> {
    await db.query({
      name: 'idempotency_complete',
      text: 'UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE owner = $1 AND key = $2',
      values: [owner, key, status, JSON.stringify(body)],
    });
  },

  async deleteExpired(db: Queryable): Promise<number> {
    const { rowCount } = await db.query('DELETE FROM idempotency_keys WHERE expires_at <= now()');
    return rowCount ?? 0;
  },
};
