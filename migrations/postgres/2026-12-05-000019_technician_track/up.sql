-- Every position fix a technician's phone sent, kept for `FIXLINE_TRACK_RETENTION_D` days: a
-- dispatcher reads where the holder of a ticket was while they held it. A fix sent twice (a
-- batch resent after a lost answer) is kept once.
CREATE TABLE technician_track (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, at)
);
CREATE INDEX technician_track_at_idx ON technician_track (at);
