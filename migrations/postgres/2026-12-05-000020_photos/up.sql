-- Photos and signatures from the technician's phone. The image itself is in the blob store
-- under its SHA-256; the same image sent twice for a ticket is kept once.
CREATE TABLE photos (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    region_id TEXT NOT NULL REFERENCES regions (id),
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    -- site | signature
    purpose TEXT NOT NULL,
    -- check_in | resolve, when the phone said which action it goes with
    stage TEXT,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- What the camera recorded (EXIF), beside what the server knows.
    taken_at TIMESTAMP,
    taken_lat DOUBLE PRECISION,
    taken_lon DOUBLE PRECISION,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, sha256)
);
CREATE INDEX photos_region_idx ON photos (region_id);
CREATE INDEX photos_uploaded_by_idx ON photos (uploaded_by);
-- Fault categories whose tickets need a site photo before they can be resolved (JSON array;
-- "*" for every category).
ALTER TABLE region_policies ADD COLUMN photo_required_for TEXT;
