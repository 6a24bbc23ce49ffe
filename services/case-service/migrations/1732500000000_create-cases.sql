-- Up Migration
CREATE TABLE cases (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description text CHECK (length(description) <= 5000),
  -- A user id from user-service; not a foreign key across services (see ADR 0008).
  owner_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('OPEN', 'PENDING_SCORE', 'SCORED', 'CLOSED')),
  priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  -- Extra scoring inputs given at creation (v2).
  features jsonb NOT NULL DEFAULT '{}',
  score numeric(5, 4) CHECK (score BETWEEN 0 AND 1),
  risk_band text CHECK (risk_band IN ('low', 'medium', 'high')),
  model_version text,
  score_reasons jsonb,
  scored_at timestamptz,
  -- Re-scoring bookkeeping: when the worker may try next, and how often it has tried.
  score_attempts integer NOT NULL DEFAULT 0,
  next_score_attempt_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cases_created_at_id_idx ON cases (created_at DESC, id DESC);
CREATE INDEX cases_owner_idx ON cases (owner_id, created_at DESC);
CREATE INDEX cases_status_idx ON cases (status, created_at DESC);
-- What the re-scoring worker looks for.
CREATE INDEX cases_unscored_idx ON cases (next_score_attempt_at) WHERE score IS NULL AND status <> 'CLOSED';

-- Idempotency keys are scoped to the caller (the token's subject) and expire.
CREATE TABLE idempotency_keys (
  owner text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  case_id uuid REFERENCES cases (id) ON DELETE SET NULL,
  response_status integer,
  response_body jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Events written in the same transaction as the change; the relay publishes them to Redis Streams.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  stream text NOT NULL,
  aggregate_id text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Down Migration
DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE cases;
