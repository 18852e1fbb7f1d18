-- The feed also serves the dispatchers' boards: every entry names its ticket's region, and a
-- change to a ticket nobody holds is an entry without a user (the board hears of it, no phone).
ALTER TABLE user_feed ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE user_feed ADD COLUMN region_id TEXT REFERENCES regions (id);
UPDATE user_feed f SET region_id = t.region_id FROM tickets t WHERE t.id = f.ticket_id;
ALTER TABLE user_feed ALTER COLUMN region_id SET NOT NULL;
CREATE INDEX user_feed_region_idx ON user_feed (region_id, seq);
