DROP TABLE notifications;
DROP TABLE ticket_events;
DROP TABLE tickets;
DROP TABLE technician_positions;
DROP TABLE duty_overrides;
DROP TABLE duty_rotations;
