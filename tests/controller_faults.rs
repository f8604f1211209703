//! The controller under faults: stopped after any Route 53 call and restarted,
//! storms of transient failures, changes made behind its back, and two
//! replicas at once. After each, Route 53 converges to exactly what the specs
//! ask for: no leaked or duplicated health check, no orphaned record, nothing
//! unowned touched.

mod support;

use dnsfailover::api::FailoverRecordSpec;
use dnsfailover::controller::Settings;
use dnsfailover::core::report::Category;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{ErrorKind, Failover, HealthCheckKind, RecordSet, Route53, RrType};
use support::cluster::{self, Harness, NS, SPEC, path, storm};

const NAME: &str = "examplefailover";

/// Route 53 holds exactly one pair, one marker and one health check with the
/// wanted settings, and the PRIMARY uses that check.
fn assert_exactly_one_pair(fake: &FakeRoute53, zone_id: &str, interval: i32, threshold: i32) {
    let checks = fake.health_checks();
    assert_eq!(checks.len(), 1, "exactly one health check: {checks:#?}");
    assert_eq!(
        (
            checks[0].config.request_interval,
            checks[0].config.failure_threshold
        ),
        (interval, threshold)
    );
    let records = fake.records(zone_id);
    assert_eq!(
        records.len(),
        3,
        "PRIMARY, SECONDARY and the marker: {records:#?}"
    );
    let primary = records
        .iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .expect("primary");
    assert_eq!(
        primary.health_check_id.as_deref(),
        Some(checks[0].id.as_str())
    );
}

/// Reconcile until a round succeeds, writes nothing and leaves no change
/// PENDING (work such as deleting a replaced check waits for INSYNC); the
/// object may also disappear: a finished deletion.
async fn settle<R: Route53 + 'static>(h: &Harness<R>, name: &str) {
    for _ in 0..8 {
        if h.api.get(&path(name)).is_none() {
            return;
        }
        let writes = h.fake.write_calls();
        let pending = |h: &Harness<R>| {
            h.api
                .record(NS, name)
                .status
                .and_then(|s| s.change)
                .is_some_and(|c| c.status == "PENDING")
        };
        if h.reconcile(name).await.is_ok() && h.fake.write_calls() == writes && !pending(h) {
            return;
        }
    }
    panic!("{name} did not settle");
}

type Setup = fn(&Harness) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>;
/// The (request interval, failure threshold) the check must end with, or
/// `None` when everything must be gone.
type Expected = Option<(i32, i32)>;

#[tokio::test]
async fn stopped_after_any_route53_call_and_restarted_the_controller_converges() {
    let create: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, SPEC);
            h.reconcile(NAME).await.expect("finalizer");
        })
    };
    let update: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, SPEC);
            h.converge(NAME).await;
            h.edit(NAME, |s: &mut FailoverRecordSpec| {
                s.primary
                    .as_mut()
                    .expect("side")
                    .health_check
                    .as_mut()
                    .expect("check")
                    .failure_threshold = 5
            });
        })
    };
    let replace: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, SPEC);
            h.converge(NAME).await;
            h.edit(NAME, |s: &mut FailoverRecordSpec| {
                s.primary
                    .as_mut()
                    .expect("side")
                    .health_check
                    .as_mut()
                    .expect("check")
                    .request_interval = 30
            });
        })
    };
    let delete: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, SPEC);
            h.converge(NAME).await;
            h.delete(NAME);
        })
    };
    let scenarios: [(&str, Setup, Expected); 4] = [
        ("create", create, Some((10, 3))),
        ("update", update, Some((10, 5))),
        ("replace", replace, Some((30, 3))),
        ("delete", delete, None),
    ];
    for (scenario, setup, expected) in scenarios {
        interrupt_everywhere(
            scenario,
            setup,
            |_| Box::pin(async {}),
            |h, stop_after| match expected {
                Some((interval, threshold)) => {
                    assert_exactly_one_pair(&h.fake, &h.zone.id, interval, threshold)
                }
                None => {
                    assert!(
                        h.fake.records(&h.zone.id).is_empty(),
                        "{scenario}, stop after {stop_after}: records left"
                    );
                    assert!(
                        h.fake.health_checks().is_empty(),
                        "{scenario}, stop after {stop_after}: checks left"
                    );
                    assert!(
                        h.api.get(&path(NAME)).is_none(),
                        "{scenario}: finalizer removed"
                    );
                }
            },
        )
        .await;
    }
}

/// What a restarted controller does before it settles.
type Restarted = fn(&Harness) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>;

/// Run `setup`, then the step it leads to with the process stopped after
/// each of the step's Route 53 calls but the last (every later call fails),
/// restart the controller, let it settle, and `check` what Route 53 holds.
async fn interrupt_everywhere(
    scenario: &str,
    setup: Setup,
    restarted: Restarted,
    check: impl Fn(&Harness, u32),
) {
    // How many Route 53 calls the step makes when nothing goes wrong (a
    // step may take several reconciles: a health check that records
    // stopped using waits for their change to be INSYNC).
    let calls = {
        let h = Harness::new();
        setup(&h).await;
        h.fake.clear_calls();
        settle(&h, NAME).await;
        h.fake.calls().len() as u32
    };
    assert!(calls >= 1, "{scenario}: the step calls Route 53");
    for stop_after in 1..calls {
        let h = Harness::new();
        setup(&h).await;
        h.fake.clear_calls();
        h.fake.abort_after(None, stop_after);
        // Run the step until the process "stops" (every later call fails).
        for _ in 0..8 {
            let _ = h.reconcile(NAME).await;
            if h.fake.is_aborted() {
                break;
            }
        }
        assert!(
            h.fake.is_aborted(),
            "{scenario}: the step reached call {stop_after} of {calls}"
        );
        h.fake.clear_faults();
        let fresh = h.restart_with(h.fake.clone(), cluster::settings());
        restarted(&fresh).await;
        settle(&fresh, NAME).await;
        check(&h, stop_after);
    }
    eprintln!(
        "{scenario}: interrupted after each of its first {} of {calls} Route 53 calls; converged every time",
        calls - 1
    );
}

#[tokio::test(start_paused = true)]
async fn twenty_records_converge_through_storms_of_transient_failures_within_the_budget() {
    for (probability, seed) in [(0.3, 11), (0.9, 12)] {
        let report = storm(20, probability, seed).await;
        assert!(
            report.throttled > 0,
            "{probability}: the storm threw throttling too"
        );
        eprintln!("{probability}: {report:?}");
    }
}

#[tokio::test]
async fn a_health_check_deleted_behind_its_back_is_recreated_and_the_record_repointed() {
    let h = Harness::new();
    h.create(NAME, SPEC);
    h.converge(NAME).await;
    let old = h.fake.health_checks().remove(0);
    h.fake.remove_health_check(&old.id);
    h.ctx.observer().invalidate_all().await;
    h.reconcile(NAME).await.expect("reconcile");
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 1);
    assert_ne!(checks[0].id, old.id);
    let primary = h.side(Failover::Primary);
    assert_eq!(
        primary.health_check_id.as_deref(),
        Some(checks[0].id.as_str()),
        "repointed"
    );
    h.assert_event("Normal", "HealthCheckCreated");
    assert_eq!(
        h.status(NAME).primary.and_then(|p| p.health_check_id),
        Some(checks[0].id.clone())
    );
}

#[tokio::test]
async fn an_unowned_record_that_appears_at_our_name_is_a_conflict_and_left_alone() {
    let h = Harness::new();
    h.create(NAME, SPEC);
    h.converge(NAME).await;
    // Someone replaces our pair, marker included, with their own record.
    for record in h.fake.records(&h.zone.id) {
        h.fake.remove_record(&h.zone.id, &record.key());
    }
    let theirs = RecordSet {
        name: "examplefailover.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec!["203.0.113.99".into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    h.fake.put_record(&h.zone.id, theirs.clone());
    h.ctx.observer().invalidate_all().await;
    h.fake.clear_calls();
    let error = h.reconcile(NAME).await.expect_err("conflict");
    assert_eq!(error.category(), Category::RecordConflict);
    assert_eq!(h.fake.write_calls(), 0);
    assert_eq!(h.fake.records(&h.zone.id), vec![theirs]);
    assert_eq!(h.condition(NAME, "Ready").1, "RecordConflict");
}

#[tokio::test]
async fn with_a_leader_and_a_stale_former_leader_only_the_lease_holder_writes() {
    let leader = Harness::new();
    let stale = leader.restart_with(leader.fake.clone(), Settings::default());
    stale
        .lease
        .send(false)
        .expect("the former leader lost the lease");
    leader.create(NAME, SPEC);
    leader.reconcile(NAME).await.expect("finalizer");
    leader.fake.clear_calls();
    let (a, b) = tokio::join!(leader.reconcile(NAME), stale.reconcile(NAME));
    a.expect("leader");
    b.expect("standby");
    assert_eq!(
        leader.fake.health_checks().len(),
        1,
        "written once, by the leader"
    );
    // The stale replica's port refuses writes even if a reconcile got past its check.
    let refused = stale
        .ctx
        .engine()
        .route53()
        .delete_health_check("any")
        .await
        .expect_err("refused");
    assert_eq!(refused.kind, ErrorKind::Refused);
    assert_eq!(
        leader
            .api
            .record(NS, NAME)
            .status
            .and_then(|s| s.observed_generation),
        Some(1)
    );
}

/// With `failback: Manual`: exactly the primary's check and one latch on it
/// that holds as `hold` says, and the PRIMARY record uses the latch.
fn assert_one_latch(fake: &FakeRoute53, zone_id: &str, hold: bool) {
    let checks = fake.health_checks();
    assert_eq!(checks.len(), 2, "the check and the latch: {checks:#?}");
    let latch = checks
        .iter()
        .find(|c| c.config.kind == HealthCheckKind::Calculated)
        .expect("a latch");
    let check = checks
        .iter()
        .find(|c| c.config.kind != HealthCheckKind::Calculated)
        .expect("the primary's check");
    assert_eq!(latch.config.children, vec![check.id.clone()]);
    assert_eq!(latch.config.holds(), hold, "{latch:#?}");
    let primary = fake
        .records(zone_id)
        .into_iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .expect("primary");
    assert_eq!(primary.health_check_id.as_deref(), Some(latch.id.as_str()));
}

/// Poll every check once, as a restarted controller's poller does first.
async fn poll_all<R: Route53 + 'static>(h: &Harness<R>) {
    for _ in 0..h.ctx.health().watched().max(1) {
        h.ctx.health().poll_once(h.ctx.engine().route53()).await;
    }
}

#[tokio::test]
async fn the_failback_latch_survives_a_stop_after_any_route53_call() {
    let create: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, &format!("{SPEC}failback: Manual\n"));
            h.reconcile(NAME).await.expect("finalizer");
        })
    };
    let hold: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, &format!("{SPEC}failback: Manual\n"));
            h.converge(NAME).await;
            let check = h
                .fake
                .health_checks()
                .into_iter()
                .find(|c| c.config.kind != HealthCheckKind::Calculated)
                .map(|c| c.id)
                .expect("check");
            h.fake.set_health(&check, 0, 16);
            poll_all(h).await;
        })
    };
    let release: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, &format!("{SPEC}failback: Manual\n"));
            h.converge(NAME).await;
            h.annotate(NAME, "dnsfailover.io/request", "failover");
            settle(h, NAME).await;
            h.annotate(NAME, "dnsfailover.io/request", "failback");
            poll_all(h).await;
        })
    };
    let delete: Setup = |h| {
        Box::pin(async move {
            h.create(NAME, &format!("{SPEC}failback: Manual\n"));
            h.converge(NAME).await;
            h.delete(NAME);
        })
    };
    // (the scenario, what the latch must end as: `None` when all is gone)
    let scenarios: [(&str, Setup, Option<bool>); 4] = [
        ("create", create, Some(false)),
        ("hold", hold, Some(true)),
        ("release", release, Some(false)),
        ("delete", delete, None),
    ];
    for (scenario, setup, expected) in scenarios {
        // A restarted controller knows health only once its poller read it.
        let restarted: Restarted = |h| {
            Box::pin(async move {
                let _ = h.reconcile(NAME).await;
                poll_all(h).await;
            })
        };
        interrupt_everywhere(scenario, setup, restarted, |h, stop_after| match expected {
            Some(hold) => {
                assert_one_latch(&h.fake, &h.zone.id, hold);
                let request = h
                    .api
                    .record(NS, NAME)
                    .metadata
                    .annotations
                    .unwrap_or_default()
                    .remove("dnsfailover.io/request");
                assert!(
                    request.is_none() || scenario != "release",
                    "{scenario}, stop after {stop_after}: the approval was carried out and removed"
                );
            }
            None => {
                assert!(
                    h.fake.records(&h.zone.id).is_empty(),
                    "{scenario}: records left"
                );
                assert!(h.fake.health_checks().is_empty(), "{scenario}: checks left");
            }
        })
        .await;
    }
}
