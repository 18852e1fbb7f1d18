-- Per region and kind of work: the promised completion time and an optional business calendar
-- (JSON: working hours per weekday and holidays). Absent rows use the configured defaults.
CREATE TABLE region_policies (
    region_id TEXT NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    promise_minutes INTEGER,
    calendar TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (region_id, kind)
);
