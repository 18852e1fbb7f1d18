DROP INDEX notifications_network_fault_idx;
DROP INDEX tickets_network_fault_idx;
ALTER TABLE notifications DROP COLUMN network_fault_id;
ALTER TABLE tickets DROP COLUMN network_fault_id;
DROP TABLE network_faults;
