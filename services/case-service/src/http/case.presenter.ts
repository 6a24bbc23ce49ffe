import type { ApiVersion, CaseRecord } from '../domain/case.ts';

function presentScore(record: CaseRecord) {
  const score = record.score;
  return score
    ? {
        value: score.value,
        risk_band: score.riskBand,
        model_version: score.modelVersion,
        reasons: score.reasons,
        scored_at: score.scoredAt.toISOString(),
      }
    : null;
}

/** A case as /v1 shows it: a whitelist without priority or internal bookkeeping. */
export function presentCaseV1(record: CaseRecord) {
  return {
    id: record.id,
    title: record.title,
    description: record.description,
    owner_id: record.ownerId,
    status: record.status,
    score: presentScore(record),
    created_by: record.createdBy,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
  };
}

/** A case as /v2 shows it: v1 plus priority. */
export function presentCaseV2(record: CaseRecord) {
  return { ...presentCaseV1(record), priority: record.priority };
}

/** A case as the API version shows it: what a create answers, and what its Idempotency-Key replays. */
export function presentCase(version: ApiVersion, record: CaseRecord) {
  return version === 'v1' ? presentCaseV1(record) : presentCaseV2(record);
}
