//! The CLI's executor keeps the safe order the README promises: a health
//! check the record sets used is deleted only once the change that stopped
//! them using it is INSYNC. The in-memory Route 53 leaves changes PENDING
//! for as long as a test wants; time is paused, so waiting costs nothing.

mod support;

use std::time::Duration;

use dnsfailover::cli::workflow;
use dnsfailover::core::desired::PlacedRecord;
use dnsfailover::core::ownership::Owner;
use dnsfailover::core::plan::{DeleteReason, RecordPlan};
use dnsfailover::engine::Outcome;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{ChangeState, Operation};
use support::{CLASSIC, FakeWorld, spec};

const WAIT: Duration = Duration::from_secs(60);

/// The classic record applied, and the plan of a new request interval (an
/// immutable setting: a new check replaces the old one). Returns the old
/// check's id, the new record and its plan; changes of the plan stay PENDING
/// for `polls` GetChange calls.
async fn replacing(
    world: &FakeWorld<FakeRoute53>,
    polls: u32,
) -> (String, PlacedRecord, RecordPlan) {
    world
        .apply(&world.placed("examplefailover", &spec(CLASSIC)))
        .await;
    let old = world.fake.health_checks().remove(0);
    world.fake.set_polls_until_insync(polls);
    let mut slower = spec(CLASSIC);
    if let Some(check) = slower.primary.as_mut().expect("side").health_check.as_mut() {
        check.request_interval = 30;
    }
    let record = world.placed("examplefailover", &slower);
    let plan = world.plan(&record).await.expect("plan");
    world.fake.clear_calls();
    (old.id, record, plan)
}

#[tokio::test(start_paused = true)]
async fn a_replaced_check_survives_while_the_repointing_change_is_pending() {
    let world = FakeWorld::new();
    // The change that repoints the record stays PENDING.
    let (old, record, plan) = replacing(&world, u32::MAX).await;
    assert_eq!(plan.delete_checks.len(), 1);
    assert_eq!(plan.delete_checks[0].id, old);
    assert_eq!(plan.delete_checks[0].reason, DeleteReason::Replaced);

    let started = tokio::time::Instant::now();
    let outcome = workflow::execute(&world.engine, &[plan], WAIT)
        .await
        .remove(0);
    let Outcome::Changed {
        change: Some(change),
        created_checks,
        deleted_checks,
        waiting_checks,
    } = outcome
    else {
        panic!("expected a change: {outcome:?}");
    };
    assert_eq!(change.status, ChangeState::Pending);
    assert_eq!(created_checks.len(), 1, "the new check");
    assert!(deleted_checks.is_empty(), "{deleted_checks:?}");
    assert_eq!(waiting_checks, vec![old.clone()]);
    assert!(
        world.fake.health_checks().iter().any(|c| c.id == old),
        "the old check is still there"
    );
    assert!(
        !world.fake.calls().contains(&Operation::DeleteHealthCheck),
        "{:?}",
        world.fake.calls()
    );
    assert!(
        started.elapsed() >= WAIT,
        "it waited for INSYNC as long as it was told to: {:?}",
        started.elapsed()
    );

    // Once Route 53 has applied the change, the next run deletes it.
    world.fake.complete_changes();
    let plan = world.plan(&record).await.expect("plan");
    assert!(
        plan.changes.is_empty(),
        "the records already use the new check"
    );
    let outcome = workflow::execute(&world.engine, &[plan], WAIT)
        .await
        .remove(0);
    assert!(
        matches!(&outcome, Outcome::Changed { deleted_checks, .. } if deleted_checks == &vec![old.clone()]),
        "{outcome:?}"
    );
    let checks = world.fake.health_checks();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].config.request_interval, 30);
}

#[tokio::test(start_paused = true)]
async fn a_replaced_check_is_deleted_as_soon_as_the_change_is_insync() {
    let world = FakeWorld::new();
    let (old, _, plan) = replacing(&world, 3).await;
    let outcome = workflow::execute(&world.engine, &[plan], WAIT)
        .await
        .remove(0);
    assert!(
        matches!(&outcome, Outcome::Changed { deleted_checks, waiting_checks, .. }
            if deleted_checks == &vec![old.clone()] && waiting_checks.is_empty()),
        "{outcome:?}"
    );
    let calls = world.fake.calls();
    let batch = calls
        .iter()
        .position(|c| *c == Operation::ChangeResourceRecordSets)
        .expect("batch");
    let delete = calls
        .iter()
        .position(|c| *c == Operation::DeleteHealthCheck)
        .expect("delete");
    let polls: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == Operation::GetChange)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(polls.len(), 4, "three PENDING answers, then INSYNC");
    assert!(
        polls.iter().all(|p| batch < *p && *p < delete),
        "create, repoint, wait for INSYNC, delete: {calls:?}"
    );
    assert_eq!(world.fake.health_checks().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn delete_removes_the_records_and_their_checks_only_once_that_is_insync() {
    let world = FakeWorld::new();
    world
        .apply(&world.placed("examplefailover", &spec(CLASSIC)))
        .await;
    world.fake.set_polls_until_insync(u32::MAX);
    let owner = Owner::new("test", "default", "examplefailover");
    let outcome = world.delete(&owner).await;
    assert!(
        matches!(&outcome, Outcome::Changed { deleted_checks, waiting_checks, .. }
            if deleted_checks.is_empty() && waiting_checks.len() == 1),
        "{outcome:?}"
    );
    assert!(
        world.fake.records(&world.zone.id).is_empty(),
        "records first"
    );
    assert_eq!(world.fake.health_checks().len(), 1, "the check waits");

    world.fake.complete_changes();
    let outcome = world.delete(&owner).await;
    assert!(
        matches!(&outcome, Outcome::Changed { deleted_checks, .. } if deleted_checks.len() == 1),
        "{outcome:?}"
    );
    assert!(world.fake.health_checks().is_empty());
}
