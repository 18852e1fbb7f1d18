-- How a complaint is handled, apart from its investigation: who owns it (whoever received it),
-- its kind and clock, the rungs of escalation it climbed, the reply to the customer and their
-- acceptance. Complaints recorded before this have no clock.
ALTER TABLE complaints ADD COLUMN kind TEXT NOT NULL DEFAULT 'general';
ALTER TABLE complaints ADD COLUMN owner_user_id TEXT REFERENCES users (id);
ALTER TABLE complaints ADD COLUMN handling TEXT NOT NULL DEFAULT 'handling';
ALTER TABLE complaints ADD COLUMN hotline_due_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN handle_due_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN handled_on_time BOOLEAN;
ALTER TABLE complaints ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN next_deadline_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN replied_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN reply TEXT;
ALTER TABLE complaints ADD COLUMN closed_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
CREATE INDEX complaints_next_deadline_idx ON complaints (next_deadline_at);
CREATE INDEX complaints_owner_idx ON complaints (owner_user_id);
