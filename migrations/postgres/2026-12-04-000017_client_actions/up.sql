-- Technicians' actions by the phone's own action id: an action queued offline and sent again
-- (a retry, a second sync) is answered with its first result instead of being applied twice.
CREATE TABLE client_actions (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action_id TEXT NOT NULL,
    -- Digest of what was asked (route and body): the same id for another action is refused.
    fingerprint TEXT NOT NULL,
    -- applied | conflict | rejected
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    -- The first answer's body, JSON.
    body TEXT NOT NULL,
    ticket_id TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, action_id)
);
CREATE INDEX client_actions_created_idx ON client_actions (created_at);
