-- Each technician's open tickets, kept by a trigger, so that routing compares loads with one
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

-- A change moves at most one ticket from one technician to another. The two rows are updated
-- in user_id order, so that two hand-overs in opposite directions cannot deadlock.
CREATE FUNCTION tickets_keep_load() RETURNS trigger AS $$
DECLARE
    was TEXT;
    now_with TEXT;
    who TEXT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status NOT IN ('resolved', 'closed', 'cancelled') THEN
        was := OLD.assignee_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status NOT IN ('resolved', 'closed', 'cancelled') THEN
        now_with := NEW.assignee_id;
    END IF;
    IF was IS NOT DISTINCT FROM now_with THEN
        RETURN NULL;
    END IF;
    FOR who IN SELECT u FROM unnest(ARRAY[was, now_with]) AS u WHERE u IS NOT NULL ORDER BY u LOOP
        IF who = was THEN
            UPDATE technician_load SET open_tickets = open_tickets - 1 WHERE user_id = who;
        ELSE
            INSERT INTO technician_load (user_id, open_tickets) VALUES (who, 1)
            ON CONFLICT (user_id) DO UPDATE SET open_tickets = technician_load.open_tickets + 1;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_load_insert AFTER INSERT ON tickets
FOR EACH ROW WHEN (NEW.assignee_id IS NOT NULL)
EXECUTE FUNCTION tickets_keep_load();

CREATE TRIGGER tickets_load_update AFTER UPDATE OF assignee_id, status ON tickets
FOR EACH ROW WHEN (OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                   OR OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION tickets_keep_load();

CREATE TRIGGER tickets_load_delete AFTER DELETE ON tickets
FOR EACH ROW WHEN (OLD.assignee_id IS NOT NULL)
EXECUTE FUNCTION tickets_keep_load();
