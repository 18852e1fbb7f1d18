-- Each technician's list version: raised once by every transaction that changed one of the
-- tickets on their phone, as its last write, so versions commit in the order they were given.
-- `GET /me/tickets` answers it as its ETag.
CREATE TABLE list_versions (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    -- Changes at or below this version were forgotten: a phone asking from before it reloads.
    floor BIGINT NOT NULL DEFAULT 0
);
-- The version at which each ticket last changed for a technician (`GET /me/changes`).
CREATE TABLE list_changes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
CREATE INDEX list_changes_version_idx ON list_changes (user_id, version);
CREATE INDEX list_changes_changed_idx ON list_changes (changed_at);
CREATE INDEX list_changes_ticket_idx ON list_changes (ticket_id);
