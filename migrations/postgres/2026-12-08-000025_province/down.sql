DROP TABLE branch_figures;
DROP INDEX regions_branch_idx;
ALTER TABLE regions DROP COLUMN branch_id;
DROP TABLE branches;
