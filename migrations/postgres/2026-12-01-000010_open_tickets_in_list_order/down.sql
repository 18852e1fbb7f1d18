DROP INDEX tickets_open_assignee_idx;
CREATE INDEX tickets_open_assignee_idx ON tickets (assignee_id)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
