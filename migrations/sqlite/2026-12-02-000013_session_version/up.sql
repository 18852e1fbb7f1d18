-- Raised whenever a user's sessions must end (sign-out, disabled, new role, regions or password):
-- an access token carries the value it was issued under and is refused once it differs.
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
