//! Scenarios of the planner's rules, run against the in-memory Route 53 so
//! that "observed" is always something Route 53 could really hold, and
//! executed as the CLI executes them. The same rules as pure tables, without
//! Route 53: `tables.rs`.
//!
//! Longer than most files: one scenario a test, each small; splitting them
//! by topic would only spread the shared `World` around.

use std::collections::BTreeSet;

use super::*;
use crate::api::FailoverRecordSpec;
use crate::backoff::{Jitter, Schedule};
use crate::core::ownership::{MARKER_TTL, TAG_NAME, marker_name};
use crate::core::validate::desired_from_spec;
use crate::engine::{Engine, Outcome, Snapshot, Wait};
use crate::route53::fake::FakeRoute53;
use crate::route53::{AliasTarget, Operation, Route53, Zone};

pub(crate) const BASE: &str = r#"
hostedZone: {name: example.com}
name: www
primary:
  addresses: [198.51.100.10]
  healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}
secondary:
  addresses: [198.51.100.20]
"#;

pub(crate) fn spec(yaml: &str) -> FailoverRecordSpec {
    serde_yaml::from_str(yaml).expect("test spec parses")
}

pub(crate) struct World {
    pub fake: FakeRoute53,
    pub zone: Zone,
    pub engine: Engine<FakeRoute53>,
}

impl World {
    pub fn new() -> Self {
        let fake = FakeRoute53::new();
        let zone = fake.create_zone("example.com", false);
        let engine = Engine::new(fake.clone(), "test");
        Self { fake, zone, engine }
    }

    pub fn placed(&self, name: &str, spec: &FailoverRecordSpec) -> PlacedRecord {
        desired_from_spec(Owner::new("test", "default", name), spec)
            .expect("test spec is valid")
            .place(self.zone.clone())
            .expect("test record fits the zone")
    }

    pub async fn snapshot(&self) -> Snapshot {
        self.engine
            .observe(&BTreeSet::from([self.zone.id.clone()]))
            .await
            .expect("observe the fake")
    }

    pub async fn plan(&self, record: &PlacedRecord) -> RecordPlan {
        let snapshot = self.snapshot().await;
        plan_apply(
            record,
            snapshot.observed(&self.zone.id).expect("zone observed"),
        )
    }

    pub async fn apply(&self, record: &PlacedRecord) -> Outcome {
        let plan = self.plan(record).await;
        self.execute(&[plan]).await.remove(0)
    }

    /// Execute plans as the CLI does, polling for INSYNC without its pauses.
    pub async fn execute(&self, plans: &[RecordPlan]) -> Vec<Outcome> {
        let wait = Wait {
            engine: &self.engine,
            timeout: std::time::Duration::from_secs(60),
            schedule: Schedule {
                base: std::time::Duration::from_millis(1),
                cap: std::time::Duration::from_millis(10),
                jitter: Jitter::None,
            },
        };
        crate::cli::workflow::execute_with(&self.engine, plans, wait).await
    }

    pub async fn delete(&self, owner: &Owner) -> (RecordPlan, Outcome) {
        let snapshot = self.snapshot().await;
        let plan = plan_delete(
            owner,
            &self.zone.id,
            snapshot.observed(&self.zone.id).expect("zone observed"),
        );
        let outcome = self.execute(std::slice::from_ref(&plan)).await.remove(0);
        (plan, outcome)
    }

    pub fn record(
        &self,
        name: &str,
        rr_type: RrType,
        set_identifier: Option<&str>,
    ) -> Option<RecordSet> {
        self.fake.records(&self.zone.id).into_iter().find(|r| {
            r.name == name && r.rr_type == rr_type && r.set_identifier.as_deref() == set_identifier
        })
    }

    pub fn put(&self, record: RecordSet) {
        self.fake.put_record(&self.zone.id, record);
    }
}

pub(crate) fn simple_a(name: &str, ip: &str) -> RecordSet {
    RecordSet {
        name: name.into(),
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec![ip.into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    }
}

fn actions(plan: &RecordPlan) -> Vec<(ChangeAction, String)> {
    plan.changes
        .iter()
        .map(|c| {
            (
                c.action,
                format!(
                    "{} {}",
                    c.record.name,
                    c.record.set_identifier.as_deref().unwrap_or("-")
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_record_creates_its_check_then_one_group_of_three_record_sets() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    let plan = world.plan(&record).await;

    assert!(plan.conflicts.is_empty());
    assert_eq!(plan.create_checks.len(), 1);
    let create = &plan.create_checks[0];
    assert_eq!(create.role, Failover::Primary);
    assert_eq!(
        create.caller_reference,
        ownership::caller_reference(&record.desired.owner, Failover::Primary, &create.config, 0)
    );
    assert_eq!(create.tags[TAG_NAME], "www.example.com A primary");
    assert_eq!(
        create.config.ip_address.as_deref(),
        Some("198.51.100.10"),
        "defaults to the first address"
    );
    assert_eq!(create.config.resource_path.as_deref(), Some("/health"));
    assert_eq!(create.config.port, 80);

    // PRIMARY, SECONDARY and the ownership marker in one atomic group.
    assert_eq!(plan.changes.len(), 3);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == ChangeAction::Create)
    );
    let primary = &plan.changes[0];
    assert_eq!(primary.record.failover, Some(Failover::Primary));
    assert_eq!(
        primary.health_check,
        Some(CheckRef::Created(Failover::Primary))
    );
    assert_eq!(plan.changes[1].record.failover, Some(Failover::Secondary));
    assert_eq!(plan.changes[1].health_check, None);
    assert_eq!(
        plan.changes[2].record.name,
        marker_name("www.example.com.", &RrType::A)
    );
    assert_eq!(plan.changes[2].record.ttl, Some(MARKER_TTL));
    assert!(plan.delete_checks.is_empty());
}

#[tokio::test]
async fn applying_then_planning_again_is_empty_and_route53_holds_the_pair() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    assert!(matches!(
        world.apply(&record).await,
        Outcome::Changed { .. }
    ));
    assert!(world.plan(&record).await.is_empty());
    assert_eq!(world.apply(&record).await, Outcome::Unchanged);

    let primary = world
        .record("www.example.com.", RrType::A, Some("primary"))
        .expect("primary exists");
    let check_id = primary.health_check_id.expect("primary carries the check");
    assert_eq!(world.fake.health_checks().len(), 1);
    assert_eq!(world.fake.health_checks()[0].id, check_id);
    let secondary = world
        .record("www.example.com.", RrType::A, Some("secondary"))
        .expect("secondary exists");
    assert_eq!(secondary.failover, Some(Failover::Secondary));
    assert_eq!(secondary.values, vec!["198.51.100.20"]);
    assert_eq!(secondary.ttl, Some(60));
    let tags = world.fake.tags_of(&check_id).expect("tagged");
    assert_eq!(tags[ownership::TAG_RESOURCE], "default/web");
}

#[tokio::test]
async fn a_mutable_health_check_change_updates_in_place() {
    let world = World::new();
    let mut s = spec(BASE);
    world.apply(&world.placed("web", &s)).await;
    let before = world.fake.health_checks()[0].clone();

    s.primary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .failure_threshold = 5;
    s.primary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .path = Some("/ready".into());
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    assert!(
        plan.create_checks.is_empty() && plan.delete_checks.is_empty() && plan.changes.is_empty(),
        "{plan:#?}"
    );
    assert_eq!(plan.update_checks.len(), 1);
    assert_eq!(plan.update_checks[0].id, before.id);
    assert_eq!(plan.update_checks[0].update.version, before.version);
    assert_eq!(
        plan.update_checks[0].changed,
        vec!["path", "failureThreshold"]
    );

    world.execute(&[plan]).await;
    let after = world.fake.health_checks();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, before.id, "same check");
    assert_eq!(after[0].config.failure_threshold, 5);
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn an_immutable_change_replaces_the_check_create_repoint_delete() {
    let world = World::new();
    let mut s = spec(BASE);
    world.apply(&world.placed("web", &s)).await;
    let old = world.fake.health_checks()[0].clone();

    s.primary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .request_interval = 30;
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    // 1. create the new check,
    assert_eq!(plan.create_checks.len(), 1);
    assert_eq!(plan.create_checks[0].config.request_interval, 30);
    // 2. repoint the PRIMARY (exact delete of the old record + create) to it,
    assert!(plan.update_checks.is_empty());
    assert_eq!(
        actions(&plan),
        vec![
            (ChangeAction::Delete, "www.example.com. primary".to_string()),
            (ChangeAction::Create, "www.example.com. primary".to_string()),
        ]
    );
    assert_eq!(
        plan.changes[0].health_check,
        Some(CheckRef::Existing(old.id.clone()))
    );
    assert_eq!(
        plan.changes[1].health_check,
        Some(CheckRef::Created(Failover::Primary))
    );
    // 3. and only then delete the old check.
    assert_eq!(
        plan.delete_checks,
        vec![DeleteCheck {
            id: old.id.clone(),
            role: Failover::Primary,
            reason: DeleteReason::Replaced
        }]
    );

    world.fake.clear_calls();
    world.execute(&[plan]).await;
    let calls = world.fake.calls();
    let position = |op| calls.iter().position(|c| *c == op).expect("call made");
    assert!(position(Operation::CreateHealthCheck) < position(Operation::ChangeResourceRecordSets));
    assert!(position(Operation::ChangeResourceRecordSets) < position(Operation::DeleteHealthCheck));
    let checks = world.fake.health_checks();
    assert_eq!(checks.len(), 1);
    assert_ne!(checks[0].id, old.id);
    assert_eq!(checks[0].config.request_interval, 30);
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn a_check_another_record_set_still_uses_is_never_deleted() {
    let world = World::new();
    let mut s = spec(BASE);
    let web = world.placed("web", &s);
    world.apply(&web).await;
    let ours = world.fake.health_checks()[0].clone();
    // Someone points a record set of their own at our check.
    let mut borrowed = simple_a("other.example.com.", "203.0.113.9");
    borrowed.set_identifier = Some("theirs".into());
    borrowed.failover = Some(Failover::Primary);
    borrowed.health_check_id = Some(ours.id.clone());
    world.put(borrowed.clone());

    // Replacing the check (an immutable setting changed) keeps the old one.
    s.primary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .request_interval = 30;
    let replaced = world.placed("web", &s);
    let plan = world.plan(&replaced).await;
    assert_eq!(plan.create_checks.len(), 1);
    assert!(plan.delete_checks.is_empty(), "{:?}", plan.delete_checks);
    world.execute(&[plan]).await;
    assert!(world.fake.health_checks().iter().any(|c| c.id == ours.id));

    // Deleting the FailoverRecord removes its records and its unused check,
    // and still keeps the one in use.
    let (plan, _) = world.delete(&replaced.desired.owner).await;
    assert_eq!(plan.delete_checks.len(), 1);
    assert_ne!(plan.delete_checks[0].id, ours.id);
    let left: Vec<String> = world
        .fake
        .health_checks()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![ours.id.clone()]);
    assert_eq!(world.fake.records(&world.zone.id), vec![borrowed]);
}

#[tokio::test]
async fn deleting_removes_records_first_then_checks_and_is_idempotent() {
    let world = World::new();
    let mut s = spec(BASE);
    s.secondary.as_mut().expect("side").health_check =
        s.primary.as_mut().expect("side").health_check.clone();
    s.secondary
        .as_mut()
        .expect("side")
        .health_check
        .as_mut()
        .expect("check")
        .ip_address = Some("198.51.100.20".into());
    let record = world.placed("web", &s);
    world.apply(&record).await;
    assert_eq!(world.fake.health_checks().len(), 2);

    world.fake.clear_calls();
    let (plan, outcome) = world.delete(&record.desired.owner).await;
    assert_eq!(plan.changes.len(), 3);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == ChangeAction::Delete)
    );
    assert_eq!(plan.delete_checks.len(), 2);
    assert!(matches!(outcome, Outcome::Changed { .. }));
    let calls = world.fake.calls();
    let batch = calls
        .iter()
        .position(|c| *c == Operation::ChangeResourceRecordSets)
        .expect("batch");
    assert!(
        calls
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Operation::DeleteHealthCheck)
            .all(|(i, _)| i > batch)
    );
    assert!(world.fake.records(&world.zone.id).is_empty());
    assert!(world.fake.health_checks().is_empty());

    let (again, outcome) = world.delete(&record.desired.owner).await;
    assert!(again.is_empty());
    assert_eq!(outcome, Outcome::Unchanged);
}

#[tokio::test]
async fn an_existing_record_that_is_not_ours_is_a_conflict_and_untouched() {
    let world = World::new();
    world.put(simple_a("www.example.com.", "203.0.113.5"));
    let record = world.placed("web", &spec(BASE));
    let plan = world.plan(&record).await;
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::NotOwned);
    assert!(
        plan.conflicts[0].message.contains("adoptExisting"),
        "{}",
        plan.conflicts[0].message
    );
    assert!(
        plan.is_empty(),
        "no health check is created for a record we cannot write"
    );

    world.fake.clear_calls();
    let outcome = world.execute(&[plan]).await.remove(0);
    assert!(matches!(outcome, Outcome::Conflict(_)));
    assert_eq!(world.fake.write_calls(), 0);
    assert_eq!(
        world.record("www.example.com.", RrType::A, None),
        Some(simple_a("www.example.com.", "203.0.113.5"))
    );
}

#[tokio::test]
async fn adoption_is_explicit_and_replaces_the_existing_records() {
    let world = World::new();
    world.put(simple_a("www.example.com.", "203.0.113.5"));
    let mut s = spec(BASE);
    s.adopt_existing = true;
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    assert!(plan.conflicts.is_empty());
    assert_eq!(plan.changes[0].action, ChangeAction::Delete);
    assert_eq!(
        plan.changes[0].record,
        simple_a("www.example.com.", "203.0.113.5")
    );
    world.execute(&[plan]).await;
    assert_eq!(world.record("www.example.com.", RrType::A, None), None);
    assert!(
        world
            .record("www.example.com.", RrType::A, Some("primary"))
            .is_some()
    );
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn records_of_another_routing_policy_are_not_adopted() {
    let world = World::new();
    let mut weighted = simple_a("www.example.com.", "203.0.113.5");
    weighted.set_identifier = Some("blue".into());
    weighted.other_routing = Some("weighted".into());
    world.put(weighted.clone());
    let mut s = spec(BASE);
    s.adopt_existing = true;
    let plan = world.plan(&world.placed("web", &s)).await;
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::Unadoptable);
    assert!(
        plan.conflicts[0].message.contains("weighted routing"),
        "{}",
        plan.conflicts[0].message
    );
    assert!(plan.is_empty(), "nothing is written: {plan:?}");
    assert_eq!(
        world.record("www.example.com.", RrType::A, Some("blue")),
        Some(weighted)
    );
}

#[tokio::test]
async fn records_of_another_failover_record_are_a_conflict() {
    let world = World::new();
    world.apply(&world.placed("first", &spec(BASE))).await;
    let second = world.placed("second", &spec(BASE));
    let plan = world.plan(&second).await;
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::OwnedByOther);
    assert!(
        plan.conflicts[0].message.contains("default/first"),
        "{}",
        plan.conflicts[0].message
    );
    assert!(plan.is_empty());

    // Even with adoption: another FailoverRecord's records are never taken.
    let mut s = spec(BASE);
    s.adopt_existing = true;
    let plan = world.plan(&world.placed("second", &s)).await;
    assert_eq!(plan.conflicts[0].kind, ConflictKind::OwnedByOther);
}

#[tokio::test]
async fn another_installation_sharing_the_zone_is_never_touched() {
    let world = World::new();
    world.apply(&world.placed("web", &spec(BASE))).await;
    let other = Engine::new(world.fake.clone(), "other-cluster");
    let record = desired_from_spec(Owner::new("other-cluster", "default", "web"), &spec(BASE))
        .expect("valid")
        .place(world.zone.clone())
        .expect("placed");
    let snapshot = other
        .observe(&BTreeSet::from([world.zone.id.clone()]))
        .await
        .expect("observe");
    assert!(
        snapshot.health_checks.of(&record.desired.owner).is_empty(),
        "checks of other owner ids are never this owner's"
    );
    let plan = plan_apply(&record, snapshot.observed(&world.zone.id).expect("zone"));
    assert_eq!(plan.conflicts[0].kind, ConflictKind::OwnedByOther);
    let deletion = plan_delete(
        &record.desired.owner,
        &world.zone.id,
        snapshot.observed(&world.zone.id).expect("zone"),
    );
    assert!(deletion.is_empty());
}

#[tokio::test]
async fn a_foreign_txt_at_the_marker_name_is_a_conflict() {
    let world = World::new();
    let mut txt = simple_a(&marker_name("www.example.com.", &RrType::A), "x");
    txt.rr_type = RrType::TXT;
    txt.values = vec!["\"v=spf1 -all\"".into()];
    world.put(txt);
    let plan = world.plan(&world.placed("web", &spec(BASE))).await;
    assert_eq!(plan.conflicts[0].kind, ConflictKind::MarkerNameTaken);
}

#[tokio::test]
async fn a_cname_never_shares_its_name() {
    let world = World::new();
    world.put(simple_a("www.example.com.", "203.0.113.5"));
    let s = spec(
        r#"
hostedZone: {name: example.com}
name: www
type: CNAME
primary:
  addresses: [primary.example.net]
  healthCheck: {protocol: HTTPS}
secondary:
  addresses: [secondary.example.net]
"#,
    );
    let record = world.placed("web", &s);
    assert_eq!(
        record
            .desired
            .primary
            .as_ref()
            .and_then(|p| p.health_check.as_ref())
            .as_ref()
            .and_then(|c| c.fqdn.as_deref()),
        Some("primary.example.net")
    );
    let plan = world.plan(&record).await;
    assert_eq!(plan.conflicts[0].kind, ConflictKind::CnameClash);
    assert!(plan.is_empty());
}

#[tokio::test]
async fn a_foreign_failover_record_next_to_ours_is_a_conflict() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    world.apply(&record).await;
    let mut s = spec(BASE);
    s.secondary.as_mut().expect("side").set_identifier = Some("backup".into());
    let mut foreign = world
        .record("www.example.com.", RrType::A, Some("secondary"))
        .expect("secondary");
    foreign.set_identifier = Some("backup".into());
    world.fake.remove_record(
        &world.zone.id,
        &world
            .record("www.example.com.", RrType::A, Some("secondary"))
            .expect("s")
            .key(),
    );
    world.put(foreign);
    let plan = world.plan(&world.placed("web", &s)).await;
    assert_eq!(plan.conflicts[0].kind, ConflictKind::ForeignRecord);
}

#[tokio::test]
async fn renaming_moves_the_records_in_one_batch() {
    let world = World::new();
    let mut s = spec(BASE);
    world.apply(&world.placed("web", &s)).await;
    s.name = "api".into();
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    assert!(
        plan.create_checks.is_empty(),
        "the check is kept: its settings did not change"
    );
    let deleted: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == ChangeAction::Delete)
        .map(|c| c.record.name.as_str())
        .collect();
    assert_eq!(deleted.len(), 3);
    assert!(deleted.iter().all(|n| n.ends_with("www.example.com.")));
    let created: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == ChangeAction::Create)
        .map(|c| c.record.name.as_str())
        .collect();
    assert!(created.iter().all(|n| n.ends_with("api.example.com.")));
    world.fake.clear_calls();
    world.execute(&[plan]).await;
    assert_eq!(
        world
            .fake
            .calls()
            .iter()
            .filter(|c| **c == Operation::ChangeResourceRecordSets)
            .count(),
        1
    );
    assert!(
        world
            .record("www.example.com.", RrType::A, Some("primary"))
            .is_none()
    );
    assert!(
        world
            .record("api.example.com.", RrType::A, Some("primary"))
            .is_some()
    );
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn a_new_set_identifier_replaces_the_record_set() {
    let world = World::new();
    let mut s = spec(BASE);
    world.apply(&world.placed("web", &s)).await;
    s.primary.as_mut().expect("side").set_identifier = Some("main".into());
    let record = world.placed("web", &s);
    world.apply(&record).await;
    assert!(
        world
            .record("www.example.com.", RrType::A, Some("primary"))
            .is_none()
    );
    assert!(
        world
            .record("www.example.com.", RrType::A, Some("main"))
            .is_some()
    );
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn a_duplicate_check_left_by_a_crash_is_removed_and_the_used_one_kept() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    world.apply(&record).await;
    let used = world.fake.health_checks()[0].clone();
    // A second check for the same side, as an interrupted run could leave.
    let config = used.config.clone();
    world
        .fake
        .create_health_check(
            &ownership::caller_reference(&record.desired.owner, Failover::Primary, &config, 1),
            &config,
        )
        .await
        .expect("create");
    let plan = world.plan(&record).await;
    assert_eq!(plan.delete_checks.len(), 1);
    assert_ne!(plan.delete_checks[0].id, used.id);
    assert_eq!(plan.delete_checks[0].reason, DeleteReason::Duplicate);
    assert!(plan.changes.is_empty());
    world.execute(&[plan]).await;
    assert_eq!(world.fake.health_checks(), vec![used]);
}

#[tokio::test]
async fn missing_tags_are_restored() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    world.apply(&record).await;
    let id = world.fake.health_checks()[0].id.clone();
    world
        .fake
        .change_health_check_tags(&id, &Tags::new(), &[TAG_NAME.to_string()])
        .await
        .expect("untag");
    let plan = world.plan(&record).await;
    assert_eq!(plan.retag_checks.len(), 1);
    assert_eq!(
        plan.retag_checks[0].add.keys().collect::<Vec<_>>(),
        vec![TAG_NAME]
    );
    assert_eq!(plan.write_count(), 1);
}

#[tokio::test]
async fn removing_a_secondary_check_repoints_first_then_deletes() {
    let world = World::new();
    let mut s = spec(BASE);
    s.secondary.as_mut().expect("side").health_check =
        Some(serde_yaml::from_str("{protocol: TCP, port: 443}").expect("check"));
    world.apply(&world.placed("web", &s)).await;
    assert_eq!(world.fake.health_checks().len(), 2);
    s.secondary.as_mut().expect("side").health_check = None;
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    assert_eq!(plan.delete_checks.len(), 1);
    assert_eq!(plan.delete_checks[0].reason, DeleteReason::NoLongerWanted);
    assert_eq!(
        actions(&plan).len(),
        2,
        "secondary deleted and recreated without its check"
    );
    assert!(
        matches!(world.execute(&[plan]).await[0], Outcome::Changed { .. }),
        "HealthCheckInUse would fail this"
    );
    assert_eq!(world.fake.health_checks().len(), 1);
}

#[tokio::test]
async fn an_alias_primary_that_evaluates_target_health_needs_no_check() {
    let world = World::new();
    let s = spec(
        r#"
hostedZone: {name: example.com}
name: www
primary:
  alias: {dnsName: my-lb-1.us-east-1.elb.amazonaws.com., hostedZoneId: Z35SXDOTRQ7X7K}
secondary:
  addresses: [198.51.100.20]
"#,
    );
    let record = world.placed("web", &s);
    let plan = world.plan(&record).await;
    assert!(plan.create_checks.is_empty());
    assert_eq!(
        plan.changes[0].record.alias,
        Some(AliasTarget {
            dns_name: "my-lb-1.us-east-1.elb.amazonaws.com".into(),
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            evaluate_target_health: true
        })
    );
    assert_eq!(
        plan.changes[0].record.ttl, None,
        "an alias has no TTL of its own"
    );
    world.execute(&[plan]).await;
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn values_compare_as_canonical_sets() {
    let world = World::new();
    let s = spec(
        r#"
hostedZone: {name: example.com}
name: v6
type: AAAA
primary:
  addresses: ["2001:DB8:0:0::2", "2001:db8::1"]
  healthCheck: {ipAddress: "2600:1f18::10"}
secondary:
  addresses: ["2001:db8::3"]
"#,
    );
    let record = world.placed("v6", &s);
    world.apply(&record).await;
    // Route 53 may hand values back in another order or spelling.
    let mut primary = world
        .record("v6.example.com.", RrType::AAAA, Some("primary"))
        .expect("primary");
    world.fake.remove_record(&world.zone.id, &primary.key());
    primary.values = vec!["2001:db8:0::1".into(), "2001:db8::2".into()];
    world.put(primary);
    assert!(world.plan(&record).await.is_empty());
}

#[tokio::test]
async fn drift_in_an_owned_record_is_corrected_exactly() {
    let world = World::new();
    let record = world.placed("web", &spec(BASE));
    world.apply(&record).await;
    let mut secondary = world
        .record("www.example.com.", RrType::A, Some("secondary"))
        .expect("secondary");
    world.fake.remove_record(&world.zone.id, &secondary.key());
    secondary.values = vec!["203.0.113.99".into()];
    world.put(secondary.clone());
    let plan = world.plan(&record).await;
    assert_eq!(plan.changes.len(), 2);
    assert_eq!(plan.changes[0].action, ChangeAction::Delete);
    assert_eq!(
        plan.changes[0].record, secondary,
        "the DELETE repeats the drifted record exactly"
    );
    world.execute(&[plan]).await;
    assert!(world.plan(&record).await.is_empty());
}

mod properties;
mod split;
