-- A network fault's crew (its lead technician) with its own contact clock, and the fault's
-- own timeline.
ALTER TABLE network_faults ADD COLUMN crew_lead_id TEXT REFERENCES users (id);
ALTER TABLE network_faults ADD COLUMN crew_assigned_at TIMESTAMP;
ALTER TABLE network_faults ADD COLUMN crew_ack_due_at TIMESTAMP;
ALTER TABLE network_faults ADD COLUMN crew_acknowledged_at TIMESTAMP;
ALTER TABLE network_faults ADD COLUMN crew_ack_on_time BOOLEAN;
CREATE INDEX network_faults_crew_idx ON network_faults (crew_lead_id);

CREATE TABLE network_fault_events (
    id TEXT PRIMARY KEY NOT NULL,
    fault_id TEXT NOT NULL REFERENCES network_faults (id),
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX network_fault_events_fault_idx ON network_fault_events (fault_id, at);
