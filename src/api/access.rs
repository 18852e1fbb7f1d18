//! Who may call each operation, in one table. The gate checks it before a request body is read,
//! so a caller without the role learns nothing from validation errors; the tests compare it with
//! each operation's `x-roles` in `api-spec/openapi.yaml` and probe every role over HTTP.
//! Admins may call every operation that is not public. Finer rules (a technician's own tickets,
//! the caller's regions) stay with the handlers and the ticket flow.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use super::{ApiError, Caller};
use crate::domain::Role;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No sign-in (health, sign-in itself, the SMS platform's signed callbacks).
    Public,
    /// Signed-in users with one of these roles, and admins. API keys act as agents, within
    /// their purpose's routes.
    Roles(&'static [Role]),
}

use Role::{AccountManager as AM, Agent, Dispatcher, Manager, Technician};

/// Every role but admin: any signed-in user.
const ANYONE: &[Role] = &[Agent, Dispatcher, Technician, AM, Manager];
const ADMIN: &[Role] = &[];
const FIELD: &[Role] = &[Technician, AM, Dispatcher];
const SEES_PHOTOS: &[Role] = &[Technician, AM, Dispatcher, Manager];
const CALL_CENTER: &[Role] = &[Agent, Dispatcher, Manager];
const READERS: &[Role] = &[Manager, Dispatcher];
const BOARD: &[Role] = &[Dispatcher, Manager, AM, Agent];

/// Every operation: method, route pattern, access.
pub const OPERATIONS: &[(&str, &str, Access)] = {
    use Access::{Public, Roles};
    &[
        ("GET", "/healthz", Public),
        ("GET", "/readyz", Public),
        ("GET", "/metrics", Public),
        ("POST", "/auth/login", Public),
        ("POST", "/auth/refresh", Public),
        ("POST", "/auth/logout", Roles(ANYONE)),
        ("GET", "/me", Roles(ANYONE)),
        ("GET", "/me/stream", Roles(ANYONE)),
        ("GET", "/board/stream", Roles(&[Dispatcher, AM, Manager])),
        ("GET", "/me/tickets", Roles(ANYONE)),
        ("GET", "/me/changes", Roles(ANYONE)),
        ("POST", "/me/position", Roles(&[Technician, AM])),
        ("POST", "/me/positions", Roles(&[Technician, AM])),
        (
            "GET",
            "/tickets/{id}/track",
            Roles(&[Dispatcher, AM, Manager]),
        ),
        ("POST", "/tickets/{id}/photos", Roles(FIELD)),
        ("GET", "/tickets/{id}/photos", Roles(SEES_PHOTOS)),
        ("GET", "/tickets/{id}/photos/{photo_id}", Roles(SEES_PHOTOS)),
        ("POST", "/me/sync", Roles(&[Technician, AM])),
        ("GET", "/admin/users", Roles(ADMIN)),
        ("POST", "/admin/users", Roles(ADMIN)),
        ("GET", "/admin/users/{id}", Roles(ADMIN)),
        ("PATCH", "/admin/users/{id}", Roles(ADMIN)),
        ("GET", "/admin/api-keys", Roles(ADMIN)),
        ("POST", "/admin/api-keys", Roles(ADMIN)),
        ("DELETE", "/admin/api-keys/{id}", Roles(ADMIN)),
        ("GET", "/regions", Roles(ANYONE)),
        ("POST", "/regions", Roles(ADMIN)),
        ("GET", "/regions/{id}", Roles(ANYONE)),
        ("PATCH", "/regions/{id}", Roles(ADMIN)),
        ("DELETE", "/regions/{id}", Roles(ADMIN)),
        ("GET", "/regions/{id}/on-duty", Roles(ANYONE)),
        ("GET", "/regions/{id}/duty/rotations", Roles(ANYONE)),
        ("POST", "/regions/{id}/duty/rotations", Roles(READERS)),
        (
            "DELETE",
            "/regions/{id}/duty/rotations/{rotation_id}",
            Roles(READERS),
        ),
        ("POST", "/regions/{id}/duty/overrides", Roles(READERS)),
        ("GET", "/regions/{id}/policies", Roles(ANYONE)),
        ("PUT", "/regions/{id}/policies/{kind}", Roles(&[Manager])),
        ("GET", "/districts", Roles(ANYONE)),
        ("GET", "/districts/locate", Roles(ANYONE)),
        ("POST", "/districts/import", Roles(ADMIN)),
        ("GET", "/districts/{id}", Roles(ANYONE)),
        ("PATCH", "/districts/{id}", Roles(ADMIN)),
        ("DELETE", "/districts/{id}", Roles(ADMIN)),
        ("GET", "/districts/{id}/appraisals", Roles(READERS)),
        (
            "PUT",
            "/districts/{id}/appraisals/{month}",
            Roles(&[Manager]),
        ),
        ("GET", "/tickets", Roles(BOARD)),
        ("POST", "/tickets", Roles(&[Agent, Dispatcher])),
        ("GET", "/tickets/{id}", Roles(ANYONE)),
        ("PATCH", "/tickets/{id}", Roles(&[Dispatcher])),
        ("GET", "/tickets/{id}/events", Roles(ANYONE)),
        ("GET", "/tickets/{id}/notifications", Roles(BOARD)),
        ("POST", "/tickets/{id}/ack", Roles(FIELD)),
        ("POST", "/tickets/{id}/check-in", Roles(FIELD)),
        ("POST", "/tickets/{id}/resolve", Roles(FIELD)),
        ("POST", "/tickets/{id}/postpone", Roles(FIELD)),
        ("GET", "/tickets/{id}/postponements", Roles(ANYONE)),
        (
            "POST",
            "/tickets/{id}/postponements/{request_id}/confirm",
            Roles(&[AM, Dispatcher]),
        ),
        (
            "POST",
            "/tickets/{id}/postponements/{request_id}/decline",
            Roles(&[AM, Dispatcher]),
        ),
        ("POST", "/tickets/{id}/assign", Roles(&[Dispatcher])),
        (
            "GET",
            "/tickets/{id}/suggestions",
            Roles(&[Dispatcher, AM, Manager]),
        ),
        ("GET", "/staff", Roles(BOARD)),
        ("GET", "/tickets/duplicates", Roles(CALL_CENTER)),
        ("POST", "/tickets/{id}/cancel", Roles(&[Dispatcher, Agent])),
        (
            "POST",
            "/tickets/{id}/close",
            Roles(&[Dispatcher, Agent, AM]),
        ),
        ("GET", "/callbacks", Roles(CALL_CENTER)),
        ("GET", "/callbacks/{id}", Roles(CALL_CENTER)),
        ("POST", "/callbacks/{id}/result", Roles(CALL_CENTER)),
        ("GET", "/complaints", Roles(BOARD)),
        ("POST", "/complaints", Roles(CALL_CENTER)),
        ("GET", "/complaints/{id}", Roles(BOARD)),
        ("POST", "/complaints/{id}/verify", Roles(&[Manager])),
        ("POST", "/complaints/{id}/reply", Roles(BOARD)),
        ("POST", "/complaints/{id}/close", Roles(BOARD)),
        ("POST", "/complaints/{id}/reopen", Roles(BOARD)),
        ("GET", "/network-faults", Roles(BOARD)),
        ("POST", "/network-faults", Roles(&[Dispatcher])),
        ("GET", "/network-faults/{id}", Roles(BOARD)),
        ("POST", "/network-faults/{id}/confirm", Roles(&[Dispatcher])),
        (
            "POST",
            "/network-faults/{id}/estimate",
            Roles(&[Dispatcher]),
        ),
        ("POST", "/network-faults/{id}/link", Roles(&[Dispatcher])),
        ("POST", "/network-faults/{id}/unlink", Roles(&[Dispatcher])),
        ("POST", "/network-faults/{id}/restore", Roles(&[Dispatcher])),
        ("POST", "/network-faults/{id}/dismiss", Roles(&[Dispatcher])),
        ("POST", "/network-faults/{id}/crew", Roles(&[Dispatcher])),
        (
            "POST",
            "/network-faults/{id}/crew/ack",
            Roles(&[Technician]),
        ),
        ("GET", "/reports/districts", Roles(READERS)),
        ("GET", "/reports/districts/trend", Roles(READERS)),
        ("GET", "/reports/districts/{id}/tickets", Roles(READERS)),
        ("GET", "/reports/technicians", Roles(READERS)),
        ("GET", "/reports/regions", Roles(READERS)),
        ("GET", "/branches", Roles(READERS)),
        ("POST", "/branches", Roles(ADMIN)),
        ("GET", "/branches/{id}", Roles(READERS)),
        ("PATCH", "/branches/{id}", Roles(ADMIN)),
        ("DELETE", "/branches/{id}", Roles(ADMIN)),
        ("GET", "/branches/{id}/figures", Roles(READERS)),
        ("PUT", "/branches/{id}/figures/{month}", Roles(&[Manager])),
        ("POST", "/branches/figures/import", Roles(&[Manager])),
        ("GET", "/reports/province", Roles(READERS)),
        (
            "GET",
            "/reports/province/branches/{id}/tickets",
            Roles(READERS),
        ),
        ("GET", "/reports/five-star/districts", Roles(READERS)),
        ("GET", "/reports/five-star/teams", Roles(READERS)),
        ("GET", "/reports/five-star/halls", Roles(READERS)),
        ("GET", "/reports/ledger", Roles(READERS)),
        ("GET", "/reports/work-orders", Roles(READERS)),
        ("GET", "/reports/visits", Roles(READERS)),
        ("GET", "/visits", Roles(ANYONE)),
        ("POST", "/visits", Roles(ANYONE)),
        ("GET", "/visits/questionnaire", Roles(ANYONE)),
        ("GET", "/reports/work-orders/tickets", Roles(READERS)),
        ("GET", "/reports/five-star/staff", Roles(READERS)),
        (
            "GET",
            "/reports/five-star/staff/{id}/tickets",
            Roles(READERS),
        ),
        ("GET", "/staff/{id}/appraisals", Roles(READERS)),
        ("PUT", "/staff/{id}/appraisals/{month}", Roles(&[Manager])),
        ("GET", "/units", Roles(READERS)),
        ("POST", "/units", Roles(ADMIN)),
        ("POST", "/units/import", Roles(ADMIN)),
        ("GET", "/units/{id}", Roles(READERS)),
        ("PATCH", "/units/{id}", Roles(ADMIN)),
        ("DELETE", "/units/{id}", Roles(ADMIN)),
        ("PUT", "/units/{id}/members/{user_id}", Roles(ADMIN)),
        ("DELETE", "/units/{id}/members/{user_id}", Roles(ADMIN)),
        ("GET", "/units/{id}/figures", Roles(READERS)),
        ("GET", "/units/{id}/brief", Roles(READERS)),
        ("PUT", "/units/{id}/figures/{month}", Roles(&[Manager])),
        ("POST", "/units/figures/import", Roles(&[Manager])),
        ("POST", "/test/clock", Roles(ADMIN)),
        ("GET", "/sms/platforms", Roles(READERS)),
        ("GET", "/sms/opt-outs", Roles(CALL_CENTER)),
        ("DELETE", "/sms/opt-outs/{phone}", Roles(CALL_CENTER)),
        ("POST", "/webhooks/sms/{provider}/status", Public),
        ("POST", "/webhooks/sms/{provider}/inbound", Public),
    ]
};

/// The access of the operation `method` `pattern`; None for a route that is not an operation.
pub fn lookup(method: &Method, pattern: &str) -> Option<Access> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    OPERATIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == pattern)
        .map(|(_, _, a)| *a)
}

/// The methods of the operations on route `pattern`, for a 405's `Allow` header.
pub fn methods(pattern: &str) -> Vec<&'static str> {
    OPERATIONS
        .iter()
        .filter(|(_, p, _)| *p == pattern)
        .map(|(m, _, _)| *m)
        .collect()
}

/// Whether `role` may call an operation open to `roles`.
pub fn allows(roles: &[Role], role: Role) -> bool {
    role == Role::Admin || roles.contains(&role)
}

/// The gate: 401 without valid credentials, 403 without the role, before anything else of the
/// request is looked at. The authenticated caller is handed on to the handler's [`Caller`].
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let access = req.match_pattern().and_then(|p| lookup(req.method(), &p));
    let Some(Access::Roles(roles)) = access else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let caller = match Caller::authenticate_only(req.request()).await {
        Ok(c) => c,
        Err(e) => return Ok(req.error_response(e)),
    };
    if !allows(roles, caller.role) {
        let needed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let e = ApiError::forbidden(if needed.is_empty() {
            format!("only an admin may do this; you are {}", caller.role)
        } else {
            format!(
                "this needs the role {}; you are {}",
                needed.join(" or "),
                caller.role
            )
        });
        return Ok(req.error_response(e));
    }
    req.extensions_mut().insert(caller);
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in OPERATIONS {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
    }

    #[test]
    fn admins_pass_every_role_check() {
        assert!(allows(ADMIN, Role::Admin));
        assert!(!allows(ADMIN, Role::Manager));
        assert!(allows(FIELD, Role::Technician));
        assert!(!allows(FIELD, Role::Agent));
        assert_eq!(lookup(&Method::HEAD, "/me"), Some(Access::Roles(ANYONE)));
        assert_eq!(lookup(&Method::GET, "/nowhere"), None);
    }
}
