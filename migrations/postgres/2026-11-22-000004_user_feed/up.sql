-- Each user's feed for the phone app's event stream (GET /me/stream): what happened to the
-- tickets assigned to them, in order. Written in the transaction of the change.
CREATE TABLE user_feed (
    seq BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX user_feed_user_idx ON user_feed (user_id, seq);
CREATE INDEX user_feed_ticket_idx ON user_feed (ticket_id);
