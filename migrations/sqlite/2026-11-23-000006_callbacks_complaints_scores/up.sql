-- Callbacks, complaints and the inputs of the monthly district scores.

-- Deployment-wide values generated once (the callback sampling salt).
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A follow-up ticket points at the ticket whose callback was unsatisfied.
ALTER TABLE tickets ADD COLUMN follow_up_of TEXT REFERENCES tickets (id);
CREATE INDEX tickets_follow_up_idx ON tickets (follow_up_of);
-- Timeliness, callback coverage and the daily top-up read tickets by resolution time.
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at);

-- One row per resolved ticket chosen for a callback, with the reason it was chosen. Region,
-- district, technician and resolution time are the ticket's, copied for the monthly counts.
CREATE TABLE callbacks (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL UNIQUE REFERENCES tickets (id),
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT REFERENCES districts (id),
    technician_id TEXT REFERENCES users (id),
    resolved_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    outcome TEXT,
    rating_attitude INTEGER,
    rating_timeliness INTEGER,
    rating_quality INTEGER,
    note TEXT,
    agent_id TEXT REFERENCES users (id),
    completed_at TIMESTAMP,
    follow_up_ticket_id TEXT REFERENCES tickets (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX callbacks_queue_idx ON callbacks (status, due_at);
CREATE INDEX callbacks_district_idx ON callbacks (district_id, resolved_at);
CREATE INDEX callbacks_region_idx ON callbacks (region_id);
CREATE INDEX callbacks_technician_idx ON callbacks (technician_id);
CREATE INDEX callbacks_agent_idx ON callbacks (agent_id);
CREATE INDEX callbacks_follow_up_idx ON callbacks (follow_up_ticket_id);

-- Local days whose callback top-up has run (the primary key makes it run once).
CREATE TABLE callback_days (
    day TEXT PRIMARY KEY NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    resolved INTEGER NOT NULL,
    topped_up INTEGER NOT NULL
);

CREATE TABLE complaints (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT NOT NULL REFERENCES districts (id),
    ticket_id TEXT REFERENCES tickets (id),
    callback_id TEXT REFERENCES callbacks (id),
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    customer_name TEXT,
    customer_phone TEXT,
    received_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    responsible_user_id TEXT REFERENCES users (id),
    deduction DOUBLE PRECISION,
    verified_by TEXT REFERENCES users (id),
    verified_at TIMESTAMP,
    verification_note TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX complaints_district_idx ON complaints (district_id, received_at);
CREATE INDEX complaints_region_idx ON complaints (region_id, received_at);
CREATE INDEX complaints_ticket_idx ON complaints (ticket_id);
CREATE INDEX complaints_callback_idx ON complaints (callback_id);
CREATE INDEX complaints_responsible_idx ON complaints (responsible_user_id);
CREATE INDEX complaints_verified_by_idx ON complaints (verified_by);

-- Every step of a complaint's investigation.
CREATE TABLE complaint_history (
    id TEXT PRIMARY KEY NOT NULL,
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX complaint_history_complaint_idx ON complaint_history (complaint_id, at);

-- The district leader's (格长) monthly appraisal. Rows are appended; the latest counts.
CREATE TABLE district_appraisals (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts (id),
    month TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX district_appraisals_district_idx ON district_appraisals (district_id, month, recorded_at);
CREATE INDEX district_appraisals_recorded_by_idx ON district_appraisals (recorded_by);
