CREATE TABLE user_feed_prev (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    detail TEXT NOT NULL
);
INSERT INTO user_feed_prev (seq, user_id, ticket_id, kind, at, detail)
    SELECT seq, user_id, ticket_id, kind, at, detail FROM user_feed WHERE user_id IS NOT NULL;
DROP TABLE user_feed;
ALTER TABLE user_feed_prev RENAME TO user_feed;
CREATE INDEX user_feed_user_idx ON user_feed (user_id, seq);
CREATE INDEX user_feed_ticket_idx ON user_feed (ticket_id);
