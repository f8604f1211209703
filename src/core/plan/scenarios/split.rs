//! One name shared by two installations (`spec.manage`): cluster A's owner
//! id holds the PRIMARY, cluster B's the SECONDARY, each through its own
//! entry of the one ownership marker; and what happens when they disagree.

use super::*;
use crate::core::ownership::Marker;
use crate::engine::peers;

const PRIMARY_ONLY: &str = r#"
hostedZone: {name: example.com}
name: www
manage: Primary
primary:
  addresses: [198.51.100.10]
  healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}
"#;

const SECONDARY_ONLY: &str = r#"
hostedZone: {name: example.com}
name: www
manage: Secondary
secondary:
  addresses: [198.51.100.20]
  healthCheck: {protocol: HTTP, path: /health}
"#;

const FQDN: &str = "www.example.com.";

fn cluster(owner_id: &str) -> Owner {
    Owner::new(owner_id, "web", "www")
}

impl World {
    fn placed_for(&self, owner: Owner, spec: &FailoverRecordSpec) -> PlacedRecord {
        desired_from_spec(owner, spec)
            .expect("test spec is valid")
            .place(self.zone.clone())
            .expect("test record fits the zone")
    }

    fn marker_entries(&self) -> Vec<Marker> {
        self.record(&marker_name(FQDN, &RrType::A), RrType::TXT, None)
            .map(|r| r.values.iter().filter_map(|v| Marker::parse(v)).collect())
            .unwrap_or_default()
    }

    fn side_record(&self, set_identifier: &str) -> Option<RecordSet> {
        self.record(FQDN, RrType::A, Some(set_identifier))
    }
}

#[tokio::test]
async fn two_owners_each_hold_one_side_through_their_own_marker_entry() {
    let world = World::new();
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    let b = world.placed_for(cluster("cluster-b"), &spec(SECONDARY_ONLY));

    let plan = world.plan(&a).await;
    assert_eq!(plan.create_checks.len(), 1, "the primary's check only");
    assert!(matches!(
        world.execute(&[plan]).await.remove(0),
        Outcome::Changed { .. }
    ));
    let a_entry = world.marker_entries();
    assert_eq!(a_entry.len(), 1);
    assert_eq!(a_entry[0].holds(Failover::Primary), Some("primary"));
    assert_eq!(a_entry[0].holds(Failover::Secondary), None);
    let a_value = world
        .record(&marker_name(FQDN, &RrType::A), RrType::TXT, None)
        .expect("marker")
        .values[0]
        .clone();

    let plan = world.plan(&b).await;
    assert!(plan.disputes.is_empty(), "{:?}", plan.disputes);
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.record.failover == Some(Failover::Primary)),
        "B never touches the PRIMARY"
    );
    world.execute(&[plan]).await;
    let marker = world
        .record(&marker_name(FQDN, &RrType::A), RrType::TXT, None)
        .expect("marker");
    assert_eq!(marker.values.len(), 2);
    assert_eq!(marker.values[0], a_value, "A's entry is kept byte for byte");
    assert!(world.side_record("primary").is_some());
    assert!(world.side_record("secondary").is_some());
    assert_eq!(world.fake.health_checks().len(), 2);

    assert!(world.plan(&a).await.is_empty(), "A converged");
    assert!(world.plan(&b).await.is_empty(), "B converged");

    // Each sees the other's side read-only, with its health check.
    let snapshot = world.snapshot().await;
    let observed = snapshot.observed(&world.zone.id).expect("zone");
    let seen = peers(&a, observed);
    let secondary = seen.get(&Failover::Secondary).expect("B's side");
    assert_eq!(
        secondary.holder,
        "owner cluster-b, FailoverRecord web/www".to_string()
    );
    assert!(
        secondary.check.is_some(),
        "B's health check is visible to A"
    );
    assert!(peers(&b, observed).contains_key(&Failover::Primary));
}

#[tokio::test]
async fn deleting_one_side_leaves_the_other_serving() {
    let world = World::new();
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    let b = world.placed_for(cluster("cluster-b"), &spec(SECONDARY_ONLY));
    world.apply(&a).await;
    world.apply(&b).await;
    let secondary = world.side_record("secondary").expect("secondary");

    let (plan, outcome) = world.delete(&cluster("cluster-a")).await;
    assert!(matches!(outcome, Outcome::Changed { .. }), "{outcome:?}");
    assert!(
        plan.changes
            .iter()
            .all(|c| c.record.failover != Some(Failover::Secondary)),
        "{plan:?}"
    );
    assert_eq!(world.side_record("primary"), None);
    assert_eq!(world.side_record("secondary"), Some(secondary));
    let entries = world.marker_entries();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].is_owned_by(&cluster("cluster-b")));
    assert_eq!(world.fake.health_checks().len(), 1, "A's check went");
    assert!(world.plan(&b).await.is_empty(), "B has nothing to do");

    // A comes back: it takes its side again next to B's.
    world.apply(&a).await;
    assert!(world.side_record("primary").is_some());
    assert!(world.plan(&b).await.is_empty());
}

#[tokio::test]
async fn two_owners_claiming_one_side_both_report_it_and_nothing_is_overwritten() {
    let world = World::new();
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    world.apply(&a).await;
    let primary = world.side_record("primary").expect("primary");
    let checks = world.fake.health_checks();

    let mut other = spec(PRIMARY_ONLY);
    other.primary.as_mut().expect("side").addresses = Some(vec!["198.51.100.99".into()]);
    let c = world.placed_for(cluster("cluster-c"), &other);
    let plan = world.plan(&c).await;
    assert_eq!(plan.disputes.len(), 1, "{:?}", plan.disputes);
    assert!(
        plan.disputes[0].message.contains("cluster-a"),
        "{}",
        plan.disputes[0].message
    );
    assert!(
        plan.create_checks.is_empty(),
        "no check for a side it waits for"
    );
    world.execute(&[plan]).await;
    assert_eq!(
        world.side_record("primary"),
        Some(primary.clone()),
        "A's PRIMARY untouched"
    );
    assert_eq!(world.fake.health_checks(), checks);
    let wants: Vec<Marker> = world
        .marker_entries()
        .into_iter()
        .filter(|e| e.is_owned_by(&cluster("cluster-c")))
        .collect();
    assert_eq!(wants.len(), 1);
    assert!(wants[0].wants(Failover::Primary));
    assert_eq!(wants[0].holds(Failover::Primary), None);

    // The holder hears of it, and keeps serving.
    let plan = world.plan(&a).await;
    assert!(plan.is_empty(), "A writes nothing: {plan:?}");
    assert_eq!(plan.disputes.len(), 1);
    assert!(
        plan.disputes[0].message.contains("cluster-c"),
        "{}",
        plan.disputes[0].message
    );

    // C gives up: its entry goes, and A's dispute with it.
    world.delete(&cluster("cluster-c")).await;
    assert!(world.plan(&a).await.disputes.is_empty());
    assert_eq!(world.side_record("primary"), Some(primary));
}

#[tokio::test]
async fn a_ttl_that_disagrees_is_told_on_both_sides_and_written_by_neither() {
    let world = World::new();
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    world.apply(&a).await;
    let mut s = spec(SECONDARY_ONLY);
    s.ttl = 300;
    let b = world.placed_for(cluster("cluster-b"), &s);
    let plan = world.plan(&b).await;
    assert!(
        plan.disputes.iter().any(|d| d.message.contains("TTL 60")),
        "{:?}",
        plan.disputes
    );
    world.execute(&[plan]).await;
    assert_eq!(world.side_record("secondary"), None, "not written");
    let a_plan = world.plan(&a).await;
    assert!(a_plan.is_empty());
    assert!(
        a_plan
            .disputes
            .iter()
            .any(|d| d.message.contains("TTL 300")),
        "{:?}",
        a_plan.disputes
    );

    // Agreeing on the TTL settles it: B takes its side.
    s.ttl = 60;
    let b = world.placed_for(cluster("cluster-b"), &s);
    world.apply(&b).await;
    assert!(world.side_record("secondary").is_some());
    assert!(world.plan(&a).await.disputes.is_empty());
    assert!(world.plan(&b).await.is_empty());
}

#[tokio::test]
async fn sides_of_different_types_are_told_on_both_sides() {
    let world = World::new();
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    world.apply(&a).await;
    let mut s = spec(SECONDARY_ONLY);
    s.record_type = crate::api::RecordType::AAAA;
    s.secondary.as_mut().expect("side").addresses = Some(vec!["2600:1f18::20".into()]);
    let b = world.placed_for(cluster("cluster-b"), &s);
    let plan = world.plan(&b).await;
    assert!(
        plan.disputes
            .iter()
            .any(|d| d.message.contains("same type")),
        "{:?}",
        plan.disputes
    );
    world.execute(&[plan]).await;
    let a_plan = world.plan(&a).await;
    assert!(
        a_plan
            .disputes
            .iter()
            .any(|d| d.message.contains("same type")),
        "{:?}",
        a_plan.disputes
    );
}

#[tokio::test]
async fn a_pair_managed_from_one_place_hands_a_side_over() {
    let world = World::new();
    let both = world.placed_for(cluster("cluster-a"), &spec(BASE));
    world.apply(&both).await;
    assert_eq!(world.marker_entries().len(), 1);

    // Cluster A lets the secondary go; cluster B takes it.
    let mut s = spec(BASE);
    s.manage = crate::api::Manage::Primary;
    s.secondary = None;
    let a = world.placed_for(cluster("cluster-a"), &s);
    world.apply(&a).await;
    assert_eq!(world.side_record("secondary"), None);
    assert!(world.side_record("primary").is_some());
    let b = world.placed_for(cluster("cluster-b"), &spec(SECONDARY_ONLY));
    world.apply(&b).await;
    assert!(world.side_record("secondary").is_some());
    assert!(world.plan(&a).await.is_empty());
    assert!(world.plan(&b).await.is_empty());
}

#[tokio::test]
async fn a_side_someone_made_by_hand_is_the_other_installations_business() {
    let world = World::new();
    let mut hand_made = simple_a(FQDN, "203.0.113.20");
    hand_made.set_identifier = Some("static".into());
    hand_made.failover = Some(Failover::Secondary);
    hand_made.ttl = Some(60);
    world.put(hand_made.clone());
    let a = world.placed_for(cluster("cluster-a"), &spec(PRIMARY_ONLY));
    let plan = world.plan(&a).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    world.execute(&[plan]).await;
    assert_eq!(world.side_record("static"), Some(hand_made));
    let snapshot = world.snapshot().await;
    let seen = peers(&a, snapshot.observed(&world.zone.id).expect("zone"));
    assert_eq!(
        seen.get(&Failover::Secondary).map(|p| p.holder.as_str()),
        Some("outside dnsfailover")
    );
}
