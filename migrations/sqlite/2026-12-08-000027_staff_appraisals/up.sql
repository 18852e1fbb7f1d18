-- A manager's monthly appraisal of a person's skill, knowledge and attitude, one part of their
-- staff stars. Every recording is kept; the latest for a person and month counts.
CREATE TABLE staff_appraisals (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    month TEXT NOT NULL,
    skill DOUBLE PRECISION NOT NULL,
    knowledge DOUBLE PRECISION NOT NULL,
    attitude DOUBLE PRECISION NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_appraisals_user_idx ON staff_appraisals (user_id, month, recorded_at);
CREATE INDEX staff_appraisals_month_idx ON staff_appraisals (month);
CREATE INDEX staff_appraisals_recorded_by_idx ON staff_appraisals (recorded_by);
