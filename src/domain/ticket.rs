//! The ticket state machine: which actions each status allows, and where they lead.
//!
//! ```text
//! new ──assign──▶ dispatched ──ack──▶ acknowledged ──check-in──▶ on_site ──resolve──▶ resolved ──close──▶ closed
//!                     ▲  │                │   ▲                      │
//!                     │  │             postpone│ ack / check-in      postpone
//!                     │  │                ▼   │                      ▼
//!                     └──┴──assign──── postponed ◀───────────────────┘
//! any open status ──cancel──▶ cancelled
//! ```

use std::fmt;

use super::Invalid;

/// What kind of work a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// A fault to repair (维护).
    Repair,
    /// A new installation (安装).
    Install,
}

impl TicketKind {
    pub const ALL: [TicketKind; 2] = [TicketKind::Repair, TicketKind::Install];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Repair => "repair",
            TicketKind::Install => "install",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        match s {
            "repair" => Ok(TicketKind::Repair),
            "install" => Ok(TicketKind::Install),
            _ => Err(Invalid::new(
                field,
                format!("`{s}` is not repair or install"),
            )),
        }
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recorded, not yet assigned to anyone (the dispatcher queue).
    New,
    /// Assigned to a technician, waiting for the customer contact.
    Dispatched,
    /// The technician contacted the customer and agreed an appointment.
    Acknowledged,
    /// The technician checked in at the customer's address.
    OnSite,
    /// The customer asked for a later time; the promise moved.
    Postponed,
    /// The repair or installation is done.
    Resolved,
    /// Done and reviewed; nothing more happens.
    Closed,
    /// Withdrawn (duplicate, customer cancelled, ...).
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::New,
        Status::Dispatched,
        Status::Acknowledged,
        Status::OnSite,
        Status::Postponed,
        Status::Resolved,
        Status::Closed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Dispatched => "dispatched",
            Status::Acknowledged => "acknowledged",
            Status::OnSite => "on_site",
            Status::Postponed => "postponed",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not a ticket status")))
    }

    /// Every status with nothing left to do.
    pub const FINISHED: [Status; 3] = [Status::Resolved, Status::Closed, Status::Cancelled];

    /// Still work to do.
    pub fn is_open(self) -> bool {
        !Status::FINISHED.contains(&self)
    }
}

super::stored_as_text!(Status => "status", TicketKind => "kind");

/// Why a ticket waits for a dispatcher's eye; the text is what the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// Recorded with nobody on duty to take it.
    NoTechnicianOnDuty,
    /// The push to the on-duty staff missed its deadline (`minutes` after recording).
    NotPushed { minutes: i64 },
    /// The holder missed the contact deadline and no other technician was on duty.
    NotContactedNoOtherTechnician,
    /// The promise passed unresolved.
    NotResolved,
    /// A message about the ticket to this phone will never go out.
    SmsFailed { phone: String },
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::NoTechnicianOnDuty => f.write_str("no technician on duty in the region"),
            Flag::NotPushed { minutes } => {
                write!(
                    f,
                    "not pushed to the on-duty staff within {minutes} minutes"
                )
            }
            Flag::NotContactedNoOtherTechnician => {
                f.write_str("not contacted in time and no other technician on duty")
            }
            Flag::NotResolved => f.write_str("not resolved by the promised time"),
            Flag::SmsFailed { phone } => write!(f, "an SMS to {phone} failed for good"),
        }
    }
}

/// Something that changes a ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Assign,
    Acknowledge,
    CheckIn,
    Postpone,
    Resolve,
    Close,
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Assign => "assign",
            Action::Acknowledge => "acknowledge",
            Action::CheckIn => "check in",
            Action::Postpone => "postpone",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Cancel => "cancel",
        }
    }
}

/// An action the current status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a ticket that is {current}", action.as_str())]
pub struct IllegalTransition {
    pub current: Status,
    pub action: Action,
}

/// The status after `action`, or why it is not allowed.
pub fn transition(current: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let next = match (current, action) {
        (S::New | S::Dispatched | S::Acknowledged | S::OnSite | S::Postponed, A::Assign) => {
            S::Dispatched
        }
        (S::Dispatched | S::Postponed, A::Acknowledge) => S::Acknowledged,
        (S::Acknowledged | S::Postponed, A::CheckIn) => S::OnSite,
        (S::Acknowledged | S::OnSite, A::Postpone) => S::Postponed,
        // Acknowledged: fixed over the phone without a visit; postponed: fixed before the
        // later time the customer asked for.
        (S::Acknowledged | S::OnSite | S::Postponed, A::Resolve) => S::Resolved,
        (S::Resolved, A::Close) => S::Closed,
        (s, A::Cancel) if s.is_open() => S::Cancelled,
        _ => return Err(IllegalTransition { current, action }),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finished_statuses_are_those_where_the_repair_can_no_longer_be_assigned() {
        for s in Status::ALL {
            assert_eq!(
                transition(s, Action::Assign).is_err(),
                Status::FINISHED.contains(&s),
                "{s}"
            );
            assert_eq!(s.is_open(), !Status::FINISHED.contains(&s), "{s}");
        }
    }

    #[test]
    fn the_happy_path() {
        let mut s = Status::New;
        for a in [
            Action::Assign,
            Action::Acknowledge,
            Action::CheckIn,
            Action::Resolve,
            Action::Close,
        ] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, Status::Closed);
    }

    #[test]
    fn postponement_and_return() {
        let s = transition(Status::Acknowledged, Action::Postpone).unwrap();
        assert_eq!(s, Status::Postponed);
        assert_eq!(transition(s, Action::CheckIn).unwrap(), Status::OnSite);
        assert_eq!(
            transition(s, Action::Acknowledge).unwrap(),
            Status::Acknowledged
        );
        assert_eq!(
            transition(Status::OnSite, Action::Postpone).unwrap(),
            Status::Postponed
        );
        assert_eq!(
            transition(s, Action::Resolve).unwrap(),
            Status::Resolved,
            "fixed by phone after a postponement"
        );
        assert!(
            transition(Status::Dispatched, Action::Postpone).is_err(),
            "no promise to move before contact"
        );
    }

    #[test]
    fn every_illegal_pair_is_refused_with_the_current_status() {
        let allowed = [
            (Status::New, Action::Assign),
            (Status::Dispatched, Action::Assign),
            (Status::Acknowledged, Action::Assign),
            (Status::OnSite, Action::Assign),
            (Status::Postponed, Action::Assign),
            (Status::Dispatched, Action::Acknowledge),
            (Status::Postponed, Action::Acknowledge),
            (Status::Acknowledged, Action::CheckIn),
            (Status::Postponed, Action::CheckIn),
            (Status::Acknowledged, Action::Postpone),
            (Status::OnSite, Action::Postpone),
            (Status::Acknowledged, Action::Resolve),
            (Status::OnSite, Action::Resolve),
            (Status::Postponed, Action::Resolve),
            (Status::Resolved, Action::Close),
        ];
        let actions = [
            Action::Assign,
            Action::Acknowledge,
            Action::CheckIn,
            Action::Postpone,
            Action::Resolve,
            Action::Close,
            Action::Cancel,
        ];
        for s in Status::ALL {
            for a in actions {
                let ok = allowed.contains(&(s, a)) || (a == Action::Cancel && s.is_open());
                match transition(s, a) {
                    Ok(_) => assert!(ok, "{s} {a:?} should be refused"),
                    Err(e) => {
                        assert!(!ok, "{s} {a:?} should be allowed");
                        assert_eq!(e.current, s);
                    }
                }
            }
        }
        assert_eq!(
            transition(Status::Closed, Action::Acknowledge)
                .unwrap_err()
                .to_string(),
            "cannot acknowledge a ticket that is closed"
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse("status", s.as_str()).unwrap(), s);
        }
        assert_eq!(
            TicketKind::parse("kind", "install").unwrap(),
            TicketKind::Install
        );
        assert!(TicketKind::parse("kind", "visit").is_err());
    }
}
