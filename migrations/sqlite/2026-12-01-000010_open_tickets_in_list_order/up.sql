-- The phone app's list of a technician's open tickets, in the order the list shows them: the
-- nearest deadline first, tickets without one last, then the oldest. The database reads the
-- rows in that order from the index and sends them as it goes, instead of sorting them for
-- every refresh. The condition stays the one `store::tickets::IsOpen` writes (a test keeps
-- them equal), and the second column is the same expression the query orders by.
DROP INDEX tickets_open_assignee_idx;
CREATE INDEX tickets_open_assignee_idx
    ON tickets (assignee_id, (next_deadline_at IS NULL), next_deadline_at, created_at)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
