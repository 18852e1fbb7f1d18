//! SLA clocks of the repair-upon-report regime (seed 001, section 3), as pure functions of a
//! ticket's stored timestamps:
//!
//! - **dispatch**: the new ticket is pushed to the on-duty staff (accepted by the SMS gateway)
//!   within 3 minutes of being recorded;
//! - **contact**: the technician contacts the customer and agrees an appointment within 20
//!   minutes of being assigned (the *acknowledgement*); a breach escalates step by step;
//! - **arrival**: the technician checks in on site by the appointment (plus a grace period);
//! - **resolve**: the work is done by the promised time, which only a customer-requested
//!   postponement moves.
//!
//! Each stage's outcome (on time or late) is recorded once, when it becomes known, and never
//! recomputed: scores read the stored outcomes.

use chrono::{DateTime, Duration, Utc};

use super::calendar::BusinessCalendar;
use super::scoring::Metric;
use super::ticket::{Status, TicketKind};

/// The four stages of a ticket's life that the regime times, in the order they happen. Each has
/// a deadline, a moment it is done and an outcome recorded once ([`StageClock`]); each feeds a
/// report metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Pushed to the on-duty staff (accepted by the SMS gateway).
    Dispatch,
    /// The customer contacted and an appointment agreed (the acknowledgement).
    Contact,
    /// On site by the appointment.
    Arrival,
    /// Done by the promise.
    Resolve,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Dispatch,
        Stage::Contact,
        Stage::Arrival,
        Stage::Resolve,
    ];

    /// The stage's name in the API and the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dispatch => "dispatch",
            Stage::Contact => "contact",
            Stage::Arrival => "arrival",
            Stage::Resolve => "resolve",
        }
    }

    /// Whether the stage's outcome counts in the month the ticket was finished; otherwise in the
    /// month it was recorded.
    pub fn counted_when_finished(self) -> bool {
        self == Stage::Resolve
    }

    /// The report metric the stage's outcome feeds, for a kind of work.
    pub fn metric(self, kind: TicketKind) -> Metric {
        match (self, kind) {
            (Stage::Dispatch, _) => Metric::Dispatch,
            (Stage::Contact, _) => Metric::Contact,
            (Stage::Arrival, _) => Metric::Arrival,
            (Stage::Resolve, TicketKind::Repair) => Metric::Repair,
            (Stage::Resolve, TicketKind::Install) => Metric::Install,
        }
    }

    /// The stage a metric counts, if it counts one (the callback metrics do not).
    pub fn of_metric(m: Metric) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|s| TicketKind::ALL.iter().any(|k| s.metric(*k) == m))
    }
}

/// One stage of one ticket: when it was due, when it was done, and its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageClock {
    pub due: Option<DateTime<Utc>>,
    pub done: Option<DateTime<Utc>>,
    /// Recorded once, when known: at the action, or late once the deadline passed.
    pub on_time: Option<bool>,
}

impl StageClock {
    /// Done at `at`: the first time counts, and the outcome is recorded unless already known.
    pub fn settle(&mut self, at: DateTime<Utc>) {
        self.done.get_or_insert(at);
        if self.on_time.is_none() {
            self.on_time = self.due.map(|due| on_time(at, due));
        }
    }

    /// Done at `at`, a time the technician's phone proved after the server had already
    /// recorded the deadline as missed (it did not know of the action): that miss yields.
    pub fn settle_as_of(&mut self, at: DateTime<Utc>) {
        if self.done.is_none() {
            if let Some(due) = self.due {
                self.on_time = Some(on_time(at, due));
            }
        }
        self.settle(at);
    }

    /// The deadline passed undone: late, unless the outcome is already known.
    pub fn miss(&mut self) {
        self.on_time.get_or_insert(false);
    }

    /// The outcome as the API names it: `on_time`, `late`, or none while undecided.
    pub fn outcome(&self) -> Option<&'static str> {
        self.on_time
            .map(|on_time| if on_time { "on_time" } else { "late" })
    }
}

/// The time limits. Defaults are the seed's: 3 minutes, 20 minutes, steps 10 minutes apart.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    pub dispatch: Duration,
    pub acknowledge: Duration,
    pub arrival_grace: Duration,
    /// Time between escalation steps after a missed acknowledgement.
    pub escalation_interval: Duration,
    pub promise_repair: Duration,
    pub promise_install: Duration,
    /// When set, deadlines count working time in this calendar (local time zone) only.
    pub calendar: Option<(BusinessCalendar, chrono_tz::Tz)>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            dispatch: Duration::minutes(3),
            acknowledge: Duration::minutes(20),
            arrival_grace: Duration::minutes(10),
            escalation_interval: Duration::minutes(10),
            promise_repair: Duration::hours(24),
            promise_install: Duration::hours(72),
            calendar: None,
        }
    }
}

impl SlaPolicy {
    /// `amount` after `start`: wall-clock time, or working time under a calendar.
    pub fn after(&self, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        match &self.calendar {
            None => start + amount,
            Some((cal, tz)) => cal.add(*tz, start, amount),
        }
    }

    /// The default promise for a kind of work, from the moment it was recorded.
    pub fn promise(&self, kind: TicketKind) -> Duration {
        match kind {
            TicketKind::Repair => self.promise_repair,
            TicketKind::Install => self.promise_install,
        }
    }
}

/// What happens after a missed acknowledgement, one step per escalation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationStep {
    /// At the holder's contact deadline: remind the technician and tell the region's account
    /// manager.
    Renotify,
    /// One interval later: give the ticket to the next on-duty technician (with a contact clock
    /// of their own), or to the dispatcher queue when there is none.
    Reassign,
    /// One interval after the second holder's deadline (or after the ticket went to the
    /// dispatcher queue): tell the region's managers.
    NotifyManager,
}

impl EscalationStep {
    /// The step that follows `level` steps already taken, and how many escalation intervals
    /// after the current holder's contact deadline it is due. The ladder: remind the first holder
    /// (level 1), reassign (2), remind the new holder at their own deadline (3), tell the
    /// managers (4). A ticket that went to the dispatcher queue skips level 3.
    pub fn after(level: i32) -> Option<(EscalationStep, i32)> {
        match level {
            0 => Some((EscalationStep::Renotify, 0)),
            1 => Some((EscalationStep::Reassign, 1)),
            2 => Some((EscalationStep::Renotify, 0)),
            3 => Some((EscalationStep::NotifyManager, 1)),
            _ => None,
        }
    }
}

/// The highest escalation level: the managers were told.
pub const LAST_LEVEL: i32 = 4;

/// A deadline the engine watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing pushed to the on-duty staff by the dispatch deadline.
    Dispatch,
    /// No acknowledgement by the deadline: the next escalation step.
    Escalation(EscalationStep),
    /// Not on site by the appointment plus grace.
    Arrival,
    /// Not resolved by the promise.
    Resolve,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Dispatch => "dispatch",
            Check::Escalation(EscalationStep::Renotify) => "escalation_renotify",
            Check::Escalation(EscalationStep::Reassign) => "escalation_reassign",
            Check::Escalation(EscalationStep::NotifyManager) => "escalation_manager",
            Check::Arrival => "arrival",
            Check::Resolve => "resolve",
        }
    }
}

/// The clock-relevant part of a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Clocks {
    pub status: Status,
    pub dispatch_due_at: DateTime<Utc>,
    pub dispatch_on_time: Option<bool>,
    /// Contact deadline of the current assignment: every holder (after a dispatcher's or the
    /// engine's reassignment) has their own.
    pub assignment_ack_due_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub arrival_due_at: Option<DateTime<Utc>>,
    pub arrival_on_time: Option<bool>,
    pub promised_at: DateTime<Utc>,
    pub resolve_on_time: Option<bool>,
    /// Linked to a network fault: the fault's events settle its stages, and no check runs per
    /// ticket (no escalation ladder for one call among hundreds).
    pub linked: bool,
}

/// Every deadline still ahead of the ticket, earliest first.
pub fn pending_checks(c: &Clocks, policy: &SlaPolicy) -> Vec<(DateTime<Utc>, Check)> {
    let mut out = Vec::new();
    if c.status == Status::Cancelled || c.linked {
        return out;
    }
    if c.dispatch_on_time.is_none() {
        out.push((c.dispatch_due_at, Check::Dispatch));
    }
    // Waiting for contact: with an assignee, or back in the dispatcher queue after one failed.
    if matches!(c.status, Status::Dispatched | Status::New) {
        if let (Some(due), Some((step, intervals))) = (
            c.assignment_ack_due_at,
            EscalationStep::after(c.escalation_level),
        ) {
            out.push((
                due + policy.escalation_interval * intervals,
                Check::Escalation(step),
            ));
        }
    }
    if c.status == Status::Acknowledged && c.arrival_on_time.is_none() {
        if let Some(due) = c.arrival_due_at {
            out.push((due, Check::Arrival));
        }
    }
    // A postponed ticket waits for the customer: nothing fires until it moves again.
    let working = matches!(
        c.status,
        Status::New | Status::Dispatched | Status::Acknowledged | Status::OnSite
    );
    if working && c.resolve_on_time.is_none() {
        out.push((c.promised_at, Check::Resolve));
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// The next moment the engine must look at this ticket.
pub fn next_deadline(c: &Clocks, policy: &SlaPolicy) -> Option<DateTime<Utc>> {
    pending_checks(c, policy).first().map(|(at, _)| *at)
}

/// The earliest check that is due at `now`: one whose deadline has passed. An action at the
/// deadline instant itself is on time ([`on_time`]), so nothing fires at that instant. Apply
/// the checks one at a time: each changes the clocks (an outcome recorded, a level raised),
/// which changes what is due next.
pub fn due_check(
    c: &Clocks,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Check)> {
    pending_checks(c, policy)
        .into_iter()
        .find(|(at, _)| *at < now)
}

/// On time if `done` is no later than `due`.
pub fn on_time(done: DateTime<Utc>, due: DateTime<Utc>) -> bool {
    done <= due
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timed_metric_has_its_stage() {
        for m in Metric::ALL {
            let stage = Stage::of_metric(m);
            let timed = !matches!(m, Metric::CallbackCoverage | Metric::Satisfaction);
            assert_eq!(stage.is_some(), timed, "{m:?}");
        }
        assert_eq!(Stage::of_metric(Metric::Install), Some(Stage::Resolve));
        assert_eq!(Stage::Resolve.metric(TicketKind::Install), Metric::Install);
    }

    #[test]
    fn a_stage_settles_once() {
        let due = "2026-11-22T08:20:00Z".parse().unwrap();
        let mut c = StageClock {
            due: Some(due),
            done: None,
            on_time: None,
        };
        c.settle(due);
        assert_eq!((c.done, c.outcome()), (Some(due), Some("on_time")));
        c.settle(due + Duration::hours(1));
        assert_eq!(c.done, Some(due), "the first time counts");
        let mut late = StageClock {
            due: Some(due),
            done: None,
            on_time: None,
        };
        late.miss();
        late.settle(due + Duration::minutes(1));
        assert_eq!(late.outcome(), Some("late"));
    }

    fn t(min: i64) -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
    }

    #[test]
    fn a_proven_earlier_action_overrides_a_miss_but_not_a_late_settle() {
        let missed = || StageClock {
            due: Some(t(20)),
            done: None,
            on_time: Some(false),
        };
        let mut c = missed();
        c.settle_as_of(t(18));
        assert_eq!((c.done, c.on_time), (Some(t(18)), Some(true)));
        let mut c = missed();
        c.settle(t(18));
        assert_eq!(
            c.on_time,
            Some(false),
            "a receipt-timed settle keeps the miss"
        );
        let mut c = missed();
        c.settle_as_of(t(22));
        assert_eq!(
            c.on_time,
            Some(false),
            "done after the deadline is late anyway"
        );
        let mut done = StageClock {
            due: Some(t(20)),
            done: Some(t(25)),
            on_time: Some(false),
        };
        done.settle_as_of(t(18));
        assert_eq!(
            (done.done, done.on_time),
            (Some(t(25)), Some(false)),
            "the first settle stands"
        );
    }

    fn fresh() -> Clocks {
        let p = SlaPolicy::default();
        Clocks {
            status: Status::Dispatched,
            dispatch_due_at: t(3),
            dispatch_on_time: None,
            assignment_ack_due_at: Some(t(20)),
            escalation_level: 0,
            arrival_due_at: None,
            arrival_on_time: None,
            promised_at: t(0) + p.promise_repair,
            resolve_on_time: None,
            linked: false,
        }
    }

    #[test]
    fn a_linked_ticket_runs_no_check_of_its_own() {
        let p = SlaPolicy::default();
        let c = Clocks {
            linked: true,
            ..fresh()
        };
        assert!(pending_checks(&c, &p).is_empty());
        assert_eq!(next_deadline(&c, &p), None);
        assert!(!pending_checks(&fresh(), &p).is_empty());
    }

    #[test]
    fn a_fresh_ticket_waits_for_the_push_first() {
        let p = SlaPolicy::default();
        let c = fresh();
        assert_eq!(next_deadline(&c, &p), Some(t(3)));
        assert_eq!(due_check(&c, &p, t(2)), None);
        assert_eq!(
            due_check(&c, &p, t(3)),
            None,
            "at the deadline: still on time"
        );
        let just_after = t(3) + Duration::milliseconds(1);
        assert_eq!(due_check(&c, &p, just_after), Some((t(3), Check::Dispatch)));
    }

    fn after(min: i64) -> DateTime<Utc> {
        t(min) + Duration::seconds(1)
    }

    #[test]
    fn escalation_ladder_gives_each_holder_their_own_deadline() {
        let p = SlaPolicy::default();
        let mut c = fresh();
        c.dispatch_on_time = Some(true);
        assert_eq!(due_check(&c, &p, t(20)), None);
        assert_eq!(
            due_check(&c, &p, after(20)),
            Some((t(20), Check::Escalation(EscalationStep::Renotify)))
        );
        c.escalation_level = 1;
        assert_eq!(next_deadline(&c, &p), Some(t(30)));
        assert_eq!(
            due_check(&c, &p, after(30)).unwrap().1,
            Check::Escalation(EscalationStep::Reassign)
        );
        // Reassigned at +30: the new holder has 20 minutes of their own.
        c.escalation_level = 2;
        c.assignment_ack_due_at = Some(t(50));
        assert_eq!(due_check(&c, &p, after(49)), None);
        assert_eq!(
            due_check(&c, &p, after(50)),
            Some((t(50), Check::Escalation(EscalationStep::Renotify)))
        );
        c.escalation_level = 3;
        assert_eq!(
            due_check(&c, &p, after(60)),
            Some((t(60), Check::Escalation(EscalationStep::NotifyManager)))
        );
        c.escalation_level = LAST_LEVEL;
        assert_eq!(
            next_deadline(&c, &p),
            Some(c.promised_at),
            "only the promise remains"
        );
    }

    #[test]
    fn catching_up_after_downtime_applies_steps_in_order() {
        let p = SlaPolicy::default();
        let mut c = fresh();
        // The server was down from minute 1 to minute 45: everything is due at once.
        let mut applied = vec![];
        while let Some((at, check)) = due_check(&c, &p, t(45)) {
            applied.push((at, check));
            match check {
                Check::Dispatch => c.dispatch_on_time = Some(false),
                Check::Escalation(EscalationStep::Reassign) => {
                    // Reassigned when applied, at minute 45: the new holder's own 20 minutes.
                    c.escalation_level += 1;
                    c.assignment_ack_due_at = Some(t(65));
                }
                Check::Escalation(_) => c.escalation_level += 1,
                _ => unreachable!(),
            }
        }
        assert_eq!(
            applied,
            [
                (t(3), Check::Dispatch),
                (t(20), Check::Escalation(EscalationStep::Renotify)),
                (t(30), Check::Escalation(EscalationStep::Reassign)),
            ]
        );
        assert_eq!(next_deadline(&c, &p), Some(t(65)));
    }

    #[test]
    fn acknowledged_tickets_watch_arrival_and_promise() {
        let p = SlaPolicy::default();
        let mut c = fresh();
        c.dispatch_on_time = Some(true);
        c.status = Status::Acknowledged;
        c.arrival_due_at = Some(t(130));
        assert_eq!(
            pending_checks(&c, &p),
            vec![(t(130), Check::Arrival), (c.promised_at, Check::Resolve)]
        );
        c.status = Status::OnSite;
        assert_eq!(
            pending_checks(&c, &p),
            vec![(c.promised_at, Check::Resolve)]
        );
    }

    #[test]
    fn postponed_tickets_never_escalate() {
        let p = SlaPolicy::default();
        let mut c = fresh();
        c.dispatch_on_time = Some(true);
        c.status = Status::Postponed;
        c.arrival_due_at = Some(t(30));
        assert!(pending_checks(&c, &p).is_empty());
        c.status = Status::Cancelled;
        c.dispatch_on_time = None;
        assert!(pending_checks(&c, &p).is_empty());
    }

    #[test]
    fn on_time_is_inclusive() {
        assert!(on_time(t(20), t(20)));
        assert!(!on_time(t(20) + Duration::seconds(1), t(20)));
    }
}
