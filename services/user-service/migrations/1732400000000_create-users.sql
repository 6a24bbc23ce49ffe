-- Up Migration
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
  full_name text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
  -- argon2id PHC string; NULL means the user cannot log in with a password.
  password_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
-- Keyset pagination walks (created_at, id).
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- Down Migration
DROP TABLE users;
