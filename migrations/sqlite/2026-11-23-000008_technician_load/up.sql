-- Each technician's open tickets, kept by triggers, so that routing compares loads with one
-- primary-key read instead of counting every open ticket of every candidate. Open is any
-- status but resolved, closed and cancelled, as in the ticket state machine.
CREATE TABLE technician_load (
    user_id TEXT PRIMARY KEY NOT NULL,
    open_tickets INTEGER NOT NULL DEFAULT 0
);

INSERT INTO technician_load (user_id, open_tickets)
SELECT assignee_id, COUNT(*) FROM tickets
WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved', 'closed', 'cancelled')
GROUP BY assignee_id;

CREATE TRIGGER tickets_load_insert AFTER INSERT ON tickets
WHEN NEW.assignee_id IS NOT NULL AND NEW.status NOT IN ('resolved', 'closed', 'cancelled')
BEGIN
    INSERT INTO technician_load (user_id, open_tickets) VALUES (NEW.assignee_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET open_tickets = open_tickets + 1;
END;

CREATE TRIGGER tickets_load_update AFTER UPDATE OF assignee_id, status ON tickets
WHEN OLD.assignee_id IS NOT NEW.assignee_id OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE technician_load SET open_tickets = open_tickets - 1
    WHERE user_id = OLD.assignee_id
      AND OLD.status NOT IN ('resolved', 'closed', 'cancelled');
    INSERT INTO technician_load (user_id, open_tickets)
    SELECT NEW.assignee_id, 1
    WHERE NEW.assignee_id IS NOT NULL AND NEW.status NOT IN ('resolved', 'closed', 'cancelled')
    ON CONFLICT (user_id) DO UPDATE SET open_tickets = open_tickets + 1;
END;

CREATE TRIGGER tickets_load_delete AFTER DELETE ON tickets
WHEN OLD.assignee_id IS NOT NULL AND OLD.status NOT IN ('resolved', 'closed', 'cancelled')
BEGIN
    UPDATE technician_load SET open_tickets = open_tickets - 1 WHERE user_id = OLD.assignee_id;
END;
