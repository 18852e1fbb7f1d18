-- The people side of a branch: teams (班组) with a leader, sections (科室) with a head and the
-- branch leadership (班子成员); call-center teams and business halls are teams of their own
-- kind, judged by their own five-star clauses.
CREATE TABLE org_units (
    id TEXT PRIMARY KEY NOT NULL,
    branch_id TEXT NOT NULL REFERENCES branches (id),
    kind TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES org_units (id),
    head_user_id TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX org_units_branch_idx ON org_units (branch_id);
CREATE INDEX org_units_parent_idx ON org_units (parent_id);
CREATE INDEX org_units_head_idx ON org_units (head_user_id);

-- Each person belongs to one team at most.
CREATE TABLE unit_members (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    unit_id TEXT NOT NULL REFERENCES org_units (id)
);
CREATE INDEX unit_members_unit_idx ON unit_members (unit_id);

-- A call-center team's or business hall's month as imported; every import is kept, the latest
-- for a unit and month counts.
CREATE TABLE unit_figures (
    id TEXT PRIMARY KEY NOT NULL,
    unit_id TEXT NOT NULL REFERENCES org_units (id),
    month TEXT NOT NULL,
    kpi DOUBLE PRECISION,
    appraisal DOUBLE PRECISION,
    calls BIGINT,
    service_complaints BIGINT,
    government_upheld BIGINT,
    inspection_met BOOLEAN,
    callback_met BOOLEAN,
    source TEXT NOT NULL,
    imported_by TEXT NOT NULL REFERENCES users (id),
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX unit_figures_unit_idx ON unit_figures (unit_id, month, imported_at);
CREATE INDEX unit_figures_month_idx ON unit_figures (month);
CREATE INDEX unit_figures_importer_idx ON unit_figures (imported_by);
