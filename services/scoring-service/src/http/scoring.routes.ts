import { defineRoute, type AppContext, type RouteDefinition } from '@mrp/platform';
import { SERVICE_SCOPES } from '@mrp/schemas';
import type { Counter } from 'prom-client';
import type { ScoreCase, ScoreCaller } from '../domain/score-case.use-case.ts';
import { describeModel } from '../domain/scoring-model.ts';
import type { FaultInjector } from './fault-injector.ts';
import { presentScore } from './score.presenter.ts';

/**
 * Scoring a case is case-service's job, with its own service token: a person's token gets 403, so nobody can
 * publish a score_updated for a case (which the audit log keeps as the case's history) by hand.
 */
const SCORERS = ['service'] as const;
const READERS = ['admin', 'analyst', 'viewer'] as const;
const tags = ['scoring'];

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function callerOf(ctx: AppContext): ScoreCaller {
  const traceparent = ctx.get('traceparent');
  return {
    requestId: ctx.state.requestId,
    actor: ctx.state.principal!.subject,
    traceparent: TRACEPARENT.test(traceparent) ? traceparent : null,
  };
}

export interface ScoringRouteDependencies {
  readonly scoreCase: ScoreCase;
  readonly faults: FaultInjector;
  readonly scoresTotal: Counter<'risk_band'>;
}

/** `/v1/scoring`: score a case's features, and describe the model that does it. */
export function scoringRoutes({
  scoreCase,
  faults,
  scoresTotal,
}: ScoringRouteDependencies): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/scoring/score',
      operationId: 'scoreCase',
      summary: 'Score the features of a case with the deterministic mock model and explain the score.',
      tags,
      access: SCORERS,
      serviceScopes: [SERVICE_SCOPES.scoreCases],
      body: { schema: 'ScoreRequest', mediaType: 'application/json' },
      responses: {
        200: { description: 'The score, its risk band and its main reasons', schema: 'ScoreResult' },
        400: { description: 'The features do not match the contract or the model' },
        403: {
          description: 'Not a service token with the scope scoring:score: scoring a case is for case-service',
        },
        503: { description: 'Scoring is unavailable (only when fault injection is configured)' },
      },
      async handle(ctx) {
        await faults.apply(ctx);
        const scored = scoreCase.execute(ctx.state.input.body, callerOf(ctx));
        scoresTotal.inc({ risk_band: scored.riskBand });
        ctx.body = presentScore(scored);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/scoring/model',
      operationId: 'getScoringModel',
      summary: 'The model version, its features and weights, and how unknown features are treated.',
      tags,
      access: READERS,
      responses: { 200: { description: 'The model, as data' } },
      handle(ctx) {
        ctx.body = describeModel();
      },
    }),
  ];
}
