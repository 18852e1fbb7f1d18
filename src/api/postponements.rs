//! Customer-requested postponements: recorded from the phone app or the console, confirmed or
//! declined by the region's account manager or a dispatcher.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::instant::UtcInstant;
use super::state::AppState;
use super::sync::{json_of, ticket_done, Done, TechAction};
use super::tickets::{act, acting, tech_action, tech_route, TechRequest};
use super::{instant, resource, ApiError, ApiResult, Caller, Items, JsonBody};
use crate::domain::field_in;
use crate::domain::postponement::RequestStatus;
use crate::flow::actions::{load_visible, Acting};
use crate::flow::postponement::{self, Postponement, Recorded};
use crate::store::postponements::{self as store, PostponementRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/tickets/{id}/postpone").route(web::post().to(tech_route::<PostponeIn>)))
        .service(resource("/tickets/{id}/postponements").route(web::get().to(list)))
        .service(
            resource("/tickets/{id}/postponements/{request_id}/confirm")
                .route(web::post().to(confirm)),
        )
        .service(
            resource("/tickets/{id}/postponements/{request_id}/decline")
                .route(web::post().to(decline)),
        );
}

/// A postponement request as the API shows it.
#[derive(Serialize)]
pub struct PostponementDto {
    pub id: String,
    pub ticket_id: String,
    pub status: RequestStatus,
    pub requested_by: String,
    pub requested_at: UtcInstant,
    pub new_promised_at: UtcInstant,
    pub new_appointment_at: Option<UtcInstant>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_via: Option<String>,
    pub decided_at: Option<UtcInstant>,
    pub decision_note: Option<String>,
}

impl From<PostponementRow> for PostponementDto {
    fn from(r: PostponementRow) -> Self {
        PostponementDto {
            id: r.id,
            ticket_id: r.ticket_id,
            status: r.status,
            requested_by: r.requested_by,
            requested_at: UtcInstant(r.requested_at),
            new_promised_at: UtcInstant(r.new_promised_at),
            new_appointment_at: r.new_appointment_at.map(UtcInstant),
            reason: r.reason,
            decided_by: r.decided_by,
            decided_via: r.decided_via,
            decided_at: r.decided_at.map(UtcInstant),
            decision_note: r.decision_note,
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PostponeIn {
    new_promised_at: String,
    reason: String,
    #[serde(default)]
    new_appointment_at: Option<String>,
    /// Only the customer's request moves the promise; anything else is simply late.
    customer_requested: bool,
    /// When the customer asked, by the phone's clock (a request queued offline).
    #[serde(default)]
    device_at: Option<String>,
}

impl TechRequest for PostponeIn {
    /// Records the customer's wish: 200 with the ticket when the caller confirms it themselves,
    /// 202 with the pending request when a technician recorded it.
    fn action(self, id: String, who: Acting, prefix: &str) -> ApiResult<TechAction> {
        if !self.customer_requested {
            return Err(ApiError::invalid(
                field_in(prefix, "customer_requested"),
                "only a postponement the customer asked for moves the promise; other delays count as late",
            ));
        }
        let p = Postponement {
            new_promised_at: instant(&field_in(prefix, "new_promised_at"), &self.new_promised_at)?,
            reason: self.reason.clone(),
            new_appointment_at: self
                .new_appointment_at
                .as_deref()
                .map(|a| instant(&field_in(prefix, "new_appointment_at"), a))
                .transpose()?,
        };
        let route_id = id.clone();
        tech_action(
            "/tickets/{id}/postpone",
            route_id,
            &self,
            self.device_at.as_deref(),
            prefix,
            Arc::new(move |conn, flow, when| {
                match postponement::record(conn, flow, &id, &who, p.clone(), when)? {
                    Recorded::Applied(t) => ticket_done(*t, when.received),
                    Recorded::Pending(r) => Ok(Done {
                        status: 202,
                        body: json_of(&PostponementDto::from(*r))?,
                        deadline: None,
                    }),
                }
            }),
        )
    }
}

/// The ticket's postponement requests, oldest first.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    let rows = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let t = load_visible(conn, &id, &who)?;
            Ok(store::for_ticket(conn, &t.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items {
        items: rows.into_iter().map(PostponementDto::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionIn {
    #[serde(default)]
    note: Option<String>,
}

async fn confirm(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<DecisionIn>,
) -> ApiResult<HttpResponse> {
    decide(state, caller, path.into_inner(), true, req.note).await
}

async fn decline(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<DecisionIn>,
) -> ApiResult<HttpResponse> {
    decide(state, caller, path.into_inner(), false, req.note).await
}

async fn decide(
    state: web::Data<AppState>,
    caller: Caller,
    (id, request_id): (String, String),
    confirm: bool,
    note: Option<String>,
) -> ApiResult<HttpResponse> {
    let who = acting(&caller);
    act(state, move |conn, flow, now| {
        postponement::decide(
            conn,
            flow,
            &id,
            &request_id,
            &who,
            confirm,
            note.as_deref(),
            now,
        )
    })
    .await
}
