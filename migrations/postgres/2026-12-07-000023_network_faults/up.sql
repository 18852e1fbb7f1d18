-- Network faults (a cut trunk cable, planned maintenance): many calls, one cause. Linked
-- tickets are settled by their fault's events instead of running their own clocks.
CREATE TABLE network_faults (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT REFERENCES districts (id),
    -- The circle it covers across district borders (centre and radius in metres).
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    radius_m DOUBLE PRECISION,
    -- detected (calls added up), reported (a known outage) or planned (maintenance).
    cause TEXT NOT NULL,
    title TEXT NOT NULL,
    -- suspected, confirmed, restored or dismissed.
    status TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    confirmed_by TEXT,
    -- When the first message about it reached the on-duty staff (settles linked dispatch).
    pushed_at TIMESTAMP,
    -- Restoration as promised (the fault's own promise) and as estimated by the crew.
    promised_at TIMESTAMP NOT NULL,
    estimate_at TIMESTAMP,
    restored_at TIMESTAMP,
    restore_on_time BOOLEAN,
    dismissed_at TIMESTAMP,
    -- The last message to the on-duty staff, and how many calls were linked by then.
    told_at TIMESTAMP,
    told_calls INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX network_faults_region_idx ON network_faults (region_id, status);
-- At most one detected fault gathering calls per district, however many intakes race.
CREATE UNIQUE INDEX network_faults_one_detected_idx ON network_faults (district_id)
    WHERE cause = 'detected' AND status IN ('suspected', 'confirmed');

ALTER TABLE tickets ADD COLUMN network_fault_id TEXT REFERENCES network_faults (id);
CREATE INDEX tickets_network_fault_idx ON tickets (network_fault_id);

ALTER TABLE notifications ADD COLUMN network_fault_id TEXT REFERENCES network_faults (id);
CREATE INDEX notifications_network_fault_idx ON notifications (network_fault_id);
