-- Customer-requested postponements as recorded, with who confirmed or declined them. A request
-- a technician records waits here until the region's account manager, a dispatcher or the
-- customer's SMS reply decides; only a confirmed one moves the ticket's promise.
CREATE TABLE postponement_requests (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    region_id TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    new_promised_at TIMESTAMP NOT NULL,
    new_appointment_at TIMESTAMP,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_via TEXT,
    decided_at TIMESTAMP,
    decision_note TEXT
);
CREATE INDEX postponement_requests_ticket_idx ON postponement_requests (ticket_id, requested_at);
CREATE INDEX postponement_requests_status_idx ON postponement_requests (status, ticket_id);
CREATE INDEX postponement_requests_requested_by_idx ON postponement_requests (requested_by);
CREATE INDEX postponement_requests_decided_by_idx ON postponement_requests (decided_by);
