import { createHash, randomUUID } from 'node:crypto';
import {
  AppError,
  decodeKeysetCursor,
  encodeKeysetCursor,
  errors,
  type Logger,
  type Pool,
  type PoolClient,
  withTransaction,
} from '@mrp/platform';
import { createEvent, enqueueRow, outboxRow, type EventType, type OutboxRow } from '@mrp/events';
import type { CaseCreateV1Request, CaseCreateV2Request, CaseUpdateV2Request } from '@mrp/schemas';
import { caseRepository, type CaseChanges, type CaseFilters } from '../data/case.repository.ts';
import { idempotencyRepository } from '../data/idempotency.repository.ts';
import { ScoringUnavailableError, type ScoringClient } from '../clients/scoring.client.ts';
import {
  caseSnapshot,
  nextStatus,
  scoringFeatures,
  type ApiVersion,
  type CaseRecord,
  type CaseScore,
} from './case.ts';

export const SOURCE = 'case-service';

/** Who asks, and the context every event carries. */
export interface Caller {
  readonly subject: string;
  readonly requestId: string;
}

/**
 * A create request as its API version's contract has it: v1 accepts `priority` (and nothing else of v2)
 * and ignores it, but it still belongs to the body that an Idempotency-Key fingerprints.
 */
export type CreateCaseRequest =
  | { readonly version: 'v1'; readonly body: CaseCreateV1Request }
  | { readonly version: 'v2'; readonly body: CaseCreateV2Request };

export interface CaseUseCaseOptions {
  readonly idempotencyTtlSeconds: number;
  /** A key whose first request has been in flight this long without finishing counts as abandoned (ms). */
  readonly idempotencyInFlightMs: number;
  /** The creating request scores the case itself; the worker waits this long before stepping in (ms). */
  readonly scoreLeaseMs: number;
  /** First retry delay of a case left PENDING_SCORE (ms). */
  readonly pendingRetryMs: number;
  /** The Redis stream case events go to. */
  readonly stream: string;
  /** case-service's own token: scoring a case is for the service role alone, whoever created it. */
  readonly serviceToken: () => Promise<string>;
}

/** What the use cases work with: the database, the scoring client, their settings and hooks. */
export interface CaseUseCaseDependencies {
  readonly pool: Pool;
  readonly scoring: ScoringClient;
  readonly options: CaseUseCaseOptions;
  readonly logger: Logger;
  /** A commit wrote events to the outbox (the relay publishes them now). */
  readonly onEvents: () => void;
  /**
   * The answer a create gives, as its API version presents the case (http/): stored with its Idempotency-Key
   * (in the statement that stores the score, ADR 0014) so that a retry replays exactly that answer.
   */
  readonly presentAnswer: (version: ApiVersion, record: CaseRecord) => unknown;
}

/** What a create did. How it is answered over HTTP (201, Idempotent-Replayed) is http/'s business. */
export interface CreateResult {
  /** The case as the request's API version presents it: the answer stored with its Idempotency-Key. */
  readonly answer: unknown;
  /** True when `answer` is the one stored for an earlier request with the same key and body. */
  readonly replayed: boolean;
}

/** The request's fingerprint: same key and same fingerprint replay; same key, other fingerprint is refused. */
export function requestHash(version: ApiVersion, body: unknown): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, canonical(v)]),
          )
        : value;
  return createHash('sha256')
    .update(`${version}\n${JSON.stringify(canonical(body))}`)
    .digest('hex');
}

const notFound = (id: string) => errors.notFound(`no case with id ${id}`);

const inFlight = () =>
  new AppError({
    code: 'idempotency_key_in_flight',
    status: 409,
    title: 'A request with this Idempotency-Key is in progress',
    detail: 'retry shortly to get its answer',
    headers: { 'Retry-After': '1' },
  });

/** The use cases of case management, in the words of the spec. */
export class CaseUseCases {
  readonly #pool: Pool;
  readonly #scoring: ScoringClient;
  readonly #options: CaseUseCaseOptions;
  readonly #logger: Logger;
  readonly #onEvents: () => void;
  readonly #presentAnswer: (version: ApiVersion, record: CaseRecord) => unknown;

  constructor(dependencies: CaseUseCaseDependencies) {
    this.#pool = dependencies.pool;
    this.#scoring = dependencies.scoring;
    this.#options = dependencies.options;
    this.#logger = dependencies.logger;
    this.#onEvents = dependencies.onEvents;
    this.#presentAnswer = dependencies.presentAnswer;
  }

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.#pool, work);
  }

  /** A case event as the values of its outbox row. */
  #event(
    type: EventType,
    caseId: string,
    data: Record<string, unknown>,
    caller: Pick<Caller, 'subject'> & { requestId: string | null },
  ): OutboxRow {
    const event = createEvent({
      type,
      source: SOURCE,
      subject: `case:${caseId}`,
      data,
      requestId: caller.requestId,
      actor: caller.subject,
    });
    return outboxRow(this.#options.stream, caseId, event);
  }

  async #emit(
    client: PoolClient,
    type: EventType,
    record: CaseRecord,
    data: Record<string, unknown>,
    caller: Pick<Caller, 'subject'> & { requestId: string | null },
  ): Promise<void> {
    await enqueueRow(client, this.#event(type, record.id, data, caller));
  }

  /**
   * Creates a case and scores it. With an idempotency key, the same key and body replay the first answer,
   * another body is refused (422), and a duplicate racing the first gets 409 until the first finishes.
   * Scoring failures never fail the creation: the case is stored as PENDING_SCORE for the worker.
   */
  async createCase(
    request: CreateCaseRequest,
    caller: Caller,
    idempotencyKey: string | undefined,
  ): Promise<CreateResult> {
    const { version, body: input } = request;
    const hash = idempotencyKey === undefined ? '' : requestHash(version, input);
    // The case's id and creation time are chosen here, so that its case_created event can be written by
    // the same statement as the case: one round trip, atomic without a transaction block.
    const createdAt = new Date();
    const fields = {
      id: randomUUID(),
      title: input.title,
      description: input.description ?? null,
      ownerId: input.owner_id,
      priority: request.version === 'v2' ? request.body.priority : 'medium',
      features: request.version === 'v2' ? (request.body.features ?? {}) : {},
      createdBy: caller.subject,
    } satisfies Partial<CaseRecord>;
    const snapshot: CaseRecord = {
      ...fields,
      status: 'OPEN',
      score: null,
      createdAt,
      updatedAt: createdAt,
      createdAtKey: '',
    };
    const record = await caseRepository.create(
      this.#pool,
      { ...fields, createdAt, scoreLeaseMs: this.#options.scoreLeaseMs },
      this.#event('case_created', fields.id, { case: caseSnapshot(snapshot) }, caller),
      idempotencyKey === undefined
        ? undefined
        : {
            owner: caller.subject,
            key: idempotencyKey,
            requestHash: hash,
            ttlSeconds: this.#options.idempotencyTtlSeconds,
          },
    );
    if (!record) return this.#answerExisting(version, hash, caller, idempotencyKey!);
    this.#onEvents();

    try {
      const answer =
        idempotencyKey === undefined ? undefined : { version, owner: caller.subject, key: idempotencyKey };
      const stored = await this.#scoreAndStore(record, caller, this.#options.pendingRetryMs, answer);
      const presented = stored.answer ?? this.#presentAnswer(version, stored.record);
      if (answer && stored.answer === undefined)
        await idempotencyRepository.complete(this.#pool, answer.owner, answer.key, presented);
      return { answer: presented, replayed: false };
    } catch (error) {
      // The case is stored and its event with it: the client's retry gets that case at once rather than
      // 409 until the in-flight window passes (best effort: the database may be what failed).
      if (idempotencyKey !== undefined)
        await idempotencyRepository
          .abandon(this.#pool, caller.subject, idempotencyKey)
          .catch(() => undefined);
      throw error;
    }
  }

  /** The answer for a key another request holds: its stored answer, a 422 for another body, or a 409. */
  async #answerExisting(
    version: ApiVersion,
    hash: string,
    caller: Caller,
    key: string,
  ): Promise<CreateResult> {
    const existing = await idempotencyRepository.find(this.#pool, caller.subject, key);
    if (!existing) throw inFlight();
    if (existing.requestHash !== hash) {
      throw new AppError({
        code: 'idempotency_key_reused',
        status: 422,
        title: 'Idempotency key already used',
        detail: 'this Idempotency-Key was used with a different request body',
      });
    }
    if (existing.responseStatus !== null) return { answer: existing.responseBody, replayed: true };
    const abandoned =
      existing.abandoned || Date.now() - existing.createdAt.getTime() > this.#options.idempotencyInFlightMs;
    if (abandoned && existing.caseId) {
      // The first request died after creating the case: answer with the case as it is now.
      const record = await caseRepository.findById(this.#pool, existing.caseId);
      if (record) {
        const presented = this.#presentAnswer(version, record);
        await idempotencyRepository.complete(this.#pool, caller.subject, key, presented);
        return { answer: presented, replayed: true };
      }
    }
    throw inFlight();
  }

  /**
   * Asks scoring for a score and stores the outcome: the score with score_updated, or PENDING_SCORE with
   * the next attempt `retryInMs` ahead. score_pending is emitted when a case becomes pending, not again
   * for each failed retry. With `answer` (a create with an idempotency key), the statement that stores the
   * score also stores the create's answer on the key, and `answer` in the result is that answer; when it is
   * undefined the caller stores the answer itself.
   */
  async #scoreAndStore(
    record: CaseRecord,
    actor: { subject: string; requestId: string | null },
    retryInMs: number,
    answer?: { version: ApiVersion; owner: string; key: string },
  ): Promise<{ record: CaseRecord; answer?: unknown }> {
    let score: CaseScore | undefined;
    let reason = '';
    try {
      let token: string;
      try {
        token = await this.#options.serviceToken();
      } catch (error) {
        throw new ScoringUnavailableError('no_token', 'no service token from auth-service', error);
      }
      score = await this.#scoring.score(record.id, scoringFeatures(record), {
        token,
        requestId: actor.requestId,
      });
    } catch (error) {
      if (!(error instanceof ScoringUnavailableError)) throw error;
      reason = `${error.reason}: ${error.message}`;
      this.#logger.warn({ case_id: record.id, reason: error.reason }, 'scoring failed; case left pending');
    }
    let result: { record: CaseRecord; answer?: unknown };
    if (score) {
      // The score and its score_updated event in one statement, and the create's answer with them: the
      // answer shows the case as that statement leaves it when it becomes SCORED (the statement checks).
      const updatedAt = new Date();
      const body =
        answer && this.#presentAnswer(answer.version, { ...record, score, status: 'SCORED', updatedAt });
      const stored = await caseRepository.applyScore(this.#pool, {
        id: record.id,
        score,
        updatedAt,
        event: this.#event(
          'score_updated',
          record.id,
          {
            case_id: record.id,
            score: score.value,
            risk_band: score.riskBand,
            model_version: score.modelVersion,
            reasons: score.reasons,
          },
          actor,
        ),
        answer: answer && { owner: answer.owner, key: answer.key, body },
      });
      result = stored.answered ? { record: stored.record, answer: body } : { record: stored.record };
    } else {
      // Becoming pending (rare) in a transaction.
      const pending = await this.#transaction(async (client) => {
        const marked = await caseRepository.markPending(client, record.id, retryInMs);
        if (record.status !== 'PENDING_SCORE') {
          await this.#emit(
            client,
            'score_pending',
            marked,
            { case_id: marked.id, reason: reason.slice(0, 500) },
            actor,
          );
        }
        return marked;
      });
      result = { record: pending };
    }
    this.#onEvents();
    return result;
  }

  /** Scores a case the worker claimed; true when it got a score, else the next try is `retryInMs` ahead. */
  async rescore(record: CaseRecord, serviceSubject: string, retryInMs: number): Promise<boolean> {
    const stored = await this.#scoreAndStore(record, { subject: serviceSubject, requestId: null }, retryInMs);
    return stored.record.score !== null;
  }

  async listCases(
    filters: CaseFilters,
    limit: number,
    cursor: string | undefined,
  ): Promise<{ cases: CaseRecord[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeKeysetCursor(cursor);
    const rows = await caseRepository.page(this.#pool, filters, limit + 1, after);
    const cases = rows.slice(0, limit);
    const last = cases.at(-1);
    return {
      cases,
      nextCursor:
        rows.length > limit && last
          ? encodeKeysetCursor({ timestamp: last.createdAtKey, id: last.id })
          : null,
    };
  }

  async getCase(id: string): Promise<CaseRecord> {
    const record = await caseRepository.findById(this.#pool, id);
    if (!record) throw notFound(id);
    return record;
  }

  /** Changes a case and emits case_updated with the fields that changed; a no-op change emits nothing. */
  async updateCase(id: string, changes: CaseUpdateV2Request, caller: Caller): Promise<CaseRecord> {
    const result = await this.#transaction(async (client) => {
      const current = await caseRepository.findById(client, id, { forUpdate: true });
      if (!current) throw notFound(id);
      const update: CaseChanges = {};
      if (changes.title !== undefined && changes.title !== current.title) update.title = changes.title;
      if (changes.description !== undefined && changes.description !== current.description)
        update.description = changes.description;
      if (changes.owner_id !== undefined && changes.owner_id !== current.ownerId)
        update.ownerId = changes.owner_id;
      if (changes.priority !== undefined && changes.priority !== current.priority)
        update.priority = changes.priority;
      if (changes.status !== undefined) {
        const status = nextStatus(current, changes.status);
        if (status === 'invalid') {
          throw errors.conflict(
            'invalid_status_transition',
            `a ${current.status} case cannot become ${changes.status}`,
          );
        }
        update.status = status;
      }
      const changed = Object.keys(update);
      if (changed.length === 0) return current;
      const updated = await caseRepository.update(client, id, update);
      const names = changed.map((name) => (name === 'ownerId' ? 'owner_id' : name));
      await this.#emit(
        client,
        'case_updated',
        updated,
        { case: caseSnapshot(updated), changed: names },
        caller,
      );
      return updated;
    });
    this.#onEvents();
    return result;
  }
}
