ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN region_ids;
ALTER TABLE api_keys DROP COLUMN purpose;
