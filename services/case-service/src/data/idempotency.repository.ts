import type { Queryable } from './case.repository.ts';

/**
 * The status stored with an answer. Only a create stores one, and it answers 201 Created; the column keeps
 * it so that a row says by itself what was answered (a row with no status has no answer yet).
 */
export const ANSWER_STATUS = 201;

export interface IdempotencyRecord {
  requestHash: string;
  caseId: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
  /** The first request failed after storing its case: a retry is answered with the case at once. */
  abandoned: boolean;
}

interface Row {
  request_hash: string;
  case_id: string | null;
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
  abandoned: boolean;
}

/** Idempotency keys of case creation, scoped to the caller. */
export const idempotencyRepository = {
  /** The record of `key` for this caller, if any. */
  async find(db: Queryable, owner: string, key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await db.query<Row>({
      name: 'idempotency_find',
      text: 'SELECT request_hash, case_id, response_status, response_body, created_at, abandoned FROM idempotency_keys WHERE owner = $1 AND key = $2',
      values: [owner, key],
    });
    const row = rows[0];
    return (
      row && {
        requestHash: row.request_hash,
        caseId: row.case_id,
        responseStatus: row.response_status,
        responseBody: row.response_body,
        createdAt: row.created_at,
        abandoned: row.abandoned,
      }
    );
  },

  /** Marks a key whose request failed after storing its case (a no-op once it has an answer). */
  async abandon(db: Queryable, owner: string, key: string): Promise<void> {
    await db.query(
      'UPDATE idempotency_keys SET abandoned = true WHERE owner = $1 AND key = $2 AND response_status IS NULL',
      [owner, key],
    );
  },

  /** Stores the first answer, to be replayed for the same key and body. */
  async complete(db: Queryable, owner: string, key: string, answer: unknown): Promise<void> {
    await db.query({
      name: 'idempotency_complete',
      text: 'UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE owner = $1 AND key = $2',
      values: [owner, key, ANSWER_STATUS, JSON.stringify(answer)],
    });
  },

  async deleteExpired(db: Queryable): Promise<number> {
    const { rowCount } = await db.query('DELETE FROM idempotency_keys WHERE expires_at <= now()');
    return rowCount ?? 0;
  },
};
