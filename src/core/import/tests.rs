//! Import: what exists becomes the spec that says exactly that, and applying
//! it takes the pair over with no record change and the same health check.

use super::*;
use crate::core::ownership::Owner;
use crate::core::plan::plan_apply;
use crate::core::plan::scenarios::World;
use crate::core::validate::desired_from_spec;
use crate::route53::{Change, ChangeAction, HealthCheckConfig, Route53};

const FQDN: &str = "www.example.com.";

fn failover(role: Failover, set: &str, ip: &str, check: Option<&str>) -> RecordSet {
    RecordSet {
        name: FQDN.into(),
        rr_type: RrType::A,
        set_identifier: Some(set.into()),
        failover: Some(role),
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: check.map(str::to_string),
        other_routing: None,
    }
}

fn request(manage: Manage) -> ImportRequest<'static> {
    ImportRequest {
        zone: HostedZoneRef {
            id: None,
            name: Some("example.com".into()),
            private: None,
            role_arn: None,
        },
        zone_name: "example.com.",
        name: "www".into(),
        rr_type: RrType::A,
        manage,
    }
}

/// A hand-made pair in the fake, with an HTTPS string-matching check on the
/// primary (three regions, a Host header) and a TCP check on the secondary.
async fn hand_made(world: &World) -> (String, String) {
    let mut primary_check = HealthCheckConfig::http("52.94.236.10", 10);
    primary_check.kind = HealthCheckKind::HttpsStrMatch;
    primary_check.port = 8443;
    primary_check.resource_path = Some("/status".into());
    primary_check.search_string = Some("EC2 Primary".into());
    primary_check.fqdn = Some("www.example.com".into());
    primary_check.enable_sni = true;
    primary_check.failure_threshold = 2;
    primary_check.regions = vec!["eu-west-1".into(), "us-east-1".into(), "us-west-2".into()];
    let mut secondary_check = HealthCheckConfig::http("52.95.110.20", 30);
    secondary_check.kind = HealthCheckKind::Tcp;
    secondary_check.port = 443;
    secondary_check.resource_path = None;
    let p = world
        .fake
        .create_health_check("console-1", &primary_check)
        .await
        .expect("check");
    let s = world
        .fake
        .create_health_check("console-2", &secondary_check)
        .await
        .expect("check");
    world
        .fake
        .change_record_sets(
            &world.zone.id,
            &[
                Change {
                    action: ChangeAction::Create,
                    record: failover(Failover::Primary, "blue", "52.94.236.10", Some(&p.id)),
                },
                Change {
                    action: ChangeAction::Create,
                    record: failover(Failover::Secondary, "green", "52.95.110.20", Some(&s.id)),
                },
            ],
        )
        .await
        .expect("the hand-made pair");
    (p.id, s.id)
}

#[tokio::test]
async fn an_exact_import_takes_the_pair_over_with_no_record_change_and_the_same_checks() {
    let world = World::new();
    let (primary_check, secondary_check) = hand_made(&world).await;
    let before = world.fake.records(&world.zone.id);
    let snapshot = world.snapshot().await;
    let spec = spec_of(
        &request(Manage::Both),
        FQDN,
        &before,
        &snapshot.health_checks.iter().cloned().collect::<Vec<_>>(),
    )
    .expect("importable");
    assert!(spec.adopt_existing);
    assert_eq!(
        spec.primary
            .as_ref()
            .and_then(|p| p.set_identifier.as_deref()),
        Some("blue")
    );

    // What `import` prints is a manifest the API server accepts.
    let manifest = serde_json::json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": "www", "namespace": "default"},
        "spec": serde_json::to_value(&spec).expect("spec serialises"),
    });
    let admitted = crate::api::admission::admit(&manifest).expect("admitted as is");
    assert_eq!(admitted.spec, spec);

    let record = desired_from_spec(Owner::new("test", "default", "www"), &spec)
        .expect("valid")
        .place(world.zone.clone())
        .expect("placed");
    let plan = plan_apply(&record, snapshot.observed(&world.zone.id).expect("zone"));
    let record_changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.record.rr_type != RrType::TXT)
        .collect();
    assert!(record_changes.is_empty(), "{record_changes:#?}");
    assert_eq!(plan.record_change_count(), 0);
    assert_eq!(plan.marker_change_count(), 1);
    assert_eq!(
        plan.changes.iter().map(|c| c.action).collect::<Vec<_>>(),
        vec![ChangeAction::Create],
        "the marker, in the one batch"
    );
    assert!(plan.create_checks.is_empty(), "{:?}", plan.create_checks);
    assert!(plan.update_checks.is_empty(), "{:?}", plan.update_checks);
    assert!(plan.delete_checks.is_empty(), "{:?}", plan.delete_checks);
    let mut retagged: Vec<&str> = plan.retag_checks.iter().map(|r| r.id.as_str()).collect();
    retagged.sort();
    let mut both = vec![primary_check.as_str(), secondary_check.as_str()];
    both.sort();
    assert_eq!(retagged, both, "both checks are tagged as this owner's");

    world.fake.clear_calls();
    world.execute(std::slice::from_ref(&plan)).await;
    assert_eq!(
        world
            .fake
            .writes()
            .iter()
            .filter(|w| **w == crate::route53::Operation::ChangeResourceRecordSets)
            .count(),
        1,
        "one atomic batch"
    );
    let after: Vec<RecordSet> = world
        .fake
        .records(&world.zone.id)
        .into_iter()
        .filter(|r| r.rr_type != RrType::TXT)
        .collect();
    assert_eq!(after, before, "the records are exactly as they were");
    assert_eq!(world.fake.health_checks().len(), 2, "the same two checks");
    assert_eq!(
        world
            .fake
            .tags_of(&primary_check)
            .and_then(|t| t.get(ownership::TAG_OWNER).cloned()),
        Some("test".to_string())
    );
    assert!(
        world.plan(&record).await.is_empty(),
        "taken over: nothing left to do"
    );

    // From now on they are this owner's: deleting removes records and checks.
    world.delete(&Owner::new("test", "default", "www")).await;
    assert!(world.fake.records(&world.zone.id).is_empty());
    assert!(world.fake.health_checks().is_empty());
}

#[tokio::test]
async fn one_side_of_a_pair_is_imported_for_split_ownership() {
    let world = World::new();
    hand_made(&world).await;
    let snapshot = world.snapshot().await;
    let spec = spec_of(
        &request(Manage::Primary),
        FQDN,
        &world.fake.records(&world.zone.id),
        &snapshot.health_checks.iter().cloned().collect::<Vec<_>>(),
    )
    .expect("importable");
    assert_eq!(spec.manage, Manage::Primary);
    assert!(spec.secondary.is_none());
    let record = desired_from_spec(Owner::new("cluster-a", "web", "www"), &spec)
        .expect("valid")
        .place(world.zone.clone())
        .expect("placed");
    let plan = plan_apply(&record, snapshot.observed(&world.zone.id).expect("zone"));
    assert_eq!(plan.record_change_count(), 0, "{plan:#?}");
    assert!(plan.disputes.is_empty() && plan.conflicts.is_empty());
}

#[tokio::test]
async fn the_side_another_installation_manages_is_not_imported_but_the_other_is() {
    use crate::core::ownership::{Marker, marker_name, record_of};
    let world = World::new();
    hand_made(&world).await;
    // Cluster B already manages the SECONDARY (split ownership).
    let mut entry = Marker::empty(&Owner::new("cluster-b", "web", "www"));
    entry.set_holds(Failover::Secondary, Some("green".into()));
    world.put(record_of(
        &marker_name(FQDN, &RrType::A),
        vec![entry.to_txt_value()],
    ));
    let snapshot = world.snapshot().await;
    let import = |manage| {
        spec_of(
            &request(manage),
            FQDN,
            &world.fake.records(&world.zone.id),
            &snapshot.health_checks.iter().cloned().collect::<Vec<_>>(),
        )
    };
    let spec = import(Manage::Primary).expect("the PRIMARY is nobody's yet");
    assert!(spec.primary.is_some() && spec.secondary.is_none());
    for manage in [Manage::Secondary, Manage::Both] {
        let refusal = import(manage).expect_err("cluster B's side");
        assert!(
            refusal.0.contains("already managed by dnsfailover") && refusal.0.contains("cluster-b"),
            "{refusal}"
        );
    }
}

#[tokio::test]
async fn a_check_the_spec_cannot_express_is_refused_naming_it() {
    let world = World::new();
    let mut calculated = HealthCheckConfig::http("52.94.236.10", 30);
    calculated.kind = HealthCheckKind::Other("CALCULATED".into());
    let check = world
        .fake
        .create_health_check("console-calc", &calculated)
        .await
        .expect("check");
    world.put(failover(
        Failover::Primary,
        "primary",
        "52.94.236.10",
        Some(&check.id),
    ));
    world.put(failover(
        Failover::Secondary,
        "secondary",
        "52.95.110.20",
        None,
    ));
    let snapshot = world.snapshot().await;
    let refusal = spec_of(
        &request(Manage::Both),
        FQDN,
        &world.fake.records(&world.zone.id),
        &snapshot.health_checks.iter().cloned().collect::<Vec<_>>(),
    )
    .expect_err("refused");
    assert!(refusal.0.contains(&check.id), "{refusal}");
    assert!(refusal.0.contains("CALCULATED"), "{refusal}");
    assert!(refusal.0.contains("cannot express"), "{refusal}");
}

#[test]
fn what_is_not_one_pair_is_refused_with_the_reason() {
    let check = HealthCheck {
        id: "hc-1".into(),
        caller_reference: "console".into(),
        version: 1,
        config: HealthCheckConfig::http("52.94.236.10", 10),
    };
    let checks = [check];
    let pair = [
        failover(Failover::Primary, "primary", "52.94.236.10", Some("hc-1")),
        failover(Failover::Secondary, "secondary", "52.95.110.20", None),
    ];
    let refused = |records: &[RecordSet], needle: &str| {
        let refusal = spec_of(&request(Manage::Both), FQDN, records, &checks).expect_err(needle);
        assert!(refusal.0.contains(needle), "{refusal}");
    };
    refused(&[], "nothing to import");
    let mut simple = pair[1].clone();
    simple.failover = None;
    simple.set_identifier = None;
    refused(&[simple.clone()], "simple routing");
    refused(&[simple.clone()], "adoptExisting: true");
    let mut weighted = simple;
    weighted.set_identifier = Some("blue".into());
    weighted.other_routing = Some("weighted".into());
    refused(&[weighted.clone()], "weighted routing");
    refused(&[weighted], "delete those record sets first");
    refused(&pair[..1], "no SECONDARY");
    let mut slow = pair[1].clone();
    slow.ttl = Some(300);
    refused(&[pair[0].clone(), slow], "one TTL");
    let mut gone = pair[0].clone();
    gone.health_check_id = Some("hc-missing".into());
    refused(&[gone, pair[1].clone()], "does not exist");
    let marker = Marker::new(&Owner::new("prod", "web", "www"), "primary", "secondary")
        .record(&ownership::marker_name(FQDN, &RrType::A));
    refused(
        &[pair[0].clone(), pair[1].clone(), marker],
        "already managed by dnsfailover",
    );
    assert!(spec_of(&request(Manage::Both), FQDN, &pair, &checks).is_ok());
}

#[test]
fn object_names_come_from_the_record_name() {
    assert_eq!(object_name("www.example.com.", "example.com."), "www");
    assert_eq!(object_name("example.com.", "example.com."), "apex");
    assert_eq!(object_name("*.api.example.com.", "example.com."), "x-api");
    assert_eq!(object_name("_sip.example.com.", "example.com."), "sip");
}
