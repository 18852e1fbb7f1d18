//! Diesel table definitions shared by both dialects. Every migration folder must produce exactly
//! these tables and columns; `tests/api/schema.rs` checks that on SQLite and PostgreSQL.

diesel::table! {
    regions (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_regions (user_id, region_id) {
        user_id -> Text,
        region_id -> Text,
    }
}

diesel::table! {
    districts (id) {
        id -> Text,
        region_id -> Text,
        code -> Text,
        name -> Text,
        boundary -> Text,
        min_lon -> Double,
        min_lat -> Double,
        max_lon -> Double,
        max_lat -> Double,
        leader_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    district_revision (id) {
        id -> Integer,
        revision -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        role -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(user_regions -> users (user_id));
diesel::joinable!(user_regions -> regions (region_id));
diesel::joinable!(districts -> regions (region_id));
diesel::joinable!(districts -> users (leader_user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    users,
    user_regions,
    districts,
    district_revision,
    refresh_tokens,
    api_keys,
);

/// Every table of this schema with its columns, in declaration order; the schema test compares
/// it with what each migrated database reports.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "regions",
        &["id", "code", "name", "created_at", "updated_at"],
    ),
    (
        "users",
        &[
            "id",
            "username",
            "display_name",
            "phone",
            "role",
            "password_hash",
            "active",
            "created_at",
            "updated_at",
        ],
    ),
    ("user_regions", &["user_id", "region_id"]),
    (
        "districts",
        &[
            "id",
            "region_id",
            "code",
            "name",
            "boundary",
            "min_lon",
            "min_lat",
            "max_lon",
            "max_lat",
            "leader_user_id",
            "created_at",
            "updated_at",
        ],
    ),
    ("district_revision", &["id", "revision"]),
    (
        "refresh_tokens",
        &[
            "id",
            "user_id",
            "family_id",
            "token_hash",
            "created_at",
            "expires_at",
            "used_at",
            "revoked_at",
        ],
    ),
    (
        "api_keys",
        &[
            "id",
            "name",
            "key_prefix",
            "key_hash",
            "role",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ],
    ),
];
