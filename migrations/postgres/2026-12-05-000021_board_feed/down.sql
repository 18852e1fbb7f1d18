DROP INDEX user_feed_region_idx;
DELETE FROM user_feed WHERE user_id IS NULL;
ALTER TABLE user_feed DROP COLUMN region_id;
ALTER TABLE user_feed ALTER COLUMN user_id SET NOT NULL;
