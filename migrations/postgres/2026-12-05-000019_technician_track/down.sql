DROP TABLE technician_track;
