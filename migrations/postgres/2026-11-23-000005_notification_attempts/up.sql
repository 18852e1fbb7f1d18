-- Every attempt to hand a message to the SMS gateway: when, what the gateway answered, how long
-- it took. The outbox row keeps the current state; this keeps the history.
CREATE TABLE notification_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL,
    provider TEXT NOT NULL,
    answer TEXT,
    latency_ms BIGINT NOT NULL
);
CREATE INDEX notification_attempts_notification_idx ON notification_attempts (notification_id, attempt);
