import type { NewEvent } from '@mrp/events';
import { errors } from '@mrp/platform';
import type { ScoreRequest } from '@mrp/schemas';
import { assess, checkFeatures, MODEL_VERSION, type Assessment } from './scoring-model.ts';

/** Where score events go; publishing returns at once and never throws. */
export interface ScoreEventSink {
  publish(event: NewEvent): void;
}

/** Who asked for the score, carried into the event. */
export interface ScoreCaller {
  readonly requestId: string;
  /** The principal's subject: a user id or `service:<name>`. */
  readonly actor: string;
  readonly traceparent: string | null;
}

export const SOURCE = 'scoring-service';

/** A case's score as the model gave it. */
export interface ScoredCase extends Assessment {
  readonly caseId: string;
  readonly modelVersion: string;
  readonly scoredAt: Date;
}

/** Scores a case's features with the model, stamps the time, and announces the new score. */
export class ScoreCase {
  readonly #events: ScoreEventSink;
  readonly #clock: () => Date;

  constructor(events: ScoreEventSink, clock: () => Date = () => new Date()) {
    this.#events = events;
    this.#clock = clock;
  }

  execute(request: ScoreRequest, caller: ScoreCaller): ScoredCase {
    const problems = checkFeatures(request.features);
    if (problems.length > 0) {
      throw errors.badRequest(
        'some features do not have the type the model expects',
        problems.map((problem) => ({
          in: 'body',
          pointer: `/features/${problem.feature}`,
          message: problem.message,
        })),
      );
    }
    const scored: ScoredCase = {
      ...assess(request.features),
      caseId: request.case_id,
      modelVersion: MODEL_VERSION,
      scoredAt: this.#clock(),
    };
    this.#events.publish({
      type: 'score_updated',
      source: SOURCE,
      subject: `case:${scored.caseId}`,
      data: {
        case_id: scored.caseId,
        score: scored.score,
        risk_band: scored.riskBand,
        model_version: scored.modelVersion,
        reasons: scored.reasons,
      },
      requestId: caller.requestId,
      actor: caller.actor,
      traceparent: caller.traceparent,
    });
    return scored;
  }
}
