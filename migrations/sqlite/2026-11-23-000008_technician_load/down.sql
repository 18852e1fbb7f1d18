DROP TRIGGER tickets_load_delete;
DROP TRIGGER tickets_load_update;
DROP TRIGGER tickets_load_insert;
DROP TABLE technician_load;
