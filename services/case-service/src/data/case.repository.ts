import type { KeysetPosition, Pool, PoolClient } from '@mrp/platform';
import type { OutboxRow } from '@mrp/events';
import type { Priority } from '@mrp/schemas';
import type { CaseRecord, CaseScore, CaseStatus, RiskBand, ScoreReason } from '../domain/case.ts';
import { ANSWER_STATUS } from './idempotency.repository.ts';

/** A pool or a client inside a transaction: repositories run in either. */
export type Queryable = Pool | PoolClient;

interface Row {
  id: string;
  title: string;
  description: string | null;
  owner_id: string;
  status: CaseStatus;
  priority: Priority;
  features: Record<string, number | string | boolean>;
  score: string | null;
  risk_band: RiskBand | null;
  model_version: string | null;
  score_reasons: ScoreReason[] | null;
  scored_at: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  created_at_key: string;
}

const COLUMNS = `id, title, description, owner_id, status, priority, features, score, risk_band, model_version,
  score_reasons, scored_at, created_by, created_at, updated_at, created_at::text AS created_at_key`;

function toRecord(row: Row): CaseRecord {
  const score: CaseScore | null =
    row.score === null
      ? null
      : {
          value: Number(row.score),
          riskBand: row.risk_band!,
          modelVersion: row.model_version!,
          reasons: row.score_reasons ?? [],
          scoredAt: row.scored_at!,
        };
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    ownerId: row.owner_id,
    status: row.status,
    priority: row.priority,
    features: row.features,
    score,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    createdAtKey: row.created_at_key,
  };
}

export interface NewCase {
  title: string;
  description: string | null;
  ownerId: string;
  priority: Priority;
  features: Record<string, number | string | boolean>;
  createdBy: string;
  /** The worker leaves the case alone until then (the creating request scores it first). */
  scoreLeaseMs: number;
}

export interface CaseFilters {
  status?: CaseStatus | undefined;
  ownerId?: string | undefined;
  priority?: Priority | undefined;
}

export interface CaseChanges {
  title?: string;
  description?: string | null;
  ownerId?: string;
  priority?: Priority;
  status?: CaseStatus;
}

/** Data access for cases: plain objects in and out, every query parameterised. */
export const caseRepository = {
  /**
   * Creates a case and its case_created outbox row in one statement (one round trip, atomic without
   * BEGIN/COMMIT). With `idempotency`, the same statement first claims the caller's key (a new key is
   * inserted, an expired one taken over) and records the case on it; when the key is held by another
   * live request nothing is written and undefined is returned. A concurrent claim of the same key waits on
   * the primary key until the first statement ends, so exactly one request wins.
   */
  async create(
    db: Queryable,
    input: NewCase & { id: string; createdAt: Date },
    event: OutboxRow,
    idempotency?: { owner: string; key: string; requestHash: string; ttlSeconds: number },
  ): Promise<CaseRecord | undefined> {
    const values: unknown[] = [
      input.id,
      input.title,
      input.description,
      input.ownerId,
      input.priority,
      JSON.stringify(input.features),
      input.createdBy,
      input.scoreLeaseMs,
      input.createdAt,
      ...event,
    ];
    const insert = (guard: string) => `inserted AS (
        INSERT INTO cases (id, title, description, owner_id, priority, features, status, created_by,
                           next_score_attempt_at, created_at, updated_at)
        SELECT $1, $2, $3, $4, $5, $6, 'OPEN', $7, now() + make_interval(secs => $8::float8 / 1000), $9, $9
        ${guard}
        RETURNING ${COLUMNS}),
      event AS (
        INSERT INTO outbox (event_id, stream, aggregate_id, payload)
        SELECT $10, $11, $12, $13 WHERE EXISTS (SELECT 1 FROM inserted))`;
    const { rows } = idempotency
      ? await db.query<Row>({
          name: 'cases_create_with_key',
          text: `WITH claim AS (
              INSERT INTO idempotency_keys AS current (owner, key, request_hash, case_id, expires_at)
              VALUES ($14, $15, $16, $1, now() + make_interval(secs => $17))
              ON CONFLICT (owner, key) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, case_id = EXCLUDED.case_id, response_status = NULL,
                    response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at,
                    abandoned = false
                WHERE current.expires_at <= now()
              RETURNING 1),
            ${insert('WHERE EXISTS (SELECT 1 FROM claim)')}
            SELECT * FROM inserted`,
          values: [
            ...values,
            idempotency.owner,
            idempotency.key,
            idempotency.requestHash,
            idempotency.ttlSeconds,
          ],
        })
      : await db.query<Row>({
          name: 'cases_create',
          text: `WITH ${insert('')} SELECT * FROM inserted`,
          values,
        });
    return rows[0] && toRecord(rows[0]);
  },

  async findById(
    db: Queryable,
    id: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<CaseRecord | undefined> {
    const { rows } = await db.query<Row>({
      name: options.forUpdate ? 'cases_by_id_for_update' : 'cases_by_id',
      text: `SELECT ${COLUMNS} FROM cases WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
      values: [id],
    });
    return rows[0] && toRecord(rows[0]);
  },

  /** Up to `limit` cases matching the filters, newest first, after `after`. */
  async page(
    db: Queryable,
    filters: CaseFilters,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<CaseRecord[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (filters.status) add('status = ?', filters.status);
    if (filters.ownerId) add('owner_id = ?', filters.ownerId);
    if (filters.priority) add('priority = ?', filters.priority);
    if (after) {
      values.push(after.timestamp, after.id);
      conditions.push(`(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    // A prepared statement per combination of filters (at most 16): each connection plans each once.
    const shape = [filters.status, filters.ownerId, filters.priority, after]
      .map((part) => (part ? 1 : 0))
      .join('');
    const { rows } = await db.query<Row>({
      name: `cases_page_${shape}`,
      text: `SELECT ${COLUMNS} FROM cases ${where} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
      values,
    });
    return rows.map(toRecord);
  },

  async update(db: Queryable, id: string, changes: CaseChanges): Promise<CaseRecord> {
    const columns: Record<string, unknown> = {
      title: changes.title,
      description: changes.description,
      owner_id: changes.ownerId,
      priority: changes.priority,
      status: changes.status,
    };
    const set = Object.entries(columns).filter(([, value]) => value !== undefined);
    const assignments = set.map(([column], index) => `${column} = $${index + 2}`);
    // Reopening an unscored case hands it back to the worker straight away.
    if (changes.status === 'PENDING_SCORE') assignments.push('next_score_attempt_at = now()');
    const { rows } = await db.query<Row>(
      `UPDATE cases SET ${[...assignments, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, ...set.map(([, value]) => value)],
    );
    return toRecord(rows[0]!);
  },

  /**
   * Stores a score and its score_updated outbox row in one statement; the case becomes SCORED unless it
   * was closed meanwhile. With `answer`, the same statement stores the creating request's answer on its
   * idempotency key, if the case did become SCORED (`answered`): the answer was built from the case as
   * this statement leaves it, which only holds then.
   */
  async applyScore(
    db: Queryable,
    change: {
      id: string;
      score: CaseScore;
      updatedAt: Date;
      event: OutboxRow;
      answer?: { owner: string; key: string; body: unknown };
    },
  ): Promise<{ record: CaseRecord; answered: boolean }> {
    const { id, score, updatedAt, event, answer } = change;
    const values = [
      id,
      score.value,
      score.riskBand,
      score.modelVersion,
      JSON.stringify(score.reasons),
      score.scoredAt,
      updatedAt,
      ...event,
    ];
    const scored = `updated AS (
          UPDATE cases SET score = $2, risk_band = $3, model_version = $4, score_reasons = $5, scored_at = $6,
            status = CASE WHEN status = 'CLOSED' THEN status ELSE 'SCORED' END,
            next_score_attempt_at = NULL, updated_at = $7
          WHERE id = $1 RETURNING ${COLUMNS}),
        event AS (
          INSERT INTO outbox (event_id, stream, aggregate_id, payload)
          SELECT $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM updated))`;
    const { rows } = answer
      ? await db.query<Row & { answered: boolean }>({
          name: 'cases_apply_score_and_answer',
          text: `WITH ${scored},
            answer AS (
              UPDATE idempotency_keys SET response_status = $14, response_body = $15
              WHERE owner = $12 AND key = $13 AND EXISTS (SELECT 1 FROM updated WHERE status = 'SCORED')
              RETURNING 1)
            SELECT *, EXISTS (SELECT 1 FROM answer) AS answered FROM updated`,
          values: [...values, answer.owner, answer.key, ANSWER_STATUS, JSON.stringify(answer.body)],
        })
      : await db.query<Row & { answered: boolean }>({
          name: 'cases_apply_score',
          text: `WITH ${scored} SELECT *, false AS answered FROM updated`,
          values,
        });
    const row = rows[0]!;
    return { record: toRecord(row), answered: row.answered };
  },

  /** Marks a case as waiting for a score; the worker tries again after `retryInMs`. */
  async markPending(db: Queryable, id: string, retryInMs: number): Promise<CaseRecord> {
    const { rows } = await db.query<Row>(
      `UPDATE cases SET status = CASE WHEN status = 'CLOSED' THEN status ELSE 'PENDING_SCORE' END,
         next_score_attempt_at = now() + make_interval(secs => $2::float8 / 1000), updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, retryInMs],
    );
    return toRecord(rows[0]!);
  },

  /**
   * Claims up to `limit` unscored cases that are due, for one worker: their next attempt moves
   * `leaseMs` ahead, so no other replica takes them meanwhile. Rows locked by another claim are skipped.
   */
  async claimUnscored(
    db: Queryable,
    limit: number,
    leaseMs: number,
  ): Promise<(CaseRecord & { attempts: number })[]> {
    const { rows } = await db.query<Row & { score_attempts: number }>(
      `UPDATE cases SET next_score_attempt_at = now() + make_interval(secs => $2::float8 / 1000),
         score_attempts = score_attempts + 1
       WHERE id IN (
         SELECT id FROM cases
          WHERE score IS NULL AND status <> 'CLOSED' AND next_score_attempt_at <= now()
          ORDER BY next_score_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}, score_attempts`,
      [limit, leaseMs],
    );
    return rows.map((row) => ({ ...toRecord(row), attempts: row.score_attempts }));
  },
};
