-- Up Migration
-- A create that failed after storing its case marks its key abandoned, so the client's retry is answered
-- at once with that case instead of 409 until the in-flight window passes.
ALTER TABLE idempotency_keys ADD COLUMN abandoned boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE idempotency_keys DROP COLUMN abandoned;
