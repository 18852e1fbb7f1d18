DROP TABLE list_changes;
DROP TABLE list_versions;
