-- What a key is for (`intake`: recording calls; `complaints`: importing complaints), which
-- regions it may act in (comma-separated ids; NULL: all), and when it stops working.
ALTER TABLE api_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'intake';
ALTER TABLE api_keys ADD COLUMN region_ids TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;
