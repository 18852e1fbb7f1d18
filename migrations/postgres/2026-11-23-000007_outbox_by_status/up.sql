-- The sender asks for pending messages by due time, and for sending ones by lease; both by
-- status first, so that the accepted and delivered messages that make up most of the outbox
-- are never scanned.
DROP INDEX notifications_due_idx;
CREATE INDEX notifications_status_due_idx ON notifications (status, next_attempt_at);
