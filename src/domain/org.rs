//! A branch's organisation: teams with a leader, sections with a head, the branch leadership
//! above them; and the chain a deduction for an at-fault complaint climbs (seed 002: the
//! front-line person, then the team leader, the section head and the leadership).

use super::five_star::Level;
use super::Invalid;

/// The kind of an organisational unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// A field team (班组) of technicians and account managers.
    Team,
    /// A call-center team, judged by 04-(3).
    CallCenterTeam,
    /// A business hall (营业厅), judged by 04-(4).
    Hall,
    /// A section (科室) over teams.
    Section,
    /// The branch leadership (班子).
    Leadership,
}

impl UnitKind {
    pub const ALL: [UnitKind; 5] = [
        UnitKind::Team,
        UnitKind::CallCenterTeam,
        UnitKind::Hall,
        UnitKind::Section,
        UnitKind::Leadership,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Team => "team",
            UnitKind::CallCenterTeam => "call_center_team",
            UnitKind::Hall => "hall",
            UnitKind::Section => "section",
            UnitKind::Leadership => "leadership",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<UnitKind, Invalid> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "`{s}` is not one of {}",
                        UnitKind::ALL.map(UnitKind::as_str).join(", ")
                    ),
                )
            })
    }

    /// The kind a unit of this kind sits under; `None` for the leadership, the top.
    pub fn parent_kind(self) -> Option<UnitKind> {
        match self {
            UnitKind::Team | UnitKind::CallCenterTeam | UnitKind::Hall => Some(UnitKind::Section),
            UnitKind::Section => Some(UnitKind::Leadership),
            UnitKind::Leadership => None,
        }
    }

    /// Whether people are members of it (the rest are led, not staffed).
    pub fn has_members(self) -> bool {
        matches!(
            self,
            UnitKind::Team | UnitKind::CallCenterTeam | UnitKind::Hall
        )
    }
}

super::stored_as_text!(UnitKind => "kind");

/// Checks that a unit may sit under `parent` (None: at the top of its branch).
pub fn check_parent(kind: UnitKind, parent: Option<UnitKind>) -> Result<(), Invalid> {
    match (kind.parent_kind(), parent) {
        (_, None) => Ok(()),
        (Some(want), Some(got)) if want == got => Ok(()),
        (Some(want), Some(got)) => Err(Invalid::new(
            "parent_id",
            format!(
                "a {} sits under a {}, not a {}",
                kind.as_str(),
                want.as_str(),
                got.as_str()
            ),
        )),
        (None, Some(_)) => Err(Invalid::new(
            "parent_id",
            "the leadership is the top of its branch",
        )),
    }
}

/// One unit as the chain sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    pub kind: UnitKind,
    pub parent_id: Option<String>,
    pub head_user_id: Option<String>,
}

/// Who answers for a complaint against `person` at each level, with the unit at whose level
/// the line counts: the person (in their team), the team's leader, the section's head and the
/// leadership's head, as far as the organisation names them. A level whose unit or head is
/// missing is left out; a person who is also a leader answers at both levels.
pub fn chain(
    person: &str,
    team_id: Option<&str>,
    units: &[Unit],
) -> Vec<(Level, Option<String>, String)> {
    let find = |id: Option<&str>| id.and_then(|id| units.iter().find(|u| u.id == id));
    let team = find(team_id);
    let mut out = vec![(
        Level::Person,
        team.map(|t| t.id.clone()),
        person.to_string(),
    )];
    let section = team.and_then(|t| find(t.parent_id.as_deref()));
    let leadership = section.and_then(|s| find(s.parent_id.as_deref()));
    for (level, unit) in [
        (Level::TeamLeader, team),
        (Level::SectionHead, section),
        (Level::Leadership, leadership),
    ] {
        if let Some(u) = unit {
            if let Some(head) = &u.head_user_id {
                out.push((level, Some(u.id.clone()), head.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, kind: UnitKind, parent: Option<&str>, head: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            kind,
            parent_id: parent.map(Into::into),
            head_user_id: head.map(Into::into),
        }
    }

    #[test]
    fn kinds_nest_team_section_leadership() {
        assert!(check_parent(UnitKind::Team, Some(UnitKind::Section)).is_ok());
        assert!(check_parent(UnitKind::Hall, Some(UnitKind::Section)).is_ok());
        assert!(check_parent(UnitKind::Section, Some(UnitKind::Leadership)).is_ok());
        assert!(check_parent(UnitKind::Team, None).is_ok());
        assert_eq!(
            check_parent(UnitKind::Team, Some(UnitKind::Leadership))
                .unwrap_err()
                .message,
            "a team sits under a section, not a leadership"
        );
        assert!(check_parent(UnitKind::Leadership, Some(UnitKind::Section)).is_err());
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse("kind", k.as_str()), Ok(k));
        }
        assert!(UnitKind::parse("kind", "squad").is_err());
    }

    #[test]
    fn a_complaint_climbs_to_the_leadership() {
        let units = [
            unit("lead", UnitKind::Leadership, None, Some("gm")),
            unit("sec", UnitKind::Section, Some("lead"), Some("head")),
            unit("team", UnitKind::Team, Some("sec"), Some("leader")),
        ];
        assert_eq!(
            chain("tech", Some("team"), &units),
            vec![
                (Level::Person, Some("team".into()), "tech".into()),
                (Level::TeamLeader, Some("team".into()), "leader".into()),
                (Level::SectionHead, Some("sec".into()), "head".into()),
                (Level::Leadership, Some("lead".into()), "gm".into()),
            ]
        );
        // No team: the person alone. A section without a head: that level is left out.
        assert_eq!(
            chain("tech", None, &units),
            vec![(Level::Person, None, "tech".into())]
        );
        let headless = [
            unit("lead", UnitKind::Leadership, None, Some("gm")),
            unit("sec", UnitKind::Section, Some("lead"), None),
            unit("team", UnitKind::Team, Some("sec"), Some("leader")),
        ];
        let levels: Vec<Level> = chain("tech", Some("team"), &headless)
            .into_iter()
            .map(|(l, ..)| l)
            .collect();
        assert_eq!(
            levels,
            vec![Level::Person, Level::TeamLeader, Level::Leadership]
        );
    }
}
