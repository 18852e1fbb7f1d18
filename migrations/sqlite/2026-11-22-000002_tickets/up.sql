-- Repair-upon-report: on-duty rosters, technician positions, tickets with their SLA clocks,
-- the append-only ticket timeline and the notification outbox.

-- Weekly roster: on duty every `weekday` (1 = Monday .. 7 = Sunday) from `start_minute` to
-- `end_minute` local time (minutes after midnight; an end at or before the start runs past midnight).
CREATE TABLE duty_rotations (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX duty_rotations_region_idx ON duty_rotations (region_id);
CREATE INDEX duty_rotations_user_idx ON duty_rotations (user_id);

-- One-off changes: an extra shift (on_duty) or time off (not on_duty), between two instants.
CREATE TABLE duty_overrides (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    on_duty BOOLEAN NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX duty_overrides_region_idx ON duty_overrides (region_id, ends_at);
CREATE INDEX duty_overrides_user_idx ON duty_overrides (user_id);

CREATE TABLE technician_positions (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    at TIMESTAMP NOT NULL
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT REFERENCES districts (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    external_ref TEXT UNIQUE,
    customer_name TEXT NOT NULL,
    customer_phone TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    account_no TEXT,
    fault_category TEXT NOT NULL,
    fault_description TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    assignee_id TEXT REFERENCES users (id),
    assigned_at TIMESTAMP,
    flagged BOOLEAN NOT NULL,
    flag_reason TEXT,
    dispatch_due_at TIMESTAMP NOT NULL,
    pushed_at TIMESTAMP,
    dispatch_on_time BOOLEAN,
    ack_due_at TIMESTAMP,
    assignment_ack_due_at TIMESTAMP,
    acknowledged_at TIMESTAMP,
    ack_on_time BOOLEAN,
    escalation_level INTEGER NOT NULL,
    appointment_at TIMESTAMP,
    contact_note TEXT,
    arrival_due_at TIMESTAMP,
    arrived_at TIMESTAMP,
    arrival_on_time BOOLEAN,
    check_in_distance_m DOUBLE PRECISION,
    check_in_far BOOLEAN,
    promised_at TIMESTAMP NOT NULL,
    original_promised_at TIMESTAMP NOT NULL,
    postponement_count INTEGER NOT NULL,
    resolved_at TIMESTAMP,
    resolve_on_time BOOLEAN,
    resolution_code TEXT,
    resolution_notes TEXT,
    closed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    cancel_reason TEXT,
    next_deadline_at TIMESTAMP
);
CREATE INDEX tickets_region_idx ON tickets (region_id, created_at);
CREATE INDEX tickets_district_idx ON tickets (district_id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, status);
CREATE INDEX tickets_status_idx ON tickets (status);
CREATE INDEX tickets_next_deadline_idx ON tickets (next_deadline_at);
CREATE INDEX tickets_created_idx ON tickets (created_at);

-- Append-only: who did what, when, from where.
CREATE TABLE ticket_events (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    region_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, at);

-- The outbox: written in the same transaction as the change that causes it.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets (id),
    recipient_user_id TEXT REFERENCES users (id),
    recipient_phone TEXT NOT NULL,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    accepted_at TIMESTAMP,
    delivered_at TIMESTAMP,
    provider TEXT,
    provider_message_id TEXT,
    last_error TEXT
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at, status);
CREATE INDEX notifications_ticket_idx ON notifications (ticket_id);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_user_id);
