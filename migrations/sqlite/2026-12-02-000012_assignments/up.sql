-- Every holding of a ticket by a technician: who, from when, their own 20-minute contact
-- deadline, and whether they made it. The ticket keeps the customer's view (the first contact
-- deadline); this keeps each holder's, so a technician's late contact stays theirs after the
-- ticket moved on.
CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    region_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    assigned_at TIMESTAMP NOT NULL,
    ack_due_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    contact_on_time BOOLEAN,
    ended_at TIMESTAMP
);
CREATE INDEX assignments_ticket_idx ON assignments (ticket_id, assigned_at);
CREATE INDEX assignments_user_idx ON assignments (user_id, assigned_at);
CREATE INDEX assignments_assigned_idx ON assignments (assigned_at);

-- Tickets assigned before this table existed: their current holding.
INSERT INTO assignments (id, ticket_id, region_id, user_id, assigned_at, ack_due_at, acknowledged_at, contact_on_time)
SELECT id, id, region_id, assignee_id, assigned_at, assignment_ack_due_at,
       CASE WHEN acknowledged_at IS NOT NULL AND acknowledged_at >= assigned_at THEN acknowledged_at END,
       CASE WHEN acknowledged_at IS NOT NULL AND acknowledged_at >= assigned_at THEN ack_on_time END
FROM tickets
WHERE assignee_id IS NOT NULL AND assigned_at IS NOT NULL AND assignment_ack_due_at IS NOT NULL;
