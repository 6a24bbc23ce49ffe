import type { ScoreResult } from '@mrp/schemas';
import type { ScoredCase } from '../domain/score-case.use-case.ts';

/** The public shape of a score: a whitelist of the contract's fields. */
export function presentScore(scored: ScoredCase): ScoreResult {
  return {
    case_id: scored.caseId,
    score: scored.score,
    risk_band: scored.riskBand,
    model_version: scored.modelVersion,
    reasons: scored.reasons.map(({ feature, contribution, description }) => ({
      feature,
      contribution,
      description,
    })),
    scored_at: scored.scoredAt.toISOString(),
  };
}
