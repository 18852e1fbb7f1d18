//! Configuration: one typed struct read from the environment and, optionally, a TOML file named by
//! `FIXLINE_CONFIG`. The environment wins over the file. Every key is listed in [`KEYS`] with its
//! default and meaning; the README's configuration table shows the same list (a test keeps them
//! in step). A bad value stops startup with a message naming the key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use secrecy::SecretString;

/// One configuration key: environment name, name in the TOML file, default, meaning.
pub struct Key {
    pub env: &'static str,
    pub file: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every configuration key fixline reads.
pub const KEYS: &[Key] = &[
    Key {
        env: "DATABASE_URL",
        file: "database_url",
        default: "sqlite://data/fixline.db",
        doc: "`sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`. Any other scheme stops startup. Without it, the SQLite file `fixline.db` in `FIXLINE_DATA_DIR`.",
    },
    Key {
        env: "FIXLINE_LISTEN",
        file: "listen",
        default: "127.0.0.1:8080",
        doc: "Address and port the HTTP server binds.",
    },
    Key {
        env: "FIXLINE_DATA_DIR",
        file: "data_dir",
        default: "data",
        doc: "Folder for the SQLite file and the generated JWT secret; created when missing.",
    },
    Key {
        env: "FIXLINE_JWT_SECRET",
        file: "jwt_secret",
        default: "(generated)",
        doc: "HMAC key signing access tokens (at least 32 characters). When unset, a random key is generated once and kept in `FIXLINE_DATA_DIR/jwt_secret`. Set it explicitly when several instances serve one database.",
    },
    Key {
        env: "FIXLINE_TZ",
        file: "tz",
        default: "Asia/Shanghai",
        doc: "IANA time zone deciding local days, months and working hours. Times are stored in UTC.",
    },
    Key {
        env: "RUST_LOG",
        file: "log",
        default: "info",
        doc: "Log filter (`tracing` env-filter syntax), e.g. `info,fixline=debug`.",
    },
    Key {
        env: "FIXLINE_CONFIG",
        file: "",
        default: "(none)",
        doc: "Path of an optional TOML file holding any of these keys by their file name (e.g. `listen = \"0.0.0.0:8080\"`).",
    },
    Key {
        env: "FIXLINE_ACCESS_TOKEN_TTL_S",
        file: "access_token_ttl_s",
        default: "900",
        doc: "Lifetime of an access token, seconds (60 to 86400).",
    },
    Key {
        env: "FIXLINE_REFRESH_TOKEN_TTL_S",
        file: "refresh_token_ttl_s",
        default: "2592000",
        doc: "Lifetime of a refresh token, seconds. Each refresh rotates it; a reused one revokes its whole chain.",
    },
    Key {
        env: "FIXLINE_DB_POOL_SIZE",
        file: "db_pool_size",
        default: "10",
        doc: "Database connections per instance.",
    },
    Key {
        env: "FIXLINE_WORKERS",
        file: "workers",
        default: "(cores)",
        doc: "HTTP worker threads.",
    },
    Key {
        env: "FIXLINE_BODY_LIMIT",
        file: "body_limit",
        default: "1048576",
        doc: "Largest request body accepted, bytes; larger bodies get 413.",
    },
    Key {
        env: "FIXLINE_PHOTO_MAX_BYTES",
        file: "photo_max_bytes",
        default: "10485760",
        doc: "Largest photo or signature accepted, bytes (JPEG or PNG, checked by content); larger get 413. One upload takes up to 6.",
    },
    Key {
        env: "FIXLINE_PHOTOS_PER_TICKET",
        file: "photos_per_ticket",
        default: "20",
        doc: "Most photos and signatures one ticket keeps; more are refused (422).",
    },
    Key {
        env: "FIXLINE_BLOB_STORE",
        file: "blob_store",
        default: "files",
        doc: "Where photos are kept: `files` (under `FIXLINE_DATA_DIR/blobs`) or `s3://BUCKET[/PREFIX]` (any S3-compatible store: AWS, MinIO, Ceph; see the `FIXLINE_S3_*` keys).",
    },
    Key {
        env: "FIXLINE_MAP_TILES",
        file: "map_tiles",
        default: "(none)",
        doc: "A raster tile URL for the console's map, e.g. `https://tiles.example.com/{z}/{x}/{y}.png` (its origin is added to the Content-Security-Policy). Unset: the map draws the districts on a plain background and needs no internet.",
    },
    Key {
        env: "FIXLINE_S3_ENDPOINT",
        file: "s3_endpoint",
        default: "(none)",
        doc: "The S3-compatible store's URL (e.g. `http://minio:9000`); unset for AWS. Paths are addressed as `ENDPOINT/BUCKET/KEY`.",
    },
    Key {
        env: "FIXLINE_S3_REGION",
        file: "s3_region",
        default: "us-east-1",
        doc: "The bucket's region.",
    },
    Key {
        env: "FIXLINE_S3_ACCESS_KEY_ID",
        file: "s3_access_key_id",
        default: "(none)",
        doc: "Access key of the S3-compatible store.",
    },
    Key {
        env: "FIXLINE_S3_SECRET_ACCESS_KEY",
        file: "s3_secret_access_key",
        default: "(none)",
        doc: "Secret key of the S3-compatible store.",
    },
    Key {
        env: "FIXLINE_IMPORT_LIMIT",
        file: "import_limit",
        default: "67108864",
        doc: "Largest GeoJSON district import accepted, bytes.",
    },
    Key {
        env: "FIXLINE_RATE_LIMIT_KEY",
        file: "rate_limit_key",
        default: "6000",
        doc: "Writes (POST, PUT, PATCH, DELETE) an API key may make per minute, refilled evenly; more answer 429 with `Retry-After`. `0`: no limit.",
    },
    Key {
        env: "FIXLINE_RATE_LIMIT_USER",
        file: "rate_limit_user",
        default: "300",
        doc: "Writes a signed-in user may make per minute, as above. `0`: no limit.",
    },
    Key {
        env: "FIXLINE_SMS_PROVIDER",
        file: "sms_provider",
        default: "log",
        doc: "`log` (each message is logged, without its text), `webhook` (JSON POST to `FIXLINE_SMS_WEBHOOK_URL`, signed) or `tencent` (Tencent Cloud SMS SendSms, TC3-HMAC-SHA256).",
    },
    Key {
        env: "FIXLINE_TENCENT_SMS",
        file: "tencent_sms",
        default: "(none)",
        doc: "For `tencent`: `SECRET_ID,SECRET_KEY,SDK_APP_ID,SIGN_NAME,TEMPLATE_ID` (the template has one parameter `{1}` that receives the whole text).",
    },
    Key {
        env: "FIXLINE_TENCENT_SMS_ENDPOINT",
        file: "tencent_sms_endpoint",
        default: "https://sms.tencentcloudapi.com",
        doc: "Tencent Cloud SMS endpoint; the region comes from `FIXLINE_TENCENT_SMS_REGION`.",
    },
    Key {
        env: "FIXLINE_TENCENT_SMS_REGION",
        file: "tencent_sms_region",
        default: "ap-guangzhou",
        doc: "Tencent Cloud region of the SMS application.",
    },
    Key {
        env: "FIXLINE_TENCENT_CALLBACK_TOKEN",
        file: "tencent_callback_token",
        default: "(none)",
        doc: "Tencent Cloud SMS does not sign its callbacks: set this (16+ characters) and give Tencent the callback URLs with `?token=` it, `/webhooks/sms/tencent/status` (delivery status) and `/webhooks/sms/tencent/inbound` (replies). Without it those routes answer 404.",
    },
    Key {
        env: "FIXLINE_SMS_WEBHOOK_URL",
        file: "sms_webhook_url",
        default: "(none)",
        doc: "Endpoint of the operator's SMS platform for the `webhook` provider.",
    },
    Key {
        env: "FIXLINE_SMS_WEBHOOK_SECRET",
        file: "sms_webhook_secret",
        default: "(none)",
        doc: "Shared secret of the `webhook` provider: `X-Fixline-Signature: sha256=HMAC(secret, timestamp + \".\" + body)`.",
    },
    Key {
        env: "FIXLINE_SMS_REGIONS",
        file: "sms_regions",
        default: "(none)",
        doc: "TOML file giving regions their own provider: one table per region code with the SMS keys above by file name, e.g. `[ZJG-W]` `sms_provider = \"webhook\"` `sms_webhook_url = ...` `sms_webhook_secret = ...`. Other regions use the deployment's.",
    },
    Key {
        env: "FIXLINE_SMS_FALLBACK",
        file: "sms_fallback",
        default: "(none)",
        doc: "TOML file with the SMS keys above (by file name) of a second provider. While the first one is down (tripped after `FIXLINE_SMS_TRIP_AFTER` failures in a row) messages go through this one. A region of `FIXLINE_SMS_REGIONS` may name its own in a `[CODE.fallback]` table; otherwise it falls back to this one.",
    },
    Key {
        env: "FIXLINE_SMS_TIMEOUT_S",
        file: "sms_timeout_s",
        default: "15",
        doc: "How long one request to an SMS platform may take, seconds. A request that times out may have been taken: it counts as unknown and is sent again under the same idempotency key.",
    },
    Key {
        env: "FIXLINE_SMS_BACKOFF_CAP_S",
        file: "sms_backoff_cap_s",
        default: "30",
        doc: "Longest wait between two tries of a message after temporary failures (the waits double from about 2 s, with jitter), seconds.",
    },
    Key {
        env: "FIXLINE_SMS_RETRY_HORIZON_S",
        file: "sms_retry_horizon_s",
        default: "86400",
        doc: "How long after it was queued a message is still tried after temporary failures, seconds; past that it is dead, its ticket flagged and the dispatchers told. A message that no longer matters (its ticket closed, or the technician it was for taken off) is dropped sooner.",
    },
    Key {
        env: "FIXLINE_SMS_TRIP_AFTER",
        file: "sms_trip_after",
        default: "5",
        doc: "Temporary failures in a row after which an SMS platform is declared down: dispatchers are told once, and once again when it is back.",
    },
    Key {
        env: "FIXLINE_SMS_PROBE_S",
        file: "sms_probe_s",
        default: "30",
        doc: "While an SMS platform is down, one message is tried on it every this many seconds; the first it accepts declares it back.",
    },
    Key {
        env: "FIXLINE_SMS_CONCURRENCY",
        file: "sms_concurrency",
        default: "8",
        doc: "Messages each instance has in flight to the SMS platform at once. During a storm the push deadline depends on it; keep it within the platform's rate limit.",
    },
    Key {
        env: "FIXLINE_SMS_TEMPLATES",
        file: "sms_templates",
        default: "(built-in Chinese texts)",
        doc: "TOML file replacing message texts by purpose (`new_ticket`, `reassigned`, `dispatcher_queue`, `ack_overdue`, `manager_alert`, `dispatch_overdue`, `arrival_overdue`, `resolve_overdue`, `postponed`, `postponement_requested`, `postponement_check` (to the customer), `postponement_declined`, `taken_away`, `holder_changed`; to customers `contact_card`, `appointment_confirmed`, `survey`, `customer_help`, `opted_out`) with `{ref}`, `{kind}`, `{fault_category}`, `{fault_description}`, `{address}`, `{customer_name}`, `{customer_phone}`, `{promised_at}`, `{appointment_at}`, `{technician}`, `{technician_phone}` (the ticket's holder), `{account_manager}`, `{account_manager_phone}` (in the contact card).",
    },
    Key {
        env: "FIXLINE_PROMISE_REPAIR_H",
        file: "promise_repair_h",
        default: "24",
        doc: "Promised completion of a repair, hours after it is recorded.",
    },
    Key {
        env: "FIXLINE_PROMISE_INSTALL_H",
        file: "promise_install_h",
        default: "72",
        doc: "Promised completion of an installation, hours after it is recorded.",
    },
    Key {
        env: "FIXLINE_ARRIVAL_GRACE_MIN",
        file: "arrival_grace_min",
        default: "10",
        doc: "Minutes after the agreed appointment a check-in still counts as on time.",
    },
    Key {
        env: "FIXLINE_CHECK_IN_FAR_M",
        file: "check_in_far_m",
        default: "500",
        doc: "A check-in farther than this many metres from the customer's location is flagged.",
    },
    Key {
        env: "FIXLINE_DEVICE_TIME_WINDOW_H",
        file: "device_time_window_h",
        default: "12",
        doc: "A technician's action queued offline counts at the phone's time when it is at most this many hours old (and not before the ticket's previous step, nor ahead of the server's clock by more than `FIXLINE_DEVICE_CLOCK_SKEW_S`); otherwise at the time it arrives, flagged on the timeline.",
    },
    Key {
        env: "FIXLINE_TRACK_RETENTION_D",
        file: "track_retention_d",
        default: "30",
        doc: "Days technicians' position fixes are kept for dispatchers to read where the holder of a ticket was; older fixes are deleted. The current position used for routing is kept regardless.",
    },
    Key {
        env: "FIXLINE_DEVICE_CLOCK_SKEW_S",
        file: "device_clock_skew_s",
        default: "120",
        doc: "How many seconds a phone's clock may run ahead of the server's and its action times still be believed.",
    },
    Key {
        env: "FIXLINE_CALLBACK_RATE",
        file: "callback_rate",
        default: "20",
        doc: "Share of resolved tickets called back, percent (up to two decimals). Each district reaches it every local day: tickets are drawn at resolution, and a top-up after local midnight fills any shortfall.",
    },
    Key {
        env: "FIXLINE_CALLBACK_FORCE",
        file: "callback_force",
        default: "escalated,late,complaint",
        doc: "Tickets always called back: any of `escalated` (the acknowledgement was escalated), `late` (a stage was late), `complaint` (the customer complained), or `none`.",
    },
    Key {
        env: "FIXLINE_CALLBACK_SALT",
        file: "callback_salt",
        default: "(generated)",
        doc: "Key of the sampling draw (HMAC-SHA256 of the ticket id). When unset, one is generated once and kept in the database, so every instance draws alike.",
    },
    Key {
        env: "FIXLINE_CALLBACK_ATTEMPTS",
        file: "callback_attempts",
        default: "3",
        doc: "Calls to an unreachable customer before the callback counts as unreachable.",
    },
    Key {
        env: "FIXLINE_CALLBACK_RETRY_H",
        file: "callback_retry_h",
        default: "48",
        doc: "Hours over which those calls are spread evenly.",
    },
    Key {
        env: "FIXLINE_SCORE_WEIGHTS",
        file: "score_weights",
        default: "dispatch=10,contact=15,arrival=15,install_timeliness=20,repair_timeliness=20,callback_coverage=5,satisfaction=15",
        doc: "Weights of the composite district score; any subset overrides the defaults.",
    },
    Key {
        env: "FIXLINE_SCORE_TARGETS",
        file: "score_targets",
        default: "dispatch=98,contact=95,arrival=90,install_timeliness=95,repair_timeliness=95,callback_coverage=20,satisfaction=90",
        doc: "Target of each metric, percent; the installation and repair targets are the five-star \"reaches the target\" values.",
    },
    Key {
        env: "FIXLINE_COMPLAINT_PENALTY",
        file: "complaint_penalty",
        default: "5",
        doc: "Points taken off the composite score per upheld complaint.",
    },
    Key {
        env: "FIXLINE_FIVE_STAR_TOP",
        file: "five_star_top",
        default: "5",
        doc: "Five stars: installation and repair timeliness must rank within this many districts (and reach the target) ...",
    },
    Key {
        env: "FIXLINE_FIVE_STAR_GAP",
        file: "five_star_gap",
        default: "0.5",
        doc: "... or be within this many percentage points of the best district.",
    },
    Key {
        env: "FIXLINE_FIVE_STAR_APPRAISAL",
        file: "five_star_appraisal",
        default: "95",
        doc: "Five stars also need the district leader's monthly appraisal to be at least this.",
    },
    Key {
        env: "FIXLINE_FIVE_STAR_CHURN_TOP",
        file: "five_star_churn_top",
        default: "5",
        doc: "Province five stars (04-(1)): a branch's units compete only if the branch ranks within this many branches of the province for net churn of terminals in use, lowest first. The branch clauses use `FIXLINE_FIVE_STAR_TOP`, `FIXLINE_FIVE_STAR_GAP` and the installation and repair targets of `FIXLINE_SCORE_TARGETS`.",
    },
    Key {
        env: "FIXLINE_PROVINCE_ANSWER_TARGET",
        file: "province_answer_target",
        default: "90",
        doc: "Five-star call-center teams (04-(3)): the province's target for the branch's manual answer rate, percent ...",
    },
    Key {
        env: "FIXLINE_PROVINCE_ONLINE_TARGET",
        file: "province_online_target",
        default: "80",
        doc: "... and for its online resolution rate; each must be in the top `FIXLINE_FIVE_STAR_TOP` and at target, or within `FIXLINE_FIVE_STAR_GAP` of the first.",
    },
    Key {
        env: "FIXLINE_TEAM_KPI_MIN",
        file: "team_kpi_min",
        default: "95",
        doc: "Five-star call-center teams: the team's monthly KPI score must be at least this ...",
    },
    Key {
        env: "FIXLINE_TEAM_COMPLAINT_MAX",
        file: "team_complaint_max",
        default: "0.15",
        doc: "... and its complaints about the call center's service at most this percentage of the calls it handled.",
    },
    Key {
        env: "FIXLINE_HALL_SCORE_ABOVE",
        file: "hall_score_above",
        default: "95",
        doc: "Five-star business halls (04-(4)): KPI × 50 % + service appraisal × 50 % must be more than this.",
    },
    Key {
        env: "FIXLINE_ACCOUNTABILITY_SHARES",
        file: "accountability_shares",
        default: "person=100,team_leader=50,section_head=30,leadership=20",
        doc: "Joint accountability (seed 002): the share of an upheld complaint's deduction, percent, charged to the person responsible, their team leader, section head and branch leadership; any subset overrides the defaults.",
    },
    Key {
        env: "FIXLINE_STAFF_WEIGHTS",
        file: "staff_weights",
        default: "contact=15,arrival=15,repair=20,satisfaction=20,volume=10,skill=10,knowledge=5,attitude=5",
        doc: "Staff stars: weights of each part of a technician's monthly rating (fixline's counts and the manager's appraisal); any subset overrides the defaults.",
    },
    Key {
        env: "FIXLINE_STAFF_VOLUME_TARGET",
        file: "staff_volume_target",
        default: "60",
        doc: "Staff stars: tickets finished in a month that count as full volume.",
    },
    Key {
        env: "FIXLINE_STAFF_COMPLAINT_PENALTY",
        file: "staff_complaint_penalty",
        default: "10",
        doc: "Staff stars: points off a rating per upheld complaint naming the person.",
    },
    Key {
        env: "FIXLINE_STAFF_STARS",
        file: "staff_stars",
        default: "95,90,80,70",
        doc: "Staff stars: the least score for 5, 4, 3 and 2 stars, descending; below the last, 1 star.",
    },
    Key {
        env: "FIXLINE_REPEAT_WINDOW_D",
        file: "repeat_window_d",
        default: "30",
        doc: "Work-order analysis: a repair call for the same customer phone or address within this many days of a finished repair is a repeat fault.",
    },
    Key {
        env: "FIXLINE_CUSTOMER_SMS",
        file: "customer_sms",
        default: "contact_card,appointment,survey",
        doc: "Messages customers get: `contact_card` (who holds their ticket, and the account manager, at each new holder), `appointment` (the visit agreed), `survey` (reply 1/2/3 after the work); or `none`. A customer who replies TD or 退订 gets nothing more.",
    },
    Key {
        env: "FIXLINE_CUSTOMER_QUIET_HOURS",
        file: "customer_quiet_hours",
        default: "21:00-08:00",
        doc: "Local hours during which surveys to customers wait until the span ends, or `off`. Messages about a repair the customer is waiting for, and every staff message, go at once.",
    },
    Key {
        env: "FIXLINE_SURVEY_ANSWER_H",
        file: "survey_answer_h",
        default: "72",
        doc: "How many hours after it is sent an SMS survey takes answers.",
    },
    Key {
        env: "FIXLINE_MORNING_BRIEF_AT",
        file: "morning_brief_at",
        default: "07:30",
        doc: "Local time (HH:MM) each repair team's leader gets one SMS with the team's day before (tickets recorded and finished, late stages, complaints, today's appointments; `GET /units/{id}/brief` has the detail), or `off`.",
    },
    Key {
        env: "FIXLINE_COMPLAINT_SIMPLE_MIN",
        file: "complaint_simple_min",
        default: "120",
        doc: "Minutes a simple complaint may take to be answered. General ones are due by the end of the local day they came in, 12345/12315 cases by the deadline the hotline gave.",
    },
    Key {
        env: "FIXLINE_COMPLAINT_ESCALATE_MIN",
        file: "complaint_escalate_min",
        default: "120",
        doc: "A complaint unanswered at its due time goes to the front line's team leader, this many minutes later to the section head, and as long again later to the branch leadership, once each.",
    },
    Key {
        env: "FIXLINE_VISIT_TARGET",
        file: "visit_target",
        default: "100",
        doc: "Household visits (百人访百户): the visits each person is expected to make in a month.",
    },
    Key {
        env: "FIXLINE_VISIT_QUESTIONNAIRE",
        file: "visit_questionnaire",
        default: "(built-in questions)",
        doc: "TOML file replacing the household visit questionnaire: `[[questions]]` tables with `key`, `text`, `kind` (`score` 1-5, `yes_no` or `text`) and `required`. Built in: signal quality, repair quality, attitude, the repair-upon-report regime kept, suggestions.",
    },
    Key {
        env: "FIXLINE_STORM_CALLS",
        file: "storm_calls",
        default: "10",
        doc: "Network faults: this many calls of a category a network fault explains, in one district or within `FIXLINE_STORM_RADIUS_M` of each other ...",
    },
    Key {
        env: "FIXLINE_STORM_WINDOW_MIN",
        file: "storm_window_min",
        default: "15",
        doc: "... within this many minutes raise a suspected network fault; later matching calls are linked to it instead of being routed one by one.",
    },
    Key {
        env: "FIXLINE_STORM_RADIUS_M",
        file: "storm_radius_m",
        default: "1000",
        doc: "Calls this close (metres) count together across a district border, and a detected fault covers this circle around the call that raised it.",
    },
    Key {
        env: "FIXLINE_STORM_AUTO_CONFIRM",
        file: "storm_auto_confirm",
        default: "off",
        doc: "A suspected fault confirms itself (callers told) at this many linked calls; `off`: a dispatcher confirms.",
    },
    Key {
        env: "FIXLINE_STORM_CATEGORIES",
        file: "storm_categories",
        default: "无信号,花屏,马赛克,断网,光缆中断,no_signal",
        doc: "Fault categories a network fault explains, comma-separated; other calls are never grouped.",
    },
    Key {
        env: "FIXLINE_STORM_DIGEST_MIN",
        file: "storm_digest_min",
        default: "10",
        doc: "The on-duty staff hear of new linked calls at most this often (minutes), in one digest SMS.",
    },
    Key {
        env: "FIXLINE_STORM_PROMISE_H",
        file: "storm_promise_h",
        default: "4",
        doc: "Restoration promised this many hours after a network fault is opened, unless its region sets its own (`PUT /regions/{id}/policies/network_fault`); linked calls are late if it is later.",
    },
    Key {
        env: "FIXLINE_STORM_NOTICE_IS_CONTACT",
        file: "storm_notice_is_contact",
        default: "true",
        doc: "`true`: the SMS telling a linked caller the fault is known settles their contact stage (on time if within 20 minutes of the call); `false`: it does not, and the stage stays open. The report counts linked calls apart either way.",
    },
    Key {
        env: "FIXLINE_DEMO_PASSWORD",
        file: "",
        default: "(random)",
        doc: "Password for every demo account created by `seed-demo` or `serve --demo`; without it each account gets a random one, printed once.",
    },
    Key {
        env: "FIXLINE_USER_PASSWORD",
        file: "",
        default: "(generated)",
        doc: "Password for `fixline user add` (keeps it out of shell history); without it one is generated and printed once.",
    },
    Key {
        env: "FIXLINE_TEST_CLOCK",
        file: "test_clock",
        default: "0",
        doc: "`1` freezes the server clock at start; it then moves only through `POST /test/clock` (admin). For simulations and black-box tests, never production: refused unless `FIXLINE_LISTEN` is a loopback address, warned about at start, and shown in `/readyz` and `/metrics` (`fixline_test_clock`).",
    },
    Key {
        env: "FIXLINE_TEST_CLOCK_START",
        file: "test_clock_start",
        default: "(now)",
        doc: "With the test clock: the instant it starts at (RFC 3339), e.g. to restart a test server where the last one stopped.",
    },
];

/// The configuration keys as the README's Markdown table.
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | file key | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        let file = if k.file.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", k.file)
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            k.env, file, k.default, k.doc
        ));
    }
    out
}

/// A key's default as the key table states it, when it is a value rather than a description
/// (such as `(cores)`).
fn literal_default(env_key: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|k| k.env == env_key)
        .map(|k| k.default)
        .filter(|d| !d.is_empty() && !d.starts_with('(') && *d != "—")
}

/// The value set (`v`), else the key's default from the key table.
fn or_default(env_key: &str, v: Option<String>) -> Result<String, ConfigError> {
    v.or_else(|| literal_default(env_key).map(str::to_string))
        .ok_or_else(|| err(env_key, "has no value and no default"))
}

/// The loaded configuration.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<SecretString>,
    pub tz: Tz,
    pub log: String,
    pub access_token_ttl_s: i64,
    pub refresh_token_ttl_s: i64,
    pub db_pool_size: u32,
    pub workers: Option<usize>,
    pub body_limit: usize,
    pub photo_max_bytes: usize,
    pub photos_per_ticket: i64,
    pub blob_store: BlobStoreConfig,
    /// The console map's raster tiles (`{z}/{x}/{y}` template); None: no tiles.
    pub map_tiles: Option<String>,
    /// Writes per minute per API key and per user (0: no limit).
    pub rate_limit_key: u32,
    pub rate_limit_user: u32,
    pub import_limit: usize,
    pub test_clock: bool,
    /// Where the test clock starts; the real time when unset.
    pub test_clock_start: Option<chrono::DateTime<chrono::Utc>>,
    pub sms: SmsConfig,
    /// The deployment's second provider, used while `sms` is down.
    pub sms_fallback: Option<SmsConfig>,
    /// Providers for particular regions, by region code, each with its own fallback if any; the
    /// others use `sms`.
    pub sms_regions: Vec<(String, SmsConfig, Option<SmsConfig>)>,
    /// The shared token Tencent's callbacks carry in their URL.
    pub tencent_callback_token: Option<SecretString>,
    pub sms_templates: crate::flow::messages::Templates,
    pub outbox: OutboxConfig,
    pub sms_concurrency: usize,
    pub promise_repair_h: i64,
    pub promise_install_h: i64,
    pub arrival_grace_min: i64,
    pub check_in_far_m: f64,
    pub device_time_window_h: i64,
    pub device_clock_skew_s: i64,
    pub track_retention_d: i64,
    /// Network faults: detection, promise and how linked calls count.
    pub storms: crate::flow::storms::StormConfig,
    /// What customers are sent, and when.
    pub customers: crate::flow::customers::CustomerConfig,
    /// When the team leaders get the morning brief.
    pub brief_at: Option<chrono::NaiveTime>,
    /// Complaints' handling clock and escalation ladder.
    pub complaint_clock: crate::domain::complaint::ClockRule,
    /// Household visits expected of each person a month.
    pub visit_target: u32,
    /// The household visit questionnaire.
    pub visit_questionnaire: crate::domain::visit::Questionnaire,
    pub callback_rate_bp: u32,
    pub callback_force: crate::domain::sampling::Force,
    pub callback_salt: Option<SecretString>,
    pub callback_attempts: u32,
    pub callback_retry_h: i64,
    pub scoring: crate::domain::scoring::Rules,
    /// The province's five-star rule (seed 000, section 04).
    pub province: crate::domain::five_star::ProvinceRules,
    /// Shares of a deduction: person, team leader, section head, leadership.
    pub accountability_shares: [f64; 4],
    /// Staff stars.
    pub staff: crate::domain::staff::StaffRules,
    /// Work-order analysis: days within which a repair call repeats an earlier repair.
    pub repeat_window_d: i64,
}

/// How the outbox sender treats slow and failing SMS platforms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxConfig {
    /// One request's time limit.
    pub timeout: std::time::Duration,
    /// Longest wait between tries.
    pub backoff_cap: chrono::Duration,
    /// How long a message is tried after temporary failures.
    pub horizon: chrono::Duration,
    pub breaker: crate::notify::breaker::BreakerPolicy,
}

/// Which SMS provider sends the outbox.
#[derive(Clone)]
pub enum SmsConfig {
    Log,
    Webhook {
        url: String,
        secret: SecretString,
    },
    Tencent {
        endpoint: String,
        region: String,
        secret_id: String,
        secret_key: SecretString,
        sdk_app_id: String,
        sign_name: String,
        template_id: String,
    },
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &crate::db::redact(&self.database_url))
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("tz", &self.tz)
            .field("test_clock", &self.test_clock)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment (and the file it names).
    pub fn from_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_sources(&env)
    }

    /// Reads configuration from a map of environment variables, plus the TOML file named by
    /// `FIXLINE_CONFIG` in that map.
    pub fn from_sources(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = match env.get("FIXLINE_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => read_file(Path::new(path))?,
            None => HashMap::new(),
        };
        let get = |env_key: &str| -> Option<String> {
            if let Some(v) = env.get(env_key).filter(|v| !v.is_empty()) {
                return Some(v.clone());
            }
            let key = KEYS.iter().find(|k| k.env == env_key)?;
            file.get(key.file).cloned()
        };
        // The value set, else the default the key table states: defaults are stated once.
        let value = |env_key: &str| or_default(env_key, get(env_key));

        let data_dir = PathBuf::from(value("FIXLINE_DATA_DIR")?);
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("fixline.db").display()));
        crate::db::DatabaseUrl::parse(&database_url)
            .map_err(|e| err("DATABASE_URL", e.to_string()))?;

        let listen = value("FIXLINE_LISTEN")?;
        listen.parse::<SocketAddr>().map_err(|e| {
            err(
                "FIXLINE_LISTEN",
                format!("`{listen}` is not HOST:PORT ({e})"),
            )
        })?;

        let jwt_secret = match get("FIXLINE_JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                return Err(err("FIXLINE_JWT_SECRET", "must be at least 32 characters"))
            }
            Some(s) => Some(SecretString::from(s)),
            None => None,
        };

        let tz_name = value("FIXLINE_TZ")?;
        let tz: Tz = tz_name.parse().map_err(|_| {
            err(
                "FIXLINE_TZ",
                format!("`{tz_name}` is not an IANA time zone"),
            )
        })?;

        let number = |key: &str, min: i64, max: i64| -> Result<i64, ConfigError> {
            let v = value(key)?;
            match v.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(err(
                    key,
                    format!("`{v}` is not a whole number from {min} to {max}"),
                )),
            }
        };

        let test_clock = match get("FIXLINE_TEST_CLOCK").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(v) => return Err(err("FIXLINE_TEST_CLOCK", format!("`{v}` is not 0 or 1"))),
        };

        // A frozen clock moved by an admin request would let token expiry and every deadline be
        // moved at will: only for servers nobody else can reach.
        if test_clock {
            let loopback = listen
                .parse::<SocketAddr>()
                .is_ok_and(|a| a.ip().is_loopback());
            if !loopback {
                return Err(err(
                    "FIXLINE_TEST_CLOCK",
                    format!(
                        "the test clock is for loopback servers only, and FIXLINE_LISTEN is {listen}"
                    ),
                ));
            }
        }

        let test_clock_start = match get("FIXLINE_TEST_CLOCK_START") {
            None => None,
            Some(v) => Some(
                chrono::DateTime::parse_from_rfc3339(v.trim())
                    .map_err(|e| {
                        err(
                            "FIXLINE_TEST_CLOCK_START",
                            format!("`{v}` is not an RFC 3339 time ({e})"),
                        )
                    })?
                    .with_timezone(&chrono::Utc),
            ),
        };

        let sms = sms_config(&get)?;
        let sms_regions = match get("FIXLINE_SMS_REGIONS") {
            None => Vec::new(),
            Some(path) => read_sms_regions(Path::new(&path))?,
        };
        let sms_fallback = match get("FIXLINE_SMS_FALLBACK") {
            None => None,
            Some(path) => Some(read_sms_fallback(Path::new(&path))?),
        };

        let visit_questionnaire = match get("FIXLINE_VISIT_QUESTIONNAIRE") {
            None => crate::domain::visit::Questionnaire::default(),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    err(
                        "FIXLINE_VISIT_QUESTIONNAIRE",
                        format!("cannot read {path}: {e}"),
                    )
                })?;
                crate::domain::visit::Questionnaire::from_toml(&text)
                    .map_err(|e| err("FIXLINE_VISIT_QUESTIONNAIRE", format!("{path}: {e}")))?
            }
        };

        let sms_templates = match get("FIXLINE_SMS_TEMPLATES") {
            None => crate::flow::messages::Templates::default(),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    err("FIXLINE_SMS_TEMPLATES", format!("cannot read {path}: {e}"))
                })?;
                crate::flow::messages::Templates::with_overrides(&text)
                    .map_err(|e| err("FIXLINE_SMS_TEMPLATES", format!("{path}: {e}")))?
            }
        };

        let percent = |key: &str| -> Result<u32, ConfigError> {
            let v = value(key)?;
            crate::domain::scoring::percent_to_bp(v.trim()).ok_or_else(|| {
                err(
                    key,
                    format!("`{v}` is not a percentage from 0 to 100 (two decimals at most)"),
                )
            })
        };
        let defaults = crate::domain::scoring::Rules::default();
        let per_metric = |key: &str, defaults, one: &dyn Fn(&str) -> Option<u32>| match get(key) {
            None => Ok(defaults),
            Some(v) => crate::domain::scoring::parse_per_metric(key, &v, defaults, one)
                .map_err(|e| err(key, e.message)),
        };
        let scoring = crate::domain::scoring::Rules {
            weights: per_metric("FIXLINE_SCORE_WEIGHTS", defaults.weights, &|v| {
                v.parse().ok().filter(|w| *w <= 1000)
            })?,
            targets_bp: per_metric(
                "FIXLINE_SCORE_TARGETS",
                defaults.targets_bp,
                &crate::domain::scoring::percent_to_bp,
            )?,
            complaint_penalty: number("FIXLINE_COMPLAINT_PENALTY", 0, 100)? as f64,
            five_star_top: number("FIXLINE_FIVE_STAR_TOP", 1, 10_000)? as usize,
            five_star_gap_bp: percent("FIXLINE_FIVE_STAR_GAP")?,
            appraisal_min: percent("FIXLINE_FIVE_STAR_APPRAISAL")? as f64 / 100.0,
        };
        let province = crate::domain::five_star::ProvinceRules {
            top: scoring.five_star_top,
            gap_bp: scoring.five_star_gap_bp,
            install_target_bp: scoring.targets_bp[crate::domain::scoring::Metric::Install.index()],
            maintenance_target_bp: scoring.targets_bp
                [crate::domain::scoring::Metric::Repair.index()],
            churn_top: number("FIXLINE_FIVE_STAR_CHURN_TOP", 1, 10_000)? as usize,
            appraisal_min: scoring.appraisal_min,
            answer_target_bp: percent("FIXLINE_PROVINCE_ANSWER_TARGET")?,
            online_resolution_target_bp: percent("FIXLINE_PROVINCE_ONLINE_TARGET")?,
            team_kpi_min: percent("FIXLINE_TEAM_KPI_MIN")? as f64 / 100.0,
            team_complaint_max_bp: percent("FIXLINE_TEAM_COMPLAINT_MAX")?,
            hall_score_above: percent("FIXLINE_HALL_SCORE_ABOVE")? as f64 / 100.0,
        };
        let staff = {
            let defaults = crate::domain::staff::StaffRules::default();
            let key = "FIXLINE_STAFF_WEIGHTS";
            let mut weights = defaults.weights;
            for part in value(key)?
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (name, v) = part
                    .split_once('=')
                    .ok_or_else(|| err(key, format!("`{part}` is not part=weight")))?;
                let p = crate::domain::staff::Part::ALL
                    .into_iter()
                    .find(|p| p.as_str() == name.trim())
                    .ok_or_else(|| {
                        err(
                            key,
                            format!(
                                "`{name}` is not one of {}",
                                crate::domain::staff::Part::ALL
                                    .map(|p| p.as_str())
                                    .join(", ")
                            ),
                        )
                    })?;
                weights[p.index()] = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|w| *w <= 1000)
                    .ok_or_else(|| err(key, format!("`{v}` is not a weight from 0 to 1000")))?;
            }
            let key = "FIXLINE_STAFF_STARS";
            let raw = value(key)?;
            let levels: Vec<f64> = raw
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| err(key, format!("`{raw}` is not four numbers")))?;
            let stars: [f64; 4] = levels
                .try_into()
                .ok()
                .filter(|l: &[f64; 4]| {
                    l.windows(2).all(|w| w[0] > w[1]) && l.iter().all(|v| (0.0..=100.0).contains(v))
                })
                .ok_or_else(|| {
                    err(
                        key,
                        format!("`{raw}` is not four descending scores from 0 to 100"),
                    )
                })?;
            crate::domain::staff::StaffRules {
                weights,
                volume_target: number("FIXLINE_STAFF_VOLUME_TARGET", 1, 100_000)? as u64,
                complaint_penalty: number("FIXLINE_STAFF_COMPLAINT_PENALTY", 0, 100)? as f64,
                stars,
            }
        };
        let accountability_shares = {
            let key = "FIXLINE_ACCOUNTABILITY_SHARES";
            let mut shares = [1.0, 0.5, 0.3, 0.2];
            for part in value(key)?
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (name, v) = part
                    .split_once('=')
                    .ok_or_else(|| err(key, format!("`{part}` is not level=percent")))?;
                let level = crate::domain::five_star::Level::ALL
                    .into_iter()
                    .find(|l| l.as_str() == name.trim())
                    .ok_or_else(|| {
                        err(
                            key,
                            format!(
                                "`{name}` is not one of person, team_leader, section_head, leadership"
                            ),
                        )
                    })?;
                let bp = crate::domain::scoring::percent_to_bp(v.trim())
                    .ok_or_else(|| err(key, format!("`{v}` is not a percentage from 0 to 100")))?;
                shares[level.index()] = bp as f64 / 10_000.0;
            }
            shares
        };
        let callback_force = crate::domain::sampling::Force::parse(
            "FIXLINE_CALLBACK_FORCE",
            &value("FIXLINE_CALLBACK_FORCE")?,
        )
        .map_err(|e| err("FIXLINE_CALLBACK_FORCE", e.message))?;
        let callback_salt = match get("FIXLINE_CALLBACK_SALT") {
            Some(s) if s.len() < 16 => {
                return Err(err(
                    "FIXLINE_CALLBACK_SALT",
                    "must be at least 16 characters",
                ))
            }
            Some(s) => Some(SecretString::from(s)),
            None => None,
        };

        let storms = crate::flow::storms::StormConfig {
            rule: crate::domain::storm::StormRule {
                calls: number("FIXLINE_STORM_CALLS", 2, 100_000)? as usize,
                window: chrono::Duration::minutes(number("FIXLINE_STORM_WINDOW_MIN", 1, 1440)?),
                radius_m: number("FIXLINE_STORM_RADIUS_M", 0, 50_000)? as f64,
                auto_confirm_at: match value("FIXLINE_STORM_AUTO_CONFIRM")?.trim() {
                    "off" => None,
                    _ => Some(number("FIXLINE_STORM_AUTO_CONFIRM", 2, 100_000)? as usize),
                },
                categories: value("FIXLINE_STORM_CATEGORIES")?
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect(),
                digest_every: chrono::Duration::minutes(number(
                    "FIXLINE_STORM_DIGEST_MIN",
                    1,
                    1440,
                )?),
            }
            .check()
            .map_err(|e| {
                let key = match e.field.as_str() {
                    "auto_confirm_at" => "FIXLINE_STORM_AUTO_CONFIRM",
                    _ => "FIXLINE_STORM_CALLS",
                };
                err(key, e.message)
            })?,
            promise: chrono::Duration::hours(number("FIXLINE_STORM_PROMISE_H", 1, 24 * 30)?),
            notice_is_contact: match value("FIXLINE_STORM_NOTICE_IS_CONTACT")?.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                v => {
                    return Err(err(
                        "FIXLINE_STORM_NOTICE_IS_CONTACT",
                        format!("`{v}` is not true or false"),
                    ))
                }
            },
        };

        Ok(Config {
            storms,
            visit_target: number("FIXLINE_VISIT_TARGET", 1, 10_000)? as u32,
            visit_questionnaire,
            complaint_clock: crate::domain::complaint::ClockRule {
                simple: chrono::Duration::minutes(number(
                    "FIXLINE_COMPLAINT_SIMPLE_MIN",
                    1,
                    24 * 60,
                )?),
                escalate_every: chrono::Duration::minutes(number(
                    "FIXLINE_COMPLAINT_ESCALATE_MIN",
                    1,
                    7 * 24 * 60,
                )?),
            },
            brief_at: match value("FIXLINE_MORNING_BRIEF_AT")?.trim() {
                "off" => None,
                v => Some(chrono::NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| {
                    err(
                        "FIXLINE_MORNING_BRIEF_AT",
                        format!("`{v}` is not HH:MM or off"),
                    )
                })?),
            },
            customers: crate::flow::customers::CustomerConfig {
                messages: crate::domain::customer::CustomerMessages::parse(
                    "FIXLINE_CUSTOMER_SMS",
                    &value("FIXLINE_CUSTOMER_SMS")?,
                )
                .map_err(|e| err("FIXLINE_CUSTOMER_SMS", e.message))?,
                quiet: crate::domain::customer::QuietHours::parse(
                    "FIXLINE_CUSTOMER_QUIET_HOURS",
                    &value("FIXLINE_CUSTOMER_QUIET_HOURS")?,
                )
                .map_err(|e| err("FIXLINE_CUSTOMER_QUIET_HOURS", e.message))?,
                survey_window: chrono::Duration::hours(number(
                    "FIXLINE_SURVEY_ANSWER_H",
                    1,
                    24 * 30,
                )?),
            },
            callback_rate_bp: percent("FIXLINE_CALLBACK_RATE")?,
            callback_force,
            callback_salt,
            callback_attempts: number("FIXLINE_CALLBACK_ATTEMPTS", 1, 20)? as u32,
            callback_retry_h: number("FIXLINE_CALLBACK_RETRY_H", 1, 24 * 31)?,
            scoring,
            province,
            accountability_shares,
            staff,
            repeat_window_d: number("FIXLINE_REPEAT_WINDOW_D", 1, 365)?,
            sms,
            sms_fallback,
            sms_regions,
            tencent_callback_token: match get("FIXLINE_TENCENT_CALLBACK_TOKEN") {
                Some(t) if t.len() < 16 => {
                    return Err(err(
                        "FIXLINE_TENCENT_CALLBACK_TOKEN",
                        "must be at least 16 characters",
                    ))
                }
                t => t.map(SecretString::from),
            },
            sms_templates,
            outbox: OutboxConfig {
                timeout: std::time::Duration::from_secs(
                    number("FIXLINE_SMS_TIMEOUT_S", 1, 120)? as u64
                ),
                backoff_cap: chrono::Duration::seconds(number(
                    "FIXLINE_SMS_BACKOFF_CAP_S",
                    2,
                    3600,
                )?),
                horizon: chrono::Duration::seconds(number(
                    "FIXLINE_SMS_RETRY_HORIZON_S",
                    60,
                    7 * 86_400,
                )?),
                breaker: crate::notify::breaker::BreakerPolicy {
                    trip_after: number("FIXLINE_SMS_TRIP_AFTER", 1, 1000)? as u32,
                    probe_every: chrono::Duration::seconds(number("FIXLINE_SMS_PROBE_S", 1, 3600)?),
                    probe_timeout: chrono::Duration::seconds(
                        number("FIXLINE_SMS_TIMEOUT_S", 1, 120)? * 4,
                    ),
                },
            },
            sms_concurrency: number("FIXLINE_SMS_CONCURRENCY", 1, 256)? as usize,
            promise_repair_h: number("FIXLINE_PROMISE_REPAIR_H", 1, 24 * 60)?,
            promise_install_h: number("FIXLINE_PROMISE_INSTALL_H", 1, 24 * 60)?,
            arrival_grace_min: number("FIXLINE_ARRIVAL_GRACE_MIN", 0, 24 * 60)?,
            check_in_far_m: number("FIXLINE_CHECK_IN_FAR_M", 10, 100_000)? as f64,
            device_time_window_h: number("FIXLINE_DEVICE_TIME_WINDOW_H", 1, 7 * 24)?,
            device_clock_skew_s: number("FIXLINE_DEVICE_CLOCK_SKEW_S", 0, 3_600)?,
            track_retention_d: number("FIXLINE_TRACK_RETENTION_D", 1, 3_660)?,
            database_url,
            listen,
            data_dir,
            jwt_secret,
            tz,
            log: value("RUST_LOG")?,
            access_token_ttl_s: number("FIXLINE_ACCESS_TOKEN_TTL_S", 60, 86_400)?,
            refresh_token_ttl_s: number("FIXLINE_REFRESH_TOKEN_TTL_S", 300, 31_536_000)?,
            db_pool_size: number("FIXLINE_DB_POOL_SIZE", 1, 1000)? as u32,
            workers: match get("FIXLINE_WORKERS") {
                None => None,
                Some(_) => Some(number("FIXLINE_WORKERS", 1, 1024)? as usize),
            },
            body_limit: number("FIXLINE_BODY_LIMIT", 1024, 1 << 30)? as usize,
            photo_max_bytes: number("FIXLINE_PHOTO_MAX_BYTES", 1024, 100 << 20)? as usize,
            photos_per_ticket: number("FIXLINE_PHOTOS_PER_TICKET", 1, 1_000)?,
            blob_store: blob_store_config(&value("FIXLINE_BLOB_STORE")?, &get, &value)?,
            map_tiles: match get("FIXLINE_MAP_TILES") {
                None => None,
                Some(t) => {
                    Some(crate::web::tile_template(&t).map_err(|m| err("FIXLINE_MAP_TILES", m))?)
                }
            },
            rate_limit_key: number("FIXLINE_RATE_LIMIT_KEY", 0, 1_000_000)? as u32,
            rate_limit_user: number("FIXLINE_RATE_LIMIT_USER", 0, 1_000_000)? as u32,
            import_limit: number("FIXLINE_IMPORT_LIMIT", 1024, 1 << 31)? as usize,
            test_clock,
            test_clock_start,
        })
    }
}

/// Where photos are kept.
#[derive(Clone)]
pub enum BlobStoreConfig {
    /// Files under this folder.
    Files(PathBuf),
    /// An S3-compatible bucket.
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: String,
        access_key_id: Option<String>,
        secret_access_key: Option<SecretString>,
    },
}

fn blob_store_config(
    store: &str,
    get: &dyn Fn(&str) -> Option<String>,
    value: &dyn Fn(&str) -> Result<String, ConfigError>,
) -> Result<BlobStoreConfig, ConfigError> {
    const KEY: &str = "FIXLINE_BLOB_STORE";
    if store == "files" {
        return Ok(BlobStoreConfig::Files(
            PathBuf::from(value("FIXLINE_DATA_DIR")?).join("blobs"),
        ));
    }
    let Some(rest) = store.strip_prefix("s3://") else {
        return Err(err(
            KEY,
            format!("`{store}` is neither `files` nor `s3://BUCKET`"),
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(err(KEY, "names no bucket: `s3://BUCKET[/PREFIX]`"));
    }
    let endpoint = get("FIXLINE_S3_ENDPOINT");
    if let Some(e) = &endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(err(
                "FIXLINE_S3_ENDPOINT",
                format!("`{e}` is not an http(s) URL"),
            ));
        }
    }
    Ok(BlobStoreConfig::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
        endpoint,
        region: value("FIXLINE_S3_REGION")?,
        access_key_id: get("FIXLINE_S3_ACCESS_KEY_ID"),
        secret_access_key: get("FIXLINE_S3_SECRET_ACCESS_KEY").map(SecretString::from),
    })
}

/// The SMS provider described by the keys `get` answers (the deployment's, or one region's).
fn sms_config(get: &dyn Fn(&str) -> Option<String>) -> Result<SmsConfig, ConfigError> {
    let sms = match get("FIXLINE_SMS_PROVIDER").as_deref().unwrap_or("log") {
        "log" => SmsConfig::Log,
        "webhook" => {
            let url = get("FIXLINE_SMS_WEBHOOK_URL").ok_or_else(|| {
                err(
                    "FIXLINE_SMS_WEBHOOK_URL",
                    "is required with FIXLINE_SMS_PROVIDER=webhook",
                )
            })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err(
                    "FIXLINE_SMS_WEBHOOK_URL",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
            let secret = get("FIXLINE_SMS_WEBHOOK_SECRET")
                .filter(|s| s.len() >= 16)
                .ok_or_else(|| {
                    err(
                        "FIXLINE_SMS_WEBHOOK_SECRET",
                        "is required (16+ characters) with the webhook provider",
                    )
                })?;
            SmsConfig::Webhook {
                url,
                secret: SecretString::from(secret),
            }
        }
        "tencent" => {
            let raw = get("FIXLINE_TENCENT_SMS").ok_or_else(|| {
                err(
                    "FIXLINE_TENCENT_SMS",
                    "is required with FIXLINE_SMS_PROVIDER=tencent",
                )
            })?;
            let parts: Vec<&str> = raw.split(',').map(str::trim).collect();
            if parts.len() != 5 || parts.iter().any(|p| p.is_empty()) {
                return Err(err(
                    "FIXLINE_TENCENT_SMS",
                    "must be SECRET_ID,SECRET_KEY,SDK_APP_ID,SIGN_NAME,TEMPLATE_ID",
                ));
            }
            let endpoint = "FIXLINE_TENCENT_SMS_ENDPOINT";
            let endpoint = or_default(endpoint, get(endpoint))?;
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(err(
                    "FIXLINE_TENCENT_SMS_ENDPOINT",
                    format!("`{endpoint}` is not an http(s) URL"),
                ));
            }
            SmsConfig::Tencent {
                endpoint,
                region: or_default(
                    "FIXLINE_TENCENT_SMS_REGION",
                    get("FIXLINE_TENCENT_SMS_REGION"),
                )?,
                secret_id: parts[0].into(),
                secret_key: SecretString::from(parts[1].to_string()),
                sdk_app_id: parts[2].into(),
                sign_name: parts[3].into(),
                template_id: parts[4].into(),
            }
        }
        other => {
            return Err(err(
                "FIXLINE_SMS_PROVIDER",
                format!("`{other}` is not log, webhook or tencent"),
            ))
        }
    };
    Ok(sms)
}

/// The SMS keys a region may set in `FIXLINE_SMS_REGIONS`.
const REGION_SMS_KEYS: [&str; 6] = [
    "FIXLINE_SMS_PROVIDER",
    "FIXLINE_SMS_WEBHOOK_URL",
    "FIXLINE_SMS_WEBHOOK_SECRET",
    "FIXLINE_TENCENT_SMS",
    "FIXLINE_TENCENT_SMS_ENDPOINT",
    "FIXLINE_TENCENT_SMS_REGION",
];

/// Per-region providers: a TOML file with one table per region code holding the SMS keys by
/// their file names (`[ZJG-W]` `sms_provider = "webhook"` ...), and optionally a `fallback`
/// table of the same keys for that region's second provider.
fn read_sms_regions(
    path: &Path,
) -> Result<Vec<(String, SmsConfig, Option<SmsConfig>)>, ConfigError> {
    let key = "FIXLINE_SMS_REGIONS";
    let mut out = Vec::new();
    for (code, value) in read_toml(key, path)? {
        let toml::Value::Table(mut t) = value else {
            return Err(err(key, format!("`{code}` must be a table of SMS keys")));
        };
        let fallback = match t.remove("fallback") {
            None => None,
            Some(toml::Value::Table(f)) => Some(
                sms_table(&f).map_err(|e| err(key, format!("[{code}.fallback] {}", e.message)))?,
            ),
            Some(_) => {
                return Err(err(
                    key,
                    format!("[{code}] `fallback` must be a table of SMS keys"),
                ))
            }
        };
        let sms = sms_table(&t).map_err(|e| err(key, format!("[{code}] {}", e.message)))?;
        out.push((code, sms, fallback));
    }
    Ok(out)
}

/// The deployment's second provider: a TOML file of SMS keys by their file names.
fn read_sms_fallback(path: &Path) -> Result<SmsConfig, ConfigError> {
    let key = "FIXLINE_SMS_FALLBACK";
    sms_table(&read_toml(key, path)?)
        .map_err(|e| err(key, format!("{}: {}", path.display(), e.message)))
}

fn read_toml(key: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(key, format!("cannot read {}: {e}", path.display())))?;
    text.parse()
        .map_err(|e| err(key, format!("{}: {e}", path.display())))
}

/// The provider a table of SMS keys (by file name) describes; any other key is an error.
fn sms_table(t: &toml::Table) -> Result<SmsConfig, ConfigError> {
    let file_name = |env: &str| KEYS.iter().find(|k| k.env == env).map(|k| k.file);
    for name in t.keys() {
        if !REGION_SMS_KEYS.iter().any(|e| file_name(e) == Some(name)) {
            return Err(err("", format!("`{name}` is not an SMS key")));
        }
    }
    let get = |env: &str| -> Option<String> {
        t.get(file_name(env)?)
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    sms_config(&get).map_err(|e| err("", format!("{}: {}", e.key, e.message)))
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            "FIXLINE_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| err("FIXLINE_CONFIG", format!("{}: {e}", path.display())))?;
    let mut out = HashMap::new();
    for (name, value) in table {
        if !KEYS.iter().any(|k| k.file == name && !name.is_empty()) {
            return Err(err(
                "FIXLINE_CONFIG",
                format!("unknown key `{name}` in {}", path.display()),
            ));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_string(),
            other => {
                return Err(err(
                    "FIXLINE_CONFIG",
                    format!("`{name}` = {other} is not a string, number or boolean"),
                ))
            }
        };
        out.insert(name, text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_templates_key_names_every_purpose() {
        let doc = KEYS
            .iter()
            .find(|k| k.env == "FIXLINE_SMS_TEMPLATES")
            .unwrap()
            .doc;
        for p in crate::flow::messages::Purpose::ALL {
            assert!(doc.contains(&format!("`{}`", p.as_str())), "{}", p.as_str());
        }
    }

    #[test]
    fn defaults() {
        let c = Config::from_sources(&env(&[])).unwrap();
        assert_eq!(c.database_url, "sqlite://data/fixline.db");
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.tz, chrono_tz::Asia::Shanghai);
        assert_eq!(c.access_token_ttl_s, 900);
        assert!(!c.test_clock);
        assert!(c.jwt_secret.is_none());
        let storms = crate::flow::storms::StormConfig::default();
        assert_eq!(
            c.storms.rule, storms.rule,
            "the table's storm defaults are the rule's"
        );
        assert_eq!(c.storms.promise, storms.promise);
        assert_eq!(c.storms.notice_is_contact, storms.notice_is_contact);
    }

    #[test]
    fn storm_settings() {
        let c = Config::from_sources(&env(&[
            ("FIXLINE_STORM_AUTO_CONFIRM", "30"),
            ("FIXLINE_STORM_CATEGORIES", " 无信号 , 断网,"),
            ("FIXLINE_STORM_NOTICE_IS_CONTACT", "false"),
        ]))
        .unwrap();
        assert_eq!(c.storms.rule.auto_confirm_at, Some(30));
        assert_eq!(c.storms.rule.categories, ["无信号", "断网"]);
        assert!(!c.storms.notice_is_contact);
        for (k, v) in [
            ("FIXLINE_STORM_AUTO_CONFIRM", "5"),
            ("FIXLINE_STORM_AUTO_CONFIRM", "soon"),
            ("FIXLINE_STORM_CALLS", "1"),
            ("FIXLINE_STORM_NOTICE_IS_CONTACT", "maybe"),
        ] {
            let e = Config::from_sources(&env(&[(k, v)])).err().unwrap();
            assert_eq!(e.key, k, "{v}");
        }
    }

    #[test]
    fn database_follows_data_dir() {
        let c = Config::from_sources(&env(&[("FIXLINE_DATA_DIR", "/var/lib/fixline")])).unwrap();
        assert_eq!(c.database_url, "sqlite:///var/lib/fixline/fixline.db");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            ("DATABASE_URL", "mysql://x/y"),
            ("FIXLINE_LISTEN", "nowhere"),
            ("FIXLINE_TZ", "Mars/Olympus"),
            ("FIXLINE_JWT_SECRET", "short"),
            ("FIXLINE_ACCESS_TOKEN_TTL_S", "5"),
            ("FIXLINE_TEST_CLOCK", "yes please"),
        ] {
            let e = Config::from_sources(&env(&[(k, v)])).err().unwrap();
            assert_eq!(e.key, k, "{v}");
        }
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixline.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\ntz = \"UTC\"\ndb_pool_size = 4\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = Config::from_sources(&env(&[
            ("FIXLINE_CONFIG", p),
            ("FIXLINE_TZ", "Asia/Urumqi"),
        ]))
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.db_pool_size, 4);
        assert_eq!(c.tz, chrono_tz::Asia::Urumqi);

        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        assert!(Config::from_sources(&env(&[("FIXLINE_CONFIG", p)])).is_err());
    }

    #[test]
    fn message_templates_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.toml");
        std::fs::write(&path, "new_ticket = \"新单 {ref}：{address}\"\n").unwrap();
        let p = path.to_str().unwrap();
        assert!(Config::from_sources(&env(&[("FIXLINE_SMS_TEMPLATES", p)])).is_ok());
        std::fs::write(&path, "new_ticket = \"{where}\"\n").unwrap();
        let e = Config::from_sources(&env(&[("FIXLINE_SMS_TEMPLATES", p)]))
            .err()
            .unwrap();
        assert_eq!(e.key, "FIXLINE_SMS_TEMPLATES");
        assert!(e.message.contains("{where}"), "{}", e.message);
    }

    #[test]
    fn regions_can_have_their_own_provider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regions.toml");
        let p = path.to_str().unwrap();
        std::fs::write(
            &path,
            "[ZJG-W]\nsms_provider = \"webhook\"\nsms_webhook_url = \"https://sms.example/w\"\nsms_webhook_secret = \"0123456789abcdef\"\n[ZJG-E]\nsms_provider = \"log\"\n",
        )
        .unwrap();
        let c = Config::from_sources(&env(&[("FIXLINE_SMS_REGIONS", p)])).unwrap();
        assert_eq!(c.sms_regions.len(), 2);
        assert!(matches!(c.sms_regions[1].1, SmsConfig::Webhook { .. }));
        std::fs::write(&path, "[ZJG-W]\nsms_provider = \"webhook\"\n").unwrap();
        let e = Config::from_sources(&env(&[("FIXLINE_SMS_REGIONS", p)]))
            .err()
            .unwrap();
        assert_eq!(e.key, "FIXLINE_SMS_REGIONS");
        assert!(e.message.contains("[ZJG-W]"), "{}", e.message);
        std::fs::write(&path, "[ZJG-W]\nlisten = \"0.0.0.0:1\"\n").unwrap();
        let e = Config::from_sources(&env(&[("FIXLINE_SMS_REGIONS", p)]))
            .err()
            .unwrap();
        assert!(e.message.contains("not an SMS key"), "{}", e.message);
    }

    #[test]
    fn fallback_providers_for_the_deployment_and_a_region() {
        let dir = tempfile::tempdir().unwrap();
        let fallback = dir.path().join("fallback.toml");
        std::fs::write(&fallback, "sms_provider = \"log\"\n").unwrap();
        let regions = dir.path().join("regions.toml");
        std::fs::write(
            &regions,
            "[ZJG-W]\nsms_provider = \"log\"\n[ZJG-W.fallback]\nsms_provider = \"webhook\"\nsms_webhook_url = \"https://sms.example/b\"\nsms_webhook_secret = \"0123456789abcdef\"\n[ZJG-E]\nsms_provider = \"log\"\n",
        )
        .unwrap();
        let c = Config::from_sources(&env(&[
            ("FIXLINE_SMS_FALLBACK", fallback.to_str().unwrap()),
            ("FIXLINE_SMS_REGIONS", regions.to_str().unwrap()),
        ]))
        .unwrap();
        assert!(matches!(c.sms_fallback, Some(SmsConfig::Log)));
        let w = c.sms_regions.iter().find(|r| r.0 == "ZJG-W").unwrap();
        assert!(matches!(w.2, Some(SmsConfig::Webhook { .. })));
        let e = c.sms_regions.iter().find(|r| r.0 == "ZJG-E").unwrap();
        assert!(e.2.is_none());
        std::fs::write(&fallback, "sms_provider = \"webhook\"\n").unwrap();
        let err = Config::from_sources(&env(&[(
            "FIXLINE_SMS_FALLBACK",
            fallback.to_str().unwrap(),
        )]))
        .err()
        .unwrap();
        assert_eq!(err.key, "FIXLINE_SMS_FALLBACK");
        assert_eq!(c.outbox.timeout, std::time::Duration::from_secs(15));
        assert_eq!(c.outbox.backoff_cap, chrono::Duration::seconds(30));
        assert_eq!(c.outbox.horizon, chrono::Duration::hours(24));
    }

    #[test]
    fn the_test_clock_is_for_loopback_servers_only() {
        let on = |listen: &str| {
            Config::from_sources(&env(&[
                ("FIXLINE_TEST_CLOCK", "1"),
                ("FIXLINE_LISTEN", listen),
            ]))
        };
        assert!(on("127.0.0.1:8080").unwrap().test_clock);
        assert!(on("[::1]:8080").is_ok());
        let e = on("0.0.0.0:8080").err().unwrap();
        assert_eq!(e.key, "FIXLINE_TEST_CLOCK");
        assert!(on("10.1.2.3:8080").is_err());
    }
}
