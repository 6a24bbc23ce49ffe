-- Up Migration
-- Raised at each change of the user's role or password; access tokens carry it as `ver` (ADR 0021).
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- Users whose older tokens every service refuses: tokens below min_version (every token of a deleted
-- user). Written in the statement that changes or deletes the user, published to Redis for the services,
-- and forgotten at expires_at, when every token the change concerned has expired anyway.
CREATE TABLE token_revocations (
  user_id uuid PRIMARY KEY,
  min_version integer NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Down Migration
DROP TABLE token_revocations;
ALTER TABLE users DROP COLUMN token_version;
