-- Up Migration
CREATE TABLE audit_events (
  -- The event's own id: a redelivered or republished event is stored once.
  event_id uuid PRIMARY KEY,
  type text NOT NULL,
  version integer NOT NULL,
  source text NOT NULL,
  subject text NOT NULL,
  actor text,
  request_id text,
  traceparent text,
  -- The envelope's time; received_at is when this log stored it.
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- Where the first stored delivery was read from.
  stream text NOT NULL,
  stream_entry_id text NOT NULL,
  data jsonb NOT NULL
);

-- Newest first, a page at a time: keyset on (occurred_at, event_id), also serving since/until.
CREATE INDEX audit_events_occurred_at_event_id_idx ON audit_events (occurred_at DESC, event_id DESC);
-- Each filter narrows on its column and keeps the newest-first order, so a filtered page stops early.
CREATE INDEX audit_events_subject_idx ON audit_events (subject, occurred_at DESC, event_id DESC);
CREATE INDEX audit_events_type_idx ON audit_events (type, occurred_at DESC, event_id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, occurred_at DESC, event_id DESC)
  WHERE actor IS NOT NULL;
CREATE INDEX audit_events_source_idx ON audit_events (source, occurred_at DESC, event_id DESC);

-- Down Migration
DROP TABLE audit_events;
