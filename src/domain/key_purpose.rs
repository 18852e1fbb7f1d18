//! What an integration's API key is for, and so which routes it may call.

use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// The call-center system: records calls, follows their tickets, locates addresses.
    Intake,
    /// A hotline bridge (12345 / 12315): imports complaints and follows them.
    Complaints,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::Intake, KeyPurpose::Complaints];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Intake => "intake",
            KeyPurpose::Complaints => "complaints",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not intake or complaints")))
    }

    /// Whether a key of this purpose may call the route `pattern` (actix's route pattern, e.g.
    /// `/tickets/{id}`).
    pub fn allows(self, pattern: &str) -> bool {
        let under = |prefix: &str| pattern == prefix || pattern.starts_with(&format!("{prefix}/"));
        match self {
            KeyPurpose::Intake => {
                under("/tickets") || under("/districts") && !pattern.contains("import")
            }
            KeyPurpose::Complaints => under("/complaints") && !pattern.ends_with("/verify"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_reaches_its_own_routes_only() {
        let intake = KeyPurpose::Intake;
        assert!(intake.allows("/tickets"));
        assert!(intake.allows("/tickets/{id}"));
        assert!(intake.allows("/districts/locate"));
        assert!(!intake.allows("/districts/import"));
        assert!(!intake.allows("/complaints"));
        assert!(!intake.allows("/admin/users"));
        assert!(!intake.allows("/ticketsx"));
        let complaints = KeyPurpose::Complaints;
        assert!(complaints.allows("/complaints"));
        assert!(complaints.allows("/complaints/{id}"));
        assert!(
            !complaints.allows("/complaints/{id}/verify"),
            "verifying is a manager's"
        );
        assert!(!complaints.allows("/tickets"));
        assert_eq!(KeyPurpose::parse("purpose", "intake").unwrap(), intake);
        assert!(KeyPurpose::parse("purpose", "admin").is_err());
    }
}
