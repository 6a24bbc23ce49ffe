/** TypeScript shapes of the contracts in libs/schemas/json; each mirrors the schema of the same name. */

export type Role = 'admin' | 'analyst' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'analyst', 'viewer'];

export interface User {
  id: string;
  email: string;
  role: Role;
  full_name: string;
  has_password: boolean;
  created_at: string;
  updated_at: string;
}

export interface UserCreateRequest {
  email: string;
  role: Role;
  full_name: string;
  password?: string;
}

export type UserUpdateRequest = Partial<UserCreateRequest>;

export interface UserList {
  items: User[];
  next_cursor: string | null;
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface IdParams {
  id: string;
}

export interface CredentialsVerifyRequest {
  email: string;
  password: string;
}

export interface VerifiedIdentity {
  id: string;
  email: string;
  role: Role;
  /** Raised at each change of the user's role or password; tokens carry it as `ver`. */
  token_version: number;
}

export interface TokenRequest {
  grant_type?: string;
  username: string;
  password: string;
  scope?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** A feature value the scoring model accepts. */
export type FeatureValue = number | boolean | string;

export interface ScoreRequest {
  case_id: string;
  features: Record<string, FeatureValue>;
}

export type RiskBand = 'low' | 'medium' | 'high';

export interface ScoreReason {
  feature: string;
  contribution: number;
  description: string;
}

export interface ScoreResult {
  case_id: string;
  score: number;
  risk_band: RiskBand;
  model_version: string;
  reasons: ScoreReason[];
  scored_at: string;
}

export type Priority = 'low' | 'medium' | 'high' | 'critical';

/** Event types as the audit log names them (EventEnvelope `type`). */
export type AuditEventType = 'case_created' | 'case_updated' | 'score_updated' | 'score_pending';

export interface AuditEvent {
  id: string;
  type: AuditEventType;
  version: number;
  source: string;
  subject: string;
  actor: string | null;
  request_id: string | null;
  traceparent: string | null;
  occurred_at: string;
  received_at: string;
  stream: string;
  stream_entry_id: string;
  data: Record<string, unknown>;
}

export interface AuditEventList {
  items: AuditEvent[];
  next_cursor: string | null;
}

export interface AuditQuery {
  type?: AuditEventType;
  subject?: string;
  case_id?: string;
  actor?: string;
  source?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

export interface AuditEventParams {
  id: string;
}
