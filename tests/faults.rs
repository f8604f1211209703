//! Interruptions, lost answers and throttling, injected into the in-memory
//! Route 53: every run converges to exactly the records and health checks the
//! spec asks for, with nothing leaked or duplicated.

mod support;

use dnsfailover::core::ownership::Owner;
use dnsfailover::engine::Outcome;
use dnsfailover::route53::fake::{FakeRoute53, Fault};
use dnsfailover::route53::resilient::Resilient;
use dnsfailover::route53::{Backoff, ErrorKind, Failover, Operation, RateBudget, RrType};
use support::{CLASSIC, FakeWorld, spec};

/// The end state the classic spec asks for, checked in the fake directly.
fn assert_converged(fake: &FakeRoute53, zone_id: &str, interval: i32) {
    let checks = fake.health_checks();
    assert_eq!(checks.len(), 1, "exactly one health check: {checks:#?}");
    assert_eq!(checks[0].config.request_interval, interval);
    let tags = fake.tags_of(&checks[0].id).expect("tags");
    assert_eq!(
        tags.get("Name").map(String::as_str),
        Some("examplefailover.example.com A primary")
    );
    let records = fake.records(zone_id);
    let primary = records
        .iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .expect("primary");
    assert_eq!(
        primary.health_check_id.as_deref(),
        Some(checks[0].id.as_str())
    );
    assert!(
        records
            .iter()
            .any(|r| r.failover == Some(Failover::Secondary))
    );
    assert!(
        records.iter().any(|r| r.rr_type == RrType::TXT),
        "ownership marker"
    );
    assert_eq!(records.len(), 3);
}

#[tokio::test]
async fn an_apply_stopped_right_after_creating_the_check_ends_with_exactly_one_check() {
    let world = FakeWorld::new();
    let record = world.placed("examplefailover", &spec(CLASSIC));
    world
        .fake
        .abort_after(Some(Operation::CreateHealthCheck), 1);
    let outcome = world.apply(&record).await;
    assert!(
        matches!(&outcome, Outcome::Failed(e) if e.kind == ErrorKind::Aborted),
        "{outcome:?}"
    );
    assert_eq!(
        world.fake.health_checks().len(),
        1,
        "the check was created before the stop"
    );
    assert!(
        world.fake.records(&world.zone.id).is_empty(),
        "no record yet"
    );

    world.fake.clear_faults();
    world.fake.clear_calls();
    let outcome = world.apply(&record).await;
    assert!(
        matches!(outcome, Outcome::Changed { ref created_checks, .. } if created_checks.is_empty()),
        "the existing check is found, not recreated: {outcome:?}"
    );
    assert!(!world.fake.calls().contains(&Operation::CreateHealthCheck));
    assert_converged(&world.fake, &world.zone.id, 10);
    assert!(world.plan(&record).await.expect("plan").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_lost_create_answer_is_retried_with_the_same_caller_reference() {
    let fake = FakeRoute53::new();
    let zone = fake.create_zone("example.com", false);
    let world = FakeWorld::with_port(
        fake.clone(),
        zone,
        Resilient::new(fake.clone(), RateBudget::default(), Backoff::default()),
    );
    let record = world.placed("examplefailover", &spec(CLASSIC));
    fake.inject(
        Some(Operation::CreateHealthCheck),
        Fault::FailAfterApply(ErrorKind::Timeout),
        1,
    );
    let outcome = world.apply(&record).await;
    assert!(matches!(outcome, Outcome::Changed { .. }), "{outcome:?}");
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| **c == Operation::CreateHealthCheck)
            .count(),
        2,
        "retried once"
    );
    assert_converged(&fake, &world.zone.id, 10);
}

/// Stop the process after each call in turn during create, update (a
/// health-check replacement) and delete; after every stop, a clean re-run
/// converges with no leaked or duplicated health check and no orphaned record.
#[tokio::test]
async fn stopping_after_any_call_then_rerunning_converges() {
    let classic = spec(CLASSIC);
    let mut slower = spec(CLASSIC);
    slower
        .primary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .request_interval = 30;

    for stop_after in 1.. {
        let world = FakeWorld::new();
        let record = world.placed("examplefailover", &classic);
        world.fake.abort_after(None, stop_after);
        let first = world.apply(&record).await;
        world.fake.clear_faults();
        let again = world.apply(&record).await;
        assert!(
            !matches!(again, Outcome::Failed(_)),
            "create, stop after call {stop_after}: {again:?}"
        );
        assert_converged(&world.fake, &world.zone.id, 10);
        if !matches!(first, Outcome::Failed(_)) {
            break;
        }
    }

    for stop_after in 1.. {
        let world = FakeWorld::new();
        world
            .apply(&world.placed("examplefailover", &classic))
            .await;
        let record = world.placed("examplefailover", &slower);
        world.fake.abort_after(None, stop_after);
        let first = world.apply(&record).await;
        world.fake.clear_faults();
        let again = world.apply(&record).await;
        assert!(
            !matches!(again, Outcome::Failed(_)),
            "replace, stop after call {stop_after}: {again:?}"
        );
        assert_converged(&world.fake, &world.zone.id, 30);
        if !matches!(first, Outcome::Failed(_)) {
            break;
        }
    }

    let owner = Owner::new("test", "default", "examplefailover");
    for stop_after in 1.. {
        let world = FakeWorld::new();
        world
            .apply(&world.placed("examplefailover", &classic))
            .await;
        world.fake.abort_after(None, stop_after);
        let first = world.delete(&owner).await;
        world.fake.clear_faults();
        let again = world.delete(&owner).await;
        assert!(
            !matches!(again, Outcome::Failed(_)),
            "delete, stop after call {stop_after}: {again:?}"
        );
        assert!(
            world.fake.records(&world.zone.id).is_empty(),
            "delete, stop after call {stop_after}: records left"
        );
        assert!(
            world.fake.health_checks().is_empty(),
            "delete, stop after call {stop_after}: checks left"
        );
        if !matches!(first, Outcome::Failed(_)) {
            break;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttling_storm_is_ridden_out_with_backoff() {
    for share in [0.3, 0.9] {
        let fake = FakeRoute53::new();
        let zone = fake.create_zone("example.com", false);
        let port = Resilient::new(
            fake.clone(),
            RateBudget::default(),
            Backoff {
                max_attempts: 60,
                ..Backoff::default()
            },
        );
        let world = FakeWorld::with_port(fake.clone(), zone, port.clone());
        let record = world.placed("examplefailover", &spec(CLASSIC));
        fake.throttle_randomly(share, 42);
        let started = tokio::time::Instant::now();
        let outcome = world.apply(&record).await;
        assert!(
            matches!(outcome, Outcome::Changed { .. }),
            "throttled {share}: {outcome:?}"
        );
        fake.clear_faults();
        assert_converged(&fake, &world.zone.id, 10);
        let throttled: u64 = port.stats().snapshot().values().map(|s| s.throttled).sum();
        let requests = port.stats().total_requests();
        assert!(throttled > 0, "the storm did throttle");
        // Retries included, requests never exceed what the budget allows:
        // the burst plus the sustained rate over the time taken.
        let budget = RateBudget::default();
        let allowed = budget.burst + budget.requests_per_second * started.elapsed().as_secs_f64();
        assert!(
            requests as f64 <= allowed,
            "{requests} requests in {:?} exceed the budget",
            started.elapsed()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_for_insync_polls_until_insync_then_stops() {
    let world = FakeWorld::new();
    world.fake.set_polls_until_insync(3);
    let record = world.placed("examplefailover", &spec(CLASSIC));
    let Outcome::Changed {
        change: Some(change),
        ..
    } = world.apply(&record).await
    else {
        panic!("expected a change");
    };
    assert_eq!(change.status, dnsfailover::route53::ChangeState::Pending);
    world.fake.clear_calls();
    let ids = std::collections::BTreeSet::from([change.id.clone()]);
    let states = world
        .engine
        .wait_insync(&ids, std::time::Duration::from_secs(300))
        .await
        .expect("wait");
    assert_eq!(
        states[&change.id],
        dnsfailover::route53::ChangeState::InSync
    );
    let polls = world
        .fake
        .calls()
        .iter()
        .filter(|c| **c == Operation::GetChange)
        .count();
    assert_eq!(
        polls, 4,
        "three PENDING answers, then INSYNC, then no more polling"
    );
}
