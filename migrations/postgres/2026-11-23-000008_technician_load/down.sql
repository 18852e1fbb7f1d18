DROP TRIGGER tickets_load_delete ON tickets;
DROP TRIGGER tickets_load_update ON tickets;
DROP TRIGGER tickets_load_insert ON tickets;
DROP FUNCTION tickets_keep_load();
DROP TABLE technician_load;
