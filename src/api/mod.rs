//! HTTP handlers, thin: parse, authorize, call store and domain, answer a DTO. Each module
//! exports `configure`; [`configure`] mounts them all.

pub mod access;
pub mod admin;
pub mod analysis;
pub mod auth;
pub mod callbacks;
pub mod complaints;
pub mod csv_table;
pub mod dispatch;
pub mod districts;
pub mod duty;
pub mod error;
pub mod extract;
pub mod health;
pub mod instant;
pub mod me;
pub mod network_faults;
pub mod photos;
pub mod policies;
pub mod positions;
pub mod postponements;
pub mod province;
pub mod ratelimit;
pub mod recheck;
pub mod regions;
pub mod reports;
pub mod sms;
pub mod staff_stars;
pub mod state;
pub mod stream;
pub mod strict_json;
pub mod sync;
pub mod test_clock;
pub mod tickets;
pub mod units;
pub mod visits;
pub mod webhooks;

use actix_web::{web, HttpRequest, HttpResponse, Resource};
use chrono::{DateTime, NaiveDateTime, Utc};

pub use error::{ApiError, ApiResult};
pub use extract::{Caller, JsonBody};

/// Mounts every route; `POST /test/clock` only with the test clock on.
pub fn configure(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::invalid("query", e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::not_found(format!("no such resource ({e})")).into()),
    )
    .app_data(
        web::JsonConfig::default()
            .error_handler(|e, _| ApiError::bad_request(e.to_string()).into()),
    );
    health::configure(cfg);
    auth::configure(cfg);
    admin::configure(cfg);
    regions::configure(cfg);
    districts::configure(cfg, config.import_limit);
    duty::configure(cfg);
    policies::configure(cfg);
    // Before `tickets`: `/tickets/duplicates` must not be taken for a ticket id.
    dispatch::configure(cfg);
    tickets::configure(cfg);
    postponements::configure(cfg);
    me::configure(cfg);
    positions::configure(cfg);
    photos::configure(cfg);
    stream::configure(cfg);
    sync::configure(cfg);
    webhooks::configure(cfg);
    sms::configure(cfg);
    callbacks::configure(cfg);
    complaints::configure(cfg);
    network_faults::configure(cfg);
    reports::configure(cfg);
    province::configure(cfg);
    units::configure(cfg);
    staff_stars::configure(cfg);
    analysis::configure(cfg);
    visits::configure(cfg);
    if config.test_clock {
        test_clock::configure(cfg);
    }
}

/// A resource whose unmatched methods answer 405 problem+json.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allow = req
        .match_pattern()
        .map(|p| access::methods(&p))
        .unwrap_or_default();
    Err(ApiError::method_not_allowed(
        format!("{} is not allowed on {}", req.method(), req.path()),
        &allow,
    ))
}

/// The answer for paths no route matches.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route {} {}",
        req.method(),
        req.path()
    )))
}

/// A page size from the query: `default` when absent, 422 outside 1..=`max`.
pub fn limit_param(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("must be from 1 to {max}"),
        ))
    }
}

/// A page offset from the query: 0 when absent, 422 when negative (every list alike).
pub fn offset_param(offset: Option<i64>) -> Result<i64, ApiError> {
    match offset.unwrap_or(0) {
        n if n >= 0 => Ok(n),
        _ => Err(ApiError::invalid("offset", "must not be negative")),
    }
}

/// Refuses control characters (percent-encoded `%00`-`%1F`, `%7F`) in the path (404: no such
/// resource can exist) and in the query (422 naming the parameter) before any handler sees them.
pub async fn reject_control_characters(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let path_bad = encodes_control(req.path());
    let query_bad = req.query_string().split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (encodes_control(name) || encodes_control(value)).then(|| name.to_string())
    });
    let refusal = if path_bad {
        Some(ApiError::not_found("no such resource"))
    } else {
        query_bad.map(|name| {
            ApiError::invalid(
                if encodes_control(&name) {
                    "query".to_string()
                } else {
                    name
                },
                "must not contain control characters",
            )
        })
    };
    match refusal {
        Some(e) => Ok(req.error_response(e)),
        None => next.call(req).await.map(|r| r.map_into_boxed_body()),
    }
}

/// Whether percent-encoded text holds a control character.
fn encodes_control(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1].to_ascii_uppercase(), w[2].to_ascii_uppercase()),
                (b'0' | b'1', b'0'..=b'9' | b'A'..=b'F') | (b'7', b'F')
            )
    }) || b.iter().any(|c| c.is_ascii_control())
}

/// An RFC 3339 instant from the request; refused on `field` otherwise. The one parser of times
/// a caller sends.
pub fn instant(field: &str, s: &str) -> Result<DateTime<Utc>, crate::domain::Invalid> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            crate::domain::Invalid::new(
                field,
                format!("`{s}` is not an RFC 3339 time, e.g. 2026-11-23T14:30:00+08:00"),
            )
        })
}

/// [`instant`], as stored (UTC).
pub fn parse_instant(field: &str, s: &str) -> Result<NaiveDateTime, ApiError> {
    Ok(instant(field, s)?.naive_utc())
}

/// When something happened, as the caller says (`field`): now when not said, never later.
pub fn past_instant(
    field: &str,
    s: Option<&str>,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, ApiError> {
    let Some(s) = s else {
        return Ok(now);
    };
    let t = parse_instant(field, s)?;
    if t > now {
        return Err(ApiError::invalid(field, "is in the future"));
    }
    Ok(t)
}

/// A stored UTC timestamp as an RFC 3339 instant.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A list answer: `{"items": [...]}`.
#[derive(serde::Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One page of a longer list: the items from `offset`, at most `limit` of them.
#[derive(serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub offset: i64,
    pub limit: i64,
}

/// 200 with `{"items": [...]}`, serialised straight from the typed items into one buffer sized
/// for them (a technician's list runs to tens of kilobytes; growing a buffer by doubling copies
/// it several times over).
pub fn items<T: serde::Serialize>(items: Vec<T>) -> HttpResponse {
    let n = items.len();
    sized_json(&Items { items }, n)
}

/// 200 with `body`, a list of `n` tickets or the like, serialised into one buffer sized for it.
pub fn sized_json<T: serde::Serialize>(body: &T, n: usize) -> HttpResponse {
    /// About what one ticket takes in JSON.
    const PER_ITEM: usize = 1_536;
    let mut buf = Vec::with_capacity(64 + n * PER_ITEM);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => HttpResponse::Ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(buf),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::internal(format!(
            "serialising the answer: {e}"
        ))),
    }
}

pub fn created<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit null (`Some(None)`).
pub fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    use serde::Deserialize;
    Ok(Some(Option::deserialize(d)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_found_percent_encoded() {
        assert!(super::encodes_control("/tickets/a%00b"));
        assert!(super::encodes_control("a%1fb"));
        assert!(super::encodes_control("a%7Fb"));
        assert!(!super::encodes_control("/tickets/0193-abc"));
        assert!(
            !super::encodes_control("%E6%9D%A8%20x"),
            "UTF-8 and spaces are text"
        );
        assert!(!super::encodes_control("%20%2F%41"));
    }
}
