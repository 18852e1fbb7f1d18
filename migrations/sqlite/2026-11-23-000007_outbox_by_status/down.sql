DROP INDEX notifications_status_due_idx;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at, status);
