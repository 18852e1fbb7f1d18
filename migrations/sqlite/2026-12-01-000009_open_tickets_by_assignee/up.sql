-- The phone app's list of a technician's open tickets. A technician's history grows by
-- thousands of resolved tickets a year while the open ones stay a handful; this index holds
-- only the open ones. Its condition is the one `store::tickets::IsOpen` writes into the query,
-- from `Status::FINISHED` (a test keeps them equal): stated as literals, so that PostgreSQL can
-- prove the index applies in the generic plan it caches for a prepared statement, and as
-- NOT IN, so that no other index competes for the query.
CREATE INDEX tickets_open_assignee_idx ON tickets (assignee_id)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
