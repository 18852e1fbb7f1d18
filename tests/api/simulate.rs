//! `fixline simulate` against a real server: a small day with a storm, grouped into a network
//! fault, whose own counts must equal the server's monthly report.

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};

async fn a_simulated_day_matches_the_report(backend: Backend) {
    // The storm groups into a network fault at its tenth call.
    let app = TestApp::spawn_with_env(backend, &[("FIXLINE_STORM_CALLS", "10".into())]).await;
    let options = fixline::simulate::Options {
        url: app.base.clone(),
        password: PASSWORD.into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
        calls: 24,
        storm_calls: 16,
        storm_minutes: 5,
        storm_district: "ZJG-C-02".into(),
        install_pct: 20,
        late_contact_pct: 20,
        late_arrival_pct: 20,
        late_resolve_pct: 10,
        postpone_pct: 10,
        unreachable_pct: 20,
        unsatisfied_pct: 20,
        seed: 7,
        tz: app.state.config.tz,
    };
    let summary = fixline::simulate::run(&options)
        .await
        .expect("simulation runs");
    assert!(summary.tickets >= 30, "{summary:?}");
    assert!(summary.resolved >= summary.tickets, "{summary:?}");
    assert!(summary.callbacks > 0, "{summary:?}");
    assert_eq!(summary.faults, 1, "{summary:?}");
    assert!(summary.linked >= 16, "every storm call: {summary:?}");
    assert!(summary.mismatches.is_empty(), "{:#?}", summary.mismatches);
}

both!(a_simulated_day_matches_the_report);
