-- The feed also serves the dispatchers' boards: every entry names its ticket's region, and a
-- change to a ticket nobody holds is an entry without a user (the board hears of it, no phone).
-- SQLite cannot relax a NOT NULL in place: the table is rebuilt, keeping its sequence.
CREATE TABLE user_feed_next (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    detail TEXT NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id)
);
INSERT INTO user_feed_next (seq, user_id, ticket_id, kind, at, detail, region_id)
    SELECT f.seq, f.user_id, f.ticket_id, f.kind, f.at, f.detail, t.region_id
    FROM user_feed f JOIN tickets t ON t.id = f.ticket_id;
DROP TABLE user_feed;
ALTER TABLE user_feed_next RENAME TO user_feed;
CREATE INDEX user_feed_user_idx ON user_feed (user_id, seq);
CREATE INDEX user_feed_ticket_idx ON user_feed (ticket_id);
CREATE INDEX user_feed_region_idx ON user_feed (region_id, seq);
