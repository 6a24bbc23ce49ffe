import type { CaseSnapshot, Priority } from '@mrp/schemas';

export type CaseStatus = 'OPEN' | 'PENDING_SCORE' | 'SCORED' | 'CLOSED';
export type RiskBand = 'low' | 'medium' | 'high';

export interface ScoreReason {
  feature: string;
  contribution: number;
  description: string;
}

/** A score as case-service keeps it. */
export interface CaseScore {
  value: number;
  riskBand: RiskBand;
  modelVersion: string;
  reasons: ScoreReason[];
  scoredAt: Date;
}

/** A case as the domain sees it (every version's fields). */
export interface CaseRecord {
  id: string;
  title: string;
  description: string | null;
  ownerId: string;
  status: CaseStatus;
  priority: Priority;
  features: Record<string, number | string | boolean>;
  score: CaseScore | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  /** created_at with full precision, for keyset cursors. */
  createdAtKey: string;
}

/** The versions of the cases API: v2 adds priority (and scoring features on create). */
export type ApiVersion = 'v1' | 'v2';

/** A case as its events carry it (the CaseSnapshot contract: every version's fields, the score's value). */
export function caseSnapshot(record: CaseRecord): CaseSnapshot {
  return {
    id: record.id,
    title: record.title,
    description: record.description,
    owner_id: record.ownerId,
    status: record.status,
    score: record.score?.value ?? null,
    created_by: record.createdBy,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
    priority: record.priority,
  };
}

const PRIORITY_LEVEL: Record<Priority, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/** What the scoring model is asked about a case: derived fields, then the features given at creation. */
export function scoringFeatures(record: CaseRecord): Record<string, number | string | boolean> {
  return {
    ...record.features,
    priority_level: PRIORITY_LEVEL[record.priority],
    title_length: record.title.length,
    description_length: record.description?.length ?? 0,
  };
}

/**
 * The status a client asks for, applied to the current one. Clients only close and reopen cases;
 * PENDING_SCORE and SCORED are set by scoring. Reopening returns a case to SCORED when it has a score
 * and to PENDING_SCORE (so the worker scores it) when it has none.
 */
export function nextStatus(current: CaseRecord, requested: 'OPEN' | 'CLOSED'): CaseStatus | 'invalid' {
  if (requested === 'CLOSED') return current.status === 'CLOSED' ? 'invalid' : 'CLOSED';
  if (current.status !== 'CLOSED') return 'invalid';
  return current.score ? 'SCORED' : 'PENDING_SCORE';
}
