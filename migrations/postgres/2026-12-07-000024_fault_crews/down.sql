DROP TABLE network_fault_events;
DROP INDEX network_faults_crew_idx;
ALTER TABLE network_faults DROP COLUMN crew_ack_on_time;
ALTER TABLE network_faults DROP COLUMN crew_acknowledged_at;
ALTER TABLE network_faults DROP COLUMN crew_ack_due_at;
ALTER TABLE network_faults DROP COLUMN crew_assigned_at;
ALTER TABLE network_faults DROP COLUMN crew_lead_id;
