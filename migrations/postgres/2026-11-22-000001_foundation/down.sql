DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE district_revision;
DROP TABLE districts;
DROP TABLE user_regions;
DROP TABLE users;
DROP TABLE regions;
