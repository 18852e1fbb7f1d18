//! Cable-cut storms: when a trunk cable is cut, hundreds of customers of one district call within
//! minutes about the same network fault. These rules say when calls add up to a suspected
//! fault, which new calls a fault explains, when the on-duty staff are told again (a digest,
//! never one SMS per call), and how a linked ticket's stages are settled by the fault's own
//! events so that a storm neither drowns a district's timeliness nor hides a late restoration.

use chrono::{DateTime, Duration, Utc};

use super::routing::distance_m;
use super::Invalid;

/// When calls make a suspected network fault, and which calls a fault explains.
#[derive(Debug, Clone, PartialEq)]
pub struct StormRule {
    /// This many matching calls ...
    pub calls: usize,
    /// ... within this long raise a suspected fault.
    pub window: Duration,
    /// Calls this close count together even across a district border (metres).
    pub radius_m: f64,
    /// A suspected fault confirms itself at this many calls (None: a dispatcher confirms).
    pub auto_confirm_at: Option<usize>,
    /// Fault categories a network fault explains (no signal, mosaic, no internet ...); other
    /// faults (a broken remote) are never grouped.
    pub categories: Vec<String>,
    /// The on-duty staff hear of new linked calls at most this often.
    pub digest_every: Duration,
}

impl Default for StormRule {
    fn default() -> Self {
        StormRule {
            calls: 10,
            window: Duration::minutes(15),
            radius_m: 1_000.0,
            auto_confirm_at: None,
            categories: ["无信号", "花屏", "马赛克", "断网", "光缆中断", "no_signal"]
                .map(String::from)
                .to_vec(),
            digest_every: Duration::minutes(10),
        }
    }
}

impl StormRule {
    /// Checks a rule as configured: at least 2 calls, a window of 1 minute to 24 hours, a
    /// radius up to 50 km, an automatic confirmation not below the suspicion threshold.
    pub fn check(self) -> Result<Self, Invalid> {
        if self.calls < 2 {
            return Err(Invalid::new("calls", "must be at least 2"));
        }
        if self.window < Duration::minutes(1) || self.window > Duration::hours(24) {
            return Err(Invalid::new("window", "must be from 1 minute to 24 hours"));
        }
        if !(0.0..=50_000.0).contains(&self.radius_m) {
            return Err(Invalid::new("radius_m", "must be from 0 to 50000"));
        }
        if self.auto_confirm_at.is_some_and(|n| n < self.calls) {
            return Err(Invalid::new(
                "auto_confirm_at",
                "must not be below the number of calls that raise a suspicion",
            ));
        }
        if self.digest_every < Duration::minutes(1) {
            return Err(Invalid::new("digest_every", "must be at least 1 minute"));
        }
        Ok(self)
    }

    /// Whether a network fault could explain a fault of this category.
    pub fn explains(&self, category: &str) -> bool {
        let c = category.trim();
        self.categories.iter().any(|x| x == c)
    }
}

/// A call as the storm rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub at: DateTime<Utc>,
    pub district_id: Option<String>,
    /// (lat, lon), WGS-84.
    pub point: Option<(f64, f64)>,
    pub category: String,
}

impl Call {
    /// Whether two calls are close enough to share a cause: the same district, or points within
    /// the radius.
    fn near(&self, other: &Call, radius_m: f64) -> bool {
        let same_district = self.district_id.is_some() && self.district_id == other.district_id;
        let close = match (self.point, other.point) {
            (Some(a), Some(b)) => distance_m(a, b) <= radius_m,
            _ => false,
        };
        same_district || close
    }
}

/// The recent calls that, with `new`, make a suspected fault: indices into `recent` of the
/// calls a network fault explains, near `new` and within the window before it, when there are
/// enough of them (counting `new`). None when the calls do not add up (yet).
pub fn suspect(rule: &StormRule, recent: &[Call], new: &Call) -> Option<Vec<usize>> {
    if !rule.explains(&new.category) {
        return None;
    }
    let since = new.at - rule.window;
    let cluster: Vec<usize> = recent
        .iter()
        .enumerate()
        .filter(|(_, c)| c.at >= since && c.at <= new.at)
        .filter(|(_, c)| rule.explains(&c.category) && c.near(new, rule.radius_m))
        .map(|(i, _)| i)
        .collect();
    (cluster.len() + 1 >= rule.calls).then_some(cluster)
}

/// The area an open fault covers: its district, and a circle for calls across the border.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub district_id: Option<String>,
    /// Centre (lat, lon) and radius in metres.
    pub circle: Option<((f64, f64), f64)>,
}

impl Area {
    /// Whether a fault over this area explains `call` (its category, its place).
    pub fn covers(&self, rule: &StormRule, call: &Call) -> bool {
        if !rule.explains(&call.category) {
            return false;
        }
        let in_district = self.district_id.is_some() && self.district_id == call.district_id;
        let in_circle = match (self.circle, call.point) {
            (Some((centre, r)), Some(p)) => distance_m(centre, p) <= r,
            _ => false,
        };
        in_district || in_circle
    }
}

/// Where a network fault stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    /// Calls add up; a dispatcher has not confirmed it yet. New matching calls are linked.
    Suspected,
    /// A known fault: a crew is on it, customers are told.
    Confirmed,
    /// Service is back; linked tickets are resolved.
    Restored,
    /// Not a network fault after all: linked tickets go back to ordinary routing.
    Dismissed,
}

impl FaultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultStatus::Suspected => "suspected",
            FaultStatus::Confirmed => "confirmed",
            FaultStatus::Restored => "restored",
            FaultStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        [
            FaultStatus::Suspected,
            FaultStatus::Confirmed,
            FaultStatus::Restored,
            FaultStatus::Dismissed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| Invalid::new(field, format!("`{s}` is not a network fault status")))
    }

    /// Still gathering calls.
    pub fn is_open(self) -> bool {
        matches!(self, FaultStatus::Suspected | FaultStatus::Confirmed)
    }
}

super::stored_as_text!(FaultStatus => "status");

/// Why a network fault was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Calls added up (the storm rule).
    Detected,
    /// A dispatcher opened it for a known outage.
    Reported,
    /// Planned maintenance, with its window.
    Planned,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Detected => "detected",
            Cause::Reported => "reported",
            Cause::Planned => "planned",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        [Cause::Detected, Cause::Reported, Cause::Planned]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not reported or planned")))
    }
}

/// What a dispatcher may do to a fault in `status`: confirm a suspicion; estimate, link,
/// restore while it is open; dismiss a suspicion or a confirmed fault that was none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    Confirm,
    Estimate,
    Link,
    Unlink,
    Restore,
    Dismiss,
    AssignCrew,
    AcknowledgeCrew,
}

impl FaultAction {
    pub const ALL: [FaultAction; 8] = [
        FaultAction::Confirm,
        FaultAction::Estimate,
        FaultAction::Link,
        FaultAction::Unlink,
        FaultAction::Restore,
        FaultAction::Dismiss,
        FaultAction::AssignCrew,
        FaultAction::AcknowledgeCrew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultAction::Confirm => "confirm",
            FaultAction::Estimate => "estimate",
            FaultAction::Link => "link",
            FaultAction::Unlink => "unlink",
            FaultAction::Restore => "restore",
            FaultAction::Dismiss => "dismiss",
            FaultAction::AssignCrew => "assign a crew to",
            FaultAction::AcknowledgeCrew => "acknowledge",
        }
    }

    /// Whether the action is allowed in `status`, and the status it leads to.
    pub fn apply(self, status: FaultStatus) -> Option<FaultStatus> {
        use FaultStatus::*;
        match (self, status) {
            (FaultAction::Confirm, Suspected) => Some(Confirmed),
            (
                FaultAction::Estimate
                | FaultAction::Link
                | FaultAction::Unlink
                | FaultAction::AssignCrew
                | FaultAction::AcknowledgeCrew,
                s,
            ) if s.is_open() => Some(s),
            (FaultAction::Restore, s) if s.is_open() => Some(Restored),
            (FaultAction::Dismiss, s) if s.is_open() => Some(Dismissed),
            _ => None,
        }
    }
}

/// Whether the on-duty staff get a digest now: new calls were linked since the last message,
/// and the last message is at least the digest interval old.
pub fn digest_due(
    rule: &StormRule,
    last_sent: Option<DateTime<Utc>>,
    linked_since: usize,
    now: DateTime<Utc>,
) -> bool {
    linked_since > 0 && last_sent.is_none_or(|at| now - at >= rule.digest_every)
}

/// How a linked ticket's stages are settled by its fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkedStages {
    /// Dispatch: when the fault's push to the staff went out (or the call, if later).
    pub dispatched_at: Option<DateTime<Utc>>,
    /// Contact: when the customer's notice that the fault is known was accepted.
    pub contacted_at: Option<DateTime<Utc>>,
    /// Resolution: when service was restored, judged against the fault's promise.
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolve_on_time: Option<bool>,
}

/// A linked ticket's stages from its own call time and its fault's events.
pub fn linked_stages(
    called_at: DateTime<Utc>,
    fault_pushed_at: Option<DateTime<Utc>>,
    notice_accepted_at: Option<DateTime<Utc>>,
    restored_at: Option<DateTime<Utc>>,
    fault_promised_at: DateTime<Utc>,
) -> LinkedStages {
    LinkedStages {
        dispatched_at: fault_pushed_at.map(|p| p.max(called_at)),
        contacted_at: notice_accepted_at.map(|n| n.max(called_at)),
        resolved_at: restored_at.map(|r| r.max(called_at)),
        resolve_on_time: restored_at.map(|r| r <= fault_promised_at),
    }
}

/// A caller's answer to "service is back, reply 1 if it still does not work": Some(true) when
/// it still does not work, Some(false) when they say it works, None when it cannot be told.
pub fn still_broken(text: &str) -> Option<bool> {
    let t: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !"。.!！，,".contains(*c))
        .collect::<String>()
        .to_lowercase();
    const BROKEN: [&str; 9] = [
        "1",
        "未恢复",
        "没恢复",
        "没有恢复",
        "还是不行",
        "不能用",
        "没好",
        "仍无法",
        "still",
    ];
    const FIXED: [&str; 5] = ["2", "已恢复", "恢复了", "好了", "ok"];
    if BROKEN
        .iter()
        .any(|w| t == *w || (w.chars().count() > 1 && t.contains(w)))
    {
        Some(true)
    } else if FIXED
        .iter()
        .any(|w| t == *w || (w.chars().count() > 1 && t.contains(w)))
    {
        Some(false)
    } else {
        None
    }
}

/// Whether a technician's SMS acknowledges the network fault their crew was given: `Q`, `收到`
/// or `确认` (any case, full-width letters too).
pub fn crew_acknowledges(text: &str) -> bool {
    let t: String = text
        .trim()
        .chars()
        .map(|c| match c {
            'Ｑ' => 'Q',
            'ｑ' => 'q',
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !"。.!！".contains(*c))
        .collect();
    ["q", "收到", "确认", "确认接单"].contains(&t.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crew_lead_acknowledges_by_sms() {
        for yes in ["Q", " q ", "Ｑ", "收到", "确认。"] {
            assert!(crew_acknowledges(yes), "{yes}");
        }
        for no in ["A 1430", "QQ", "", "收到了吗"] {
            assert!(!crew_acknowledges(no), "{no}");
        }
    }

    #[test]
    fn a_caller_says_whether_service_is_back() {
        for yes in ["1", " １ ", "还是不行", "网络没恢复。", "Still broken"] {
            assert_eq!(still_broken(yes), Some(true), "{yes}");
        }
        for no in ["2", "已恢复，谢谢", "好了", "OK"] {
            assert_eq!(still_broken(no), Some(false), "{no}");
        }
        for unclear in ["", "12", "什么时候来", "3"] {
            assert_eq!(still_broken(unclear), None, "{unclear}");
        }
    }

    #[test]
    fn a_finished_fault_takes_no_action() {
        use FaultAction::*;
        assert_eq!(
            Confirm.apply(FaultStatus::Suspected),
            Some(FaultStatus::Confirmed)
        );
        assert_eq!(Confirm.apply(FaultStatus::Confirmed), None);
        assert_eq!(
            Restore.apply(FaultStatus::Suspected),
            Some(FaultStatus::Restored)
        );
        for a in FaultAction::ALL {
            assert_eq!(a.apply(FaultStatus::Restored), None, "{a:?}");
            assert_eq!(a.apply(FaultStatus::Dismissed), None, "{a:?}");
        }
        assert_eq!(
            FaultStatus::try_from("confirmed".to_string()).unwrap(),
            FaultStatus::Confirmed
        );
        assert!(Cause::parse("cause", "detected").is_ok());
        assert!(Cause::parse("cause", "storm").is_err());
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn call(min: i64, district: &str, point: (f64, f64), category: &str) -> Call {
        Call {
            at: t0() + Duration::minutes(min),
            district_id: Some(district.into()),
            point: Some(point),
            category: category.into(),
        }
    }

    #[test]
    fn ten_calls_in_fifteen_minutes_raise_a_suspicion() {
        let rule = StormRule::default();
        let recent: Vec<Call> = (0..8)
            .map(|i| call(i, "D1", (31.87, 120.55), "无信号"))
            .collect();
        let ninth = call(9, "D1", (31.871, 120.551), "无信号");
        assert_eq!(
            suspect(&rule, &recent, &ninth),
            None,
            "nine calls are not enough"
        );
        let mut recent = recent;
        recent.push(ninth);
        let tenth = call(10, "D1", (31.872, 120.552), "花屏");
        assert_eq!(suspect(&rule, &recent, &tenth).unwrap().len(), 9);
    }

    #[test]
    fn old_calls_other_faults_and_far_districts_do_not_count() {
        let rule = StormRule::default();
        let mut recent: Vec<Call> = (0..5)
            .map(|i| call(i - 40, "D1", (31.87, 120.55), "无信号"))
            .collect();
        recent.extend((0..5).map(|i| call(i, "D1", (31.87, 120.55), "遥控器坏")));
        recent.extend((0..5).map(|i| call(i, "D9", (31.99, 120.70), "无信号")));
        let new = call(10, "D1", (31.87, 120.55), "无信号");
        assert_eq!(suspect(&rule, &recent, &new), None);
        // A neighbour across the border within the radius counts.
        let across: Vec<Call> = (0..9)
            .map(|i| call(i, "D2", (31.874, 120.55), "无信号"))
            .collect();
        assert_eq!(suspect(&rule, &across, &new).unwrap().len(), 9);
        // A call of a fault a network cannot cause raises nothing.
        let remote = call(10, "D1", (31.87, 120.55), "遥控器坏");
        assert_eq!(suspect(&rule, &across, &remote), None);
    }

    #[test]
    fn an_area_covers_its_district_and_its_circle() {
        let rule = StormRule::default();
        let area = Area {
            district_id: Some("D1".into()),
            circle: Some(((31.87, 120.55), 500.0)),
        };
        assert!(area.covers(&rule, &call(0, "D1", (32.5, 121.0), "无信号")));
        assert!(area.covers(&rule, &call(0, "D2", (31.872, 120.55), "断网")));
        assert!(!area.covers(&rule, &call(0, "D2", (31.88, 120.55), "断网")));
        assert!(!area.covers(&rule, &call(0, "D1", (31.87, 120.55), "遥控器坏")));
    }

    #[test]
    fn the_staff_hear_at_most_once_per_interval() {
        let rule = StormRule::default();
        let now = t0();
        assert!(digest_due(&rule, None, 1, now));
        assert!(!digest_due(&rule, None, 0, now));
        assert!(!digest_due(
            &rule,
            Some(now - Duration::minutes(9)),
            40,
            now
        ));
        assert!(digest_due(
            &rule,
            Some(now - Duration::minutes(10)),
            40,
            now
        ));
    }

    #[test]
    fn a_linked_ticket_is_settled_by_its_fault() {
        let called = t0() + Duration::minutes(5);
        let promise = t0() + Duration::hours(4);
        let s = linked_stages(
            called,
            Some(t0() + Duration::minutes(2)),
            Some(t0() + Duration::minutes(6)),
            Some(t0() + Duration::hours(5)),
            promise,
        );
        assert_eq!(
            s.dispatched_at,
            Some(called),
            "pushed before the call: at the call"
        );
        assert_eq!(s.contacted_at, Some(t0() + Duration::minutes(6)));
        assert_eq!(
            s.resolve_on_time,
            Some(false),
            "restored after the fault's promise"
        );
        let open = linked_stages(called, None, None, None, promise);
        assert_eq!(open.resolved_at, None);
        assert_eq!(open.resolve_on_time, None);
    }

    #[test]
    fn rules_are_checked() {
        assert!(StormRule::default().check().is_ok());
        let bad = StormRule {
            calls: 1,
            ..StormRule::default()
        };
        assert_eq!(bad.check().unwrap_err().field, "calls");
        let bad = StormRule {
            auto_confirm_at: Some(5),
            ..StormRule::default()
        };
        assert_eq!(bad.check().unwrap_err().field, "auto_confirm_at");
        assert_eq!(
            FaultStatus::parse("s", "confirmed").unwrap(),
            FaultStatus::Confirmed
        );
        assert!(FaultStatus::parse("s", "gone").is_err());
        assert!(FaultStatus::Suspected.is_open() && !FaultStatus::Restored.is_open());
    }
}
