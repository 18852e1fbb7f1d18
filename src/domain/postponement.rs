//! Customer-requested postponements. Only the customer's wish moves the promise, and a
//! technician cannot vouch for it alone: what a technician records waits for confirmation by the
//! region's account manager or a dispatcher, or by the customer's own SMS reply. Until then the
//! old promise governs.

use super::Role;

/// Where a postponement request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Recorded by a technician, waiting for confirmation; the old promise governs.
    Pending,
    /// Confirmed: the promise moved.
    Confirmed,
    /// Refused by staff or by the customer: the old promise stands.
    Declined,
    /// Replaced by a later request or by a postponement recorded by staff.
    Superseded,
    /// Not confirmed before the time asked for, or the ticket finished meanwhile.
    Lapsed,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Confirmed => "confirmed",
            RequestStatus::Declined => "declined",
            RequestStatus::Superseded => "superseded",
            RequestStatus::Lapsed => "lapsed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<RequestStatus, super::Invalid> {
        [
            RequestStatus::Pending,
            RequestStatus::Confirmed,
            RequestStatus::Declined,
            RequestStatus::Superseded,
            RequestStatus::Lapsed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| super::Invalid::new(field, format!("`{s}` is not a request status")))
    }
}

super::stored_as_text!(RequestStatus => "status");

/// How a decision was made: by a staff member signed in, or by the customer's SMS reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedVia {
    Staff,
    CustomerSms,
}

impl DecidedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedVia::Staff => "staff",
            DecidedVia::CustomerSms => "customer_sms",
        }
    }
}

/// Whether a postponement recorded by someone in `role` takes effect at once (they confirm the
/// customer's wish themselves) or waits for confirmation.
pub fn recorded_confirms(role: Role) -> bool {
    matches!(role, Role::AccountManager | Role::Dispatcher | Role::Admin)
}

/// Why someone may not decide on a pending request, if they may not. `requested_by` is the
/// technician who recorded it.
pub fn refusal_to_decide(role: Role, user_id: &str, requested_by: &str) -> Option<&'static str> {
    if user_id == requested_by {
        return Some("a postponement must be confirmed by someone other than who recorded it");
    }
    if !recorded_confirms(role) {
        return Some("only the region's account manager or a dispatcher confirms a postponement");
    }
    None
}

/// The customer's answer to the confirmation SMS: `1` (yes) or `2` (no), with the usual ways
/// people write them. None when the text is neither.
pub fn customer_answer(text: &str) -> Option<bool> {
    let folded: String = text
        .trim()
        .trim_end_matches(['。', '.', '!', '！'])
        .chars()
        .map(super::sms_reply::fold)
        .collect::<String>()
        .to_ascii_lowercase();
    match folded.trim() {
        "1" | "y" | "yes" | "是" | "确认" | "同意" | "好" | "可以" => Some(true),
        "2" | "n" | "no" | "否" | "不同意" | "不" | "不行" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_technician_records_but_never_confirms() {
        assert!(!recorded_confirms(Role::Technician));
        assert!(recorded_confirms(Role::AccountManager));
        assert!(recorded_confirms(Role::Dispatcher));
        assert!(!recorded_confirms(Role::Agent));
        assert!(refusal_to_decide(Role::Technician, "t2", "t1").is_some());
        assert!(refusal_to_decide(Role::Agent, "a1", "t1").is_some());
        assert_eq!(refusal_to_decide(Role::AccountManager, "m1", "t1"), None);
        assert_eq!(refusal_to_decide(Role::Dispatcher, "d1", "t1"), None);
    }

    #[test]
    fn nobody_confirms_what_they_recorded() {
        assert!(refusal_to_decide(Role::AccountManager, "m1", "m1").is_some());
        assert!(refusal_to_decide(Role::Admin, "a", "a").is_some());
    }

    #[test]
    fn customer_answers_as_people_type_them() {
        for yes in ["1", " 1 ", "１", "Y", "yes", "是", "确认。", "同意"] {
            assert_eq!(customer_answer(yes), Some(true), "{yes}");
        }
        for no in ["2", "２", "n", "NO", "否", "不同意", "不行！"] {
            assert_eq!(customer_answer(no), Some(false), "{no}");
        }
        for other in ["", "12", "A 1430", "明天再说", "3"] {
            assert_eq!(customer_answer(other), None, "{other}");
        }
    }
}
