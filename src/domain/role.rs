//! Who a caller is and which regions they may see.

use std::fmt;

use super::Invalid;

/// The roles of fixline's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Call-center agent: records faults, runs callbacks.
    Agent,
    /// Assigns and reassigns tickets from the live board.
    Dispatcher,
    /// Field technician (维修人员), works from the phone app.
    Technician,
    /// Regional account manager (客户经理): on duty for a region, receives its new tickets.
    AccountManager,
    /// Reviews district timeliness, callbacks, complaints and rankings.
    Manager,
    /// Manages users, keys, regions and districts; sees every region.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Agent,
        Role::Dispatcher,
        Role::Technician,
        Role::AccountManager,
        Role::Manager,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
            Role::AccountManager => "account_manager",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Role, Invalid> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "`{s}` is not a role; use one of {}",
                        Role::ALL.map(Role::as_str).join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The regions a caller may read and act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionScope {
    /// Every region: admins, and call-center integrations.
    All,
    /// Only these region ids.
    Only(Vec<String>),
}

impl RegionScope {
    pub fn allows(&self, region_id: &str) -> bool {
        match self {
            RegionScope::All => true,
            RegionScope::Only(ids) => ids.iter().any(|id| id == region_id),
        }
    }

    /// The region ids to filter a listing by, or `None` for no filter.
    pub fn filter(&self) -> Option<&[String]> {
        match self {
            RegionScope::All => None,
            RegionScope::Only(ids) => Some(ids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse("role", r.as_str()).unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        let e = Role::parse("role", "boss").unwrap_err();
        assert_eq!(e.field, "role");
        assert!(e.message.contains("account_manager"));
    }

    #[test]
    fn scope() {
        let s = RegionScope::Only(vec!["a".into()]);
        assert!(s.allows("a"));
        assert!(!s.allows("b"));
        assert!(RegionScope::All.allows("b"));
        assert_eq!(RegionScope::All.filter(), None);
    }
}
