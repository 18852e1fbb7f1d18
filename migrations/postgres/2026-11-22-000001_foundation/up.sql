-- Foundation: regions, grid districts, users and their credentials.
-- Ids are UUID text; times are UTC timestamps. Kept in lockstep with migrations/sqlite.

CREATE TABLE regions (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_role_idx ON users (role);
CREATE INDEX users_phone_idx ON users (phone);

CREATE TABLE user_regions (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    region_id TEXT NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, region_id)
);
CREATE INDEX user_regions_region_idx ON user_regions (region_id);

CREATE TABLE districts (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    boundary TEXT NOT NULL,
    min_lon DOUBLE PRECISION NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    max_lon DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    leader_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX districts_region_idx ON districts (region_id);
CREATE INDEX districts_leader_idx ON districts (leader_user_id);

-- Bumped on every district change so each instance knows when to rebuild its spatial index.
CREATE TABLE district_revision (
    id INTEGER PRIMARY KEY NOT NULL,
    revision BIGINT NOT NULL
);
INSERT INTO district_revision (id, revision) VALUES (1, 0);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);
