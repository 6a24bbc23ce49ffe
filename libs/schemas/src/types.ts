/**
 * TypeScript shapes of the contracts in libs/schemas/json: generated from the schemas
 * (contracts.generated.ts, `make contract-types`), plus the few names derived from them.
 */
import type { AuditEvent, Role, ScoreRequest, ScoreResult } from './contracts.generated.ts';

export type * from './contracts.generated.ts';

export const ROLES: readonly Role[] = ['admin', 'analyst', 'viewer'];

/** A feature value the scoring model accepts. */
export type FeatureValue = ScoreRequest['features'][string];

export type RiskBand = ScoreResult['risk_band'];

/** Event types as the audit log names them (EventEnvelope `type`). */
export type AuditEventType = AuditEvent['type'];
