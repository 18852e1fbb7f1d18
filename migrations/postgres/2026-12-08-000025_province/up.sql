-- The province's branches (分公司). A branch holding regions runs on fixline: its installation
-- and maintenance timeliness are computed from its regions' tickets. Other branches appear only
-- through the figures imported for them.
CREATE TABLE branches (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
ALTER TABLE regions ADD COLUMN branch_id TEXT REFERENCES branches (id);
CREATE INDEX regions_branch_idx ON regions (branch_id);

-- A branch's monthly figures as the province publishes them, in basis points. Every import is
-- kept with its source and importer; the latest for a branch and month counts.
CREATE TABLE branch_figures (
    id TEXT PRIMARY KEY NOT NULL,
    branch_id TEXT NOT NULL REFERENCES branches (id),
    month TEXT NOT NULL,
    install_bp INTEGER,
    maintenance_bp INTEGER,
    answer_bp INTEGER,
    online_resolution_bp INTEGER,
    churn_bp INTEGER,
    source TEXT NOT NULL,
    imported_by TEXT NOT NULL REFERENCES users (id),
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX branch_figures_month_idx ON branch_figures (month, branch_id, imported_at);
CREATE INDEX branch_figures_branch_idx ON branch_figures (branch_id, month);
CREATE INDEX branch_figures_importer_idx ON branch_figures (imported_by);
