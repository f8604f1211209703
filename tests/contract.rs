//! One contract suite for the Route 53 port, run against the in-memory fake and
//! against moto's Route 53 emulator through the AWS SDK adapter. Where moto does
//! not implement a Route 53 rule, the moto variant asserts what moto does
//! instead and says so on stderr: the gap is recorded, never silently skipped,
//! and the test fails if moto starts enforcing the rule.
//!
//! Long because every Route 53 rule the code relies on has its own contract
//! here, run twice (fake and moto); splitting would separate a rule from the
//! gap list (`MOTO_GAPS`) that documents it.

mod support;

use std::collections::BTreeMap;

use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{
    self, AliasTarget, Change, ChangeAction, ChangeState, ErrorKind, Failover, HealthCheckConfig,
    HealthCheckKind, HealthCheckUpdate, RecordSet, ResettableElement, Route53, RrType, Tags, Zone,
};
use support::Moto;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fake,
    Moto,
}

/// Route 53 rules moto does not implement, and what it does instead.
const MOTO_GAPS: &[(&str, &str)] = &[
    (
        "caller-reference-idempotency",
        "creates a second health check for a repeated CallerReference",
    ),
    (
        "caller-reference-conflict",
        "accepts a repeated CallerReference with different settings",
    ),
    (
        "health-check-in-use",
        "deletes a health check that a record set still refers to",
    ),
    (
        "delete-unknown-health-check",
        "answers success when deleting a health check that does not exist",
    ),
    (
        "create-existing-record",
        "accepts CREATE of a record set that already exists (unless the identical change was sent before)",
    ),
    (
        "recreate-deleted-record",
        "refuses to CREATE a record set again exactly as it was before (one side of a failover pair deleted while the other side stayed; a shared ownership marker rewritten back to the entries it held before, when the second owner leaves); restoring it with changed content works",
    ),
    (
        "primary-needs-health-check",
        "accepts a non-alias PRIMARY failover record without a health check",
    ),
    ("change-propagation", "reports every change INSYNC at once"),
    (
        "health-status",
        "reports one healthy observation for every health check",
    ),
    (
        "delete-by-set-identifier",
        "DELETE with a set identifier removes every record set with that identifier in the zone",
    ),
    (
        "start-record-identifier",
        "ignores StartRecordIdentifier, so a page that starts inside a name and type repeats records of the previous page",
    ),
    (
        "batch-character-limit",
        "accepts a change batch with more than 32,000 characters of values (it counts only the 1,000 values)",
    ),
    (
        "calculated-child-in-use",
        "deletes a health check that a calculated health check counts as a child",
    ),
    (
        "health-check-version",
        "never increments HealthCheckVersion, so it cannot refuse an update planned against a stale version",
    ),
];

fn moto_lacks(rule: &str) {
    let what = MOTO_GAPS
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, w)| *w)
        .unwrap_or_else(|| panic!("rule {rule} is not listed in MOTO_GAPS"));
    eprintln!("moto lacks the Route 53 rule '{rule}': it {what}; the in-memory fake enforces it");
}

async fn zone_on(kind: Kind, fake: &FakeRoute53, moto: Option<&Moto>, name: &str) -> Zone {
    match (kind, moto) {
        (Kind::Moto, Some(moto)) => moto.create_zone(name).await,
        _ => fake.create_zone(name, false),
    }
}

/// Runs `$body` (an async fn taking `(kind, &impl Route53, Zone)`) on both
/// implementations.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn fake() {
                let fake = FakeRoute53::new();
                let zone = zone_on(Kind::Fake, &fake, None, "example.com").await;
                super::$name(Kind::Fake, &fake, zone).await;
            }

            #[tokio::test]
            async fn moto() {
                let moto = Moto::start();
                let r53 = moto.route53().await;
                let zone =
                    zone_on(Kind::Moto, &FakeRoute53::new(), Some(&moto), "example.com").await;
                super::$name(Kind::Moto, &r53, zone).await;
            }
        }
    };
}

fn check_config(ip: &str) -> HealthCheckConfig {
    HealthCheckConfig {
        kind: HealthCheckKind::Http,
        ip_address: Some(ip.into()),
        fqdn: None,
        port: 80,
        resource_path: Some("/index.html".into()),
        search_string: None,
        request_interval: 10,
        failure_threshold: 3,
        measure_latency: false,
        inverted: false,
        disabled: false,
        enable_sni: false,
        regions: vec![],
        children: Vec::new(),
        health_threshold: 0,
    }
}

fn failover(name: &str, role: Failover, ip: &str, check: Option<&str>) -> RecordSet {
    RecordSet {
        name: name.into(),
        rr_type: RrType::A,
        set_identifier: Some(role.as_str().into()),
        failover: Some(role),
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: check.map(str::to_string),
        other_routing: None,
    }
}

/// A record set with simple routing.
fn simple(name: String, values: Vec<String>) -> RecordSet {
    RecordSet {
        name,
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values,
        alias: None,
        health_check_id: None,
        other_routing: None,
    }
}

fn create(record: RecordSet) -> Change {
    Change {
        action: ChangeAction::Create,
        record,
    }
}

fn ours(records: Vec<RecordSet>, zone: &Zone) -> Vec<RecordSet> {
    records
        .into_iter()
        .filter(|r| {
            !(r.name == zone.name
                && matches!(&r.rr_type, RrType::Other(t) if t == "NS" || t == "SOA"))
        })
        .collect()
}

/// The zone holds nothing but its own NS and SOA: a refused batch applied
/// nothing.
async fn assert_nothing_applied(r53: &impl Route53, zone: &Zone) {
    let records = route53::list_all_record_sets(r53, &zone.id)
        .await
        .expect("list");
    assert!(ours(records, zone).is_empty(), "nothing applied");
}

// ----- zones -----

contract!(zones_are_found_by_id_and_by_exact_name);
async fn zones_are_found_by_id_and_by_exact_name(kind: Kind, r53: &impl Route53, zone: Zone) {
    // GetHostedZone also names the zone's name servers (the DNS answer watch
    // asks them); ListHostedZonesByName does not.
    let by_id = r53.get_hosted_zone(&zone.id).await.expect("by id");
    let bare = |z: &Zone| Zone {
        name_servers: Vec::new(),
        ..z.clone()
    };
    assert_eq!(bare(&by_id), bare(&zone));
    if kind == Kind::Moto {
        assert_eq!(by_id.name_servers.len(), 4, "{by_id:?}");
    }
    assert_eq!(
        r53.get_hosted_zone(&format!("/hostedzone/{}", zone.id))
            .await
            .expect("prefixed id"),
        by_id
    );
    assert_eq!(
        r53.list_hosted_zones_by_name("example.com")
            .await
            .expect("by name"),
        vec![bare(&zone)]
    );
    assert_eq!(
        r53.list_hosted_zones_by_name("EXAMPLE.com.")
            .await
            .expect("by name"),
        vec![bare(&zone)]
    );
    assert!(
        r53.list_hosted_zones_by_name("other.example")
            .await
            .expect("by name")
            .is_empty()
    );
    let missing = r53
        .get_hosted_zone("ZNOSUCHZONE1")
        .await
        .expect_err("missing");
    assert_eq!(missing.kind, ErrorKind::NotFound);
    assert_eq!(
        route53::list_all_hosted_zones(r53)
            .await
            .expect("every zone of the account"),
        vec![zone],
        "`gc` finds every record set through the list of zones"
    );
}

// ----- record sets -----

contract!(failover_record_sets_round_trip);
async fn failover_record_sets_round_trip(_: Kind, r53: &impl Route53, zone: Zone) {
    let check = r53
        .create_health_check("contract-roundtrip", &check_config("198.51.100.10"))
        .await
        .expect("check");
    let name = format!("www.{}", zone.name);
    let alias = RecordSet {
        name: format!("lb.{}", zone.name),
        rr_type: RrType::A,
        set_identifier: Some("lb-primary".into()),
        failover: Some(Failover::Primary),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            dns_name: "my-lb-1.us-east-1.elb.amazonaws.com".into(),
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_routing: None,
    };
    let marker = RecordSet {
        name: format!("_dnsfailover-a.www.{}", zone.name),
        rr_type: RrType::TXT,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec!["\"heritage=dnsfailover,owner=x%2Cy\" \"part two\"".into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    let sent = vec![
        failover(&name, Failover::Primary, "198.51.100.10", Some(&check.id)),
        failover(&name, Failover::Secondary, "198.51.100.20", None),
        alias,
        marker,
    ];
    let info = r53
        .change_record_sets(
            &zone.id,
            &sent.iter().cloned().map(create).collect::<Vec<_>>(),
        )
        .await
        .expect("batch");
    assert!(!info.id.is_empty() && !info.id.starts_with("/change/"));
    let listed = ours(
        route53::list_all_record_sets(r53, &zone.id)
            .await
            .expect("list"),
        &zone,
    );
    for record in &sent {
        assert!(
            listed.contains(record),
            "{record:?} not listed as sent; listed: {listed:#?}"
        );
    }
}

contract!(listing_pages_through_a_large_zone);
async fn listing_pages_through_a_large_zone(_: Kind, r53: &impl Route53, zone: Zone) {
    let records: Vec<Change> = (0..650)
        .map(|i| {
            create(simple(
                format!("host-{i:04}.{}", zone.name),
                vec![format!("198.51.100.{}", i % 250 + 1)],
            ))
        })
        .collect();
    for chunk in records.chunks(300) {
        r53.change_record_sets(&zone.id, chunk)
            .await
            .expect("batch");
    }
    let first = r53
        .list_record_sets_page(&zone.id, None)
        .await
        .expect("page");
    assert_eq!(
        first.items.len(),
        300,
        "Route 53 pages hold 300 record sets"
    );
    assert!(first.next.is_some());
    let all = ours(
        route53::list_all_record_sets(r53, &zone.id)
            .await
            .expect("list"),
        &zone,
    );
    assert_eq!(all.len(), 650);
    let mut names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 650, "no record set listed twice across pages");
}

contract!(listing_pages_split_inside_a_failover_pair);
async fn listing_pages_split_inside_a_failover_pair(kind: Kind, r53: &impl Route53, zone: Zone) {
    // With the zone's own records (NS and SOA on moto), 299 record sets sort
    // before the pair, so the page boundary falls between its PRIMARY and
    // SECONDARY.
    let present = route53::list_all_record_sets(r53, &zone.id)
        .await
        .expect("list")
        .len();
    let mut changes: Vec<Change> = (0..299 - present)
        .map(|i| {
            create(simple(
                format!("a-{i:03}.{}", zone.name),
                vec!["198.51.100.1".into()],
            ))
        })
        .collect();
    let check = r53
        .create_health_check("contract-pair", &check_config("198.51.100.10"))
        .await
        .expect("check");
    let pair = format!("b.{}", zone.name);
    changes.push(create(failover(
        &pair,
        Failover::Primary,
        "198.51.100.10",
        Some(&check.id),
    )));
    changes.push(create(failover(
        &pair,
        Failover::Secondary,
        "198.51.100.20",
        None,
    )));
    r53.change_record_sets(&zone.id, &changes)
        .await
        .expect("batch");
    let all = ours(
        route53::list_all_record_sets(r53, &zone.id)
            .await
            .expect("list"),
        &zone,
    );
    assert_eq!(all.len(), 301 - present, "each record set listed once");
    assert_eq!(all.iter().filter(|r| r.name == pair).count(), 2);
    if kind == Kind::Moto {
        let first = r53
            .list_record_sets_page(&zone.id, None)
            .await
            .expect("page");
        let next = first.next.expect("a second page");
        let second = r53
            .list_record_sets_page(&zone.id, Some(&next))
            .await
            .expect("page");
        let repeated = second
            .items
            .iter()
            .filter(|r| first.items.contains(r))
            .count();
        moto_lacks("start-record-identifier");
        assert!(
            repeated > 0,
            "moto now honours StartRecordIdentifier: remove it from MOTO_GAPS"
        );
    }
}

contract!(a_batch_over_1000_values_is_refused);
async fn a_batch_over_1000_values_is_refused(_: Kind, r53: &impl Route53, zone: Zone) {
    let record = |i: usize, n: usize| RecordSet {
        name: format!("big-{i}.{}", zone.name),
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(60),
        values: (0..n)
            .map(|j| format!("198.51.{}.{}", j / 250, j % 250 + 1))
            .collect(),
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    let over: Vec<Change> = (0..3).map(|i| create(record(i, 334))).collect();
    let err = r53
        .change_record_sets(&zone.id, &over)
        .await
        .expect_err("1,002 values");
    assert_eq!(err.kind, ErrorKind::InvalidChangeBatch);
    // UPSERT counts twice: 501 values upserted are 1,002.
    let upsert = vec![Change {
        action: ChangeAction::Upsert,
        record: record(9, 501),
    }];
    let err = r53
        .change_record_sets(&zone.id, &upsert)
        .await
        .expect_err("501 upserted values");
    assert_eq!(err.kind, ErrorKind::InvalidChangeBatch);
    assert_nothing_applied(r53, &zone).await;
    let within: Vec<Change> = (0..2).map(|i| create(record(i, 500))).collect();
    r53.change_record_sets(&zone.id, &within)
        .await
        .expect("1,000 values fit");
}

contract!(a_batch_over_32000_characters_is_refused);
async fn a_batch_over_32000_characters_is_refused(kind: Kind, r53: &impl Route53, zone: Zone) {
    // TXT values of 250 characters (a TXT string holds at most 255), 8 per
    // record set: 2,000 characters a record set, far below 1,000 values.
    let record = |i: usize, n: usize| RecordSet {
        name: format!("chars-{i}.{}", zone.name),
        rr_type: RrType::TXT,
        set_identifier: None,
        failover: None,
        ttl: Some(60),
        values: (0..n)
            .map(|j| format!("\"{}{j:03}\"", "x".repeat(245)))
            .collect(),
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    let chars = |changes: &[Change]| -> usize {
        changes
            .iter()
            .flat_map(|c| c.record.values.iter())
            .map(String::len)
            .sum()
    };
    let over: Vec<Change> = (0..16)
        .map(|i| create(record(i, 8)))
        .chain([create(record(16, 1))])
        .collect();
    assert_eq!(chars(&over), 32_250);
    let refused = r53.change_record_sets(&zone.id, &over).await;
    // UPSERT counts twice: 16,250 characters upserted are 32,500.
    let upsert: Vec<Change> = (0..8)
        .map(|i| Change {
            action: ChangeAction::Upsert,
            record: record(20 + i, 8),
        })
        .chain([Change {
            action: ChangeAction::Upsert,
            record: record(28, 1),
        }])
        .collect();
    assert_eq!(chars(&upsert), 16_250);
    let refused_upsert = r53.change_record_sets(&zone.id, &upsert).await;
    match kind {
        Kind::Fake => {
            assert_eq!(
                refused.expect_err("32,250 characters").kind,
                ErrorKind::InvalidChangeBatch
            );
            assert_eq!(
                refused_upsert.expect_err("16,250 characters upserted").kind,
                ErrorKind::InvalidChangeBatch
            );
            assert_nothing_applied(r53, &zone).await;
            let within: Vec<Change> = (40..56).map(|i| create(record(i, 8))).collect();
            assert_eq!(chars(&within), 32_000);
            r53.change_record_sets(&zone.id, &within)
                .await
                .expect("32,000 characters fit");
        }
        Kind::Moto => {
            moto_lacks("batch-character-limit");
            assert!(
                refused.is_ok() && refused_upsert.is_ok(),
                "moto now counts characters: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(a_batch_applies_all_or_nothing);
async fn a_batch_applies_all_or_nothing(_: Kind, r53: &impl Route53, zone: Zone) {
    let name = format!("atomic.{}", zone.name);
    let good = create(failover(&name, Failover::Secondary, "198.51.100.20", None));
    let bad = Change {
        action: ChangeAction::Delete,
        record: failover(
            &format!("missing.{}", zone.name),
            Failover::Secondary,
            "198.51.100.30",
            None,
        ),
    };
    let err = r53
        .change_record_sets(&zone.id, &[good, bad])
        .await
        .expect_err("delete of a missing record");
    assert!(
        matches!(
            err.kind,
            ErrorKind::InvalidChangeBatch | ErrorKind::InvalidInput
        ),
        "{err}"
    );
    assert!(
        ours(
            route53::list_all_record_sets(r53, &zone.id)
                .await
                .expect("list"),
            &zone
        )
        .is_empty()
    );
}

contract!(create_of_an_existing_record_set_fails);
async fn create_of_an_existing_record_set_fails(kind: Kind, r53: &impl Route53, zone: Zone) {
    let name = format!("dup.{}", zone.name);
    r53.change_record_sets(
        &zone.id,
        &[create(failover(
            &name,
            Failover::Secondary,
            "198.51.100.20",
            None,
        ))],
    )
    .await
    .expect("first");
    let again = r53
        .change_record_sets(
            &zone.id,
            &[create(failover(
                &name,
                Failover::Secondary,
                "198.51.100.21",
                None,
            ))],
        )
        .await;
    match kind {
        Kind::Fake => assert_eq!(
            again.expect_err("exists").kind,
            ErrorKind::InvalidChangeBatch
        ),
        Kind::Moto => {
            moto_lacks("create-existing-record");
            assert!(
                again.is_ok(),
                "moto now refuses CREATE of an existing record: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(a_deleted_record_set_can_be_created_again);
async fn a_deleted_record_set_can_be_created_again(kind: Kind, r53: &impl Route53, zone: Zone) {
    // One side of a pair deleted out of band, then restored as it was.
    let name = format!("again.{}", zone.name);
    let check = r53
        .create_health_check("again-check", &check_config("203.0.113.30"))
        .await
        .expect("check");
    let primary = failover(&name, Failover::Primary, "203.0.113.30", Some(&check.id));
    let record = failover(&name, Failover::Secondary, "198.51.100.20", None);
    r53.change_record_sets(&zone.id, &[create(primary), create(record.clone())])
        .await
        .expect("create the pair");
    r53.change_record_sets(
        &zone.id,
        &[Change {
            action: ChangeAction::Delete,
            record: record.clone(),
        }],
    )
    .await
    .expect("delete");
    let again = r53.change_record_sets(&zone.id, &[create(record)]).await;
    match kind {
        Kind::Fake => {
            again.expect("Route 53 creates a deleted record set again");
        }
        Kind::Moto => {
            moto_lacks("recreate-deleted-record");
            assert!(
                again.is_err(),
                "moto now creates a deleted record set again: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(a_shared_marker_can_return_to_what_it_held_before);
/// Two owners share one marker record set: each rewrites it (exact DELETE
/// and CREATE in one batch) to add or remove its own entry, so the marker
/// can hold again exactly what it held before.
async fn a_shared_marker_can_return_to_what_it_held_before(
    kind: Kind,
    r53: &impl Route53,
    zone: Zone,
) {
    let name = format!("_dnsfailover-a.shared.{}", zone.name);
    let marker = |values: &[&str]| RecordSet {
        name: name.clone(),
        rr_type: RrType::TXT,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: values.iter().map(|v| format!("\"{v}\"")).collect(),
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    let rewrite = |from: RecordSet, to: RecordSet| {
        vec![
            Change {
                action: ChangeAction::Delete,
                record: from,
            },
            create(to),
        ]
    };
    r53.change_record_sets(&zone.id, &[create(marker(&["a"]))])
        .await
        .expect("the first owner's entry");
    r53.change_record_sets(&zone.id, &rewrite(marker(&["a"]), marker(&["a", "b"])))
        .await
        .expect("the second owner joins");
    let back = r53
        .change_record_sets(&zone.id, &rewrite(marker(&["a", "b"]), marker(&["a"])))
        .await;
    match kind {
        Kind::Fake => {
            back.expect("Route 53 lets the second owner leave");
        }
        Kind::Moto => {
            moto_lacks("recreate-deleted-record");
            assert!(
                back.is_err(),
                "moto now restores a record set to earlier content: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(delete_must_repeat_the_record_exactly);
async fn delete_must_repeat_the_record_exactly(_: Kind, r53: &impl Route53, zone: Zone) {
    let name = format!("exact.{}", zone.name);
    let record = failover(&name, Failover::Secondary, "198.51.100.20", None);
    r53.change_record_sets(&zone.id, &[create(record.clone())])
        .await
        .expect("create");
    let mut wrong = record.clone();
    wrong.values = vec!["198.51.100.99".into()];
    let err = r53
        .change_record_sets(
            &zone.id,
            &[Change {
                action: ChangeAction::Delete,
                record: wrong,
            }],
        )
        .await
        .expect_err("values differ");
    assert!(
        matches!(
            err.kind,
            ErrorKind::InvalidChangeBatch | ErrorKind::InvalidInput
        ),
        "{err}"
    );
    r53.change_record_sets(
        &zone.id,
        &[Change {
            action: ChangeAction::Delete,
            record,
        }],
    )
    .await
    .expect("exact delete");
    assert!(
        ours(
            route53::list_all_record_sets(r53, &zone.id)
                .await
                .expect("list"),
            &zone
        )
        .is_empty()
    );
}

contract!(a_non_alias_primary_needs_a_health_check);
async fn a_non_alias_primary_needs_a_health_check(kind: Kind, r53: &impl Route53, zone: Zone) {
    let name = format!("nocheck.{}", zone.name);
    let result = r53
        .change_record_sets(
            &zone.id,
            &[create(failover(
                &name,
                Failover::Primary,
                "198.51.100.10",
                None,
            ))],
        )
        .await;
    match kind {
        Kind::Fake => {
            let err = result.expect_err("refused");
            assert_eq!(err.kind, ErrorKind::InvalidChangeBatch);
            assert!(
                err.message.contains("must have an associated health check"),
                "{err}"
            );
        }
        Kind::Moto => {
            moto_lacks("primary-needs-health-check");
            assert!(
                result.is_ok(),
                "moto now enforces health checks on primaries: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(delete_by_set_identifier_is_scoped_to_the_name);
async fn delete_by_set_identifier_is_scoped_to_the_name(
    kind: Kind,
    r53: &impl Route53,
    zone: Zone,
) {
    let a = failover(
        &format!("a.{}", zone.name),
        Failover::Secondary,
        "198.51.100.1",
        None,
    );
    let b = failover(
        &format!("b.{}", zone.name),
        Failover::Secondary,
        "198.51.100.2",
        None,
    );
    r53.change_record_sets(&zone.id, &[create(a.clone()), create(b.clone())])
        .await
        .expect("create");
    r53.change_record_sets(
        &zone.id,
        &[Change {
            action: ChangeAction::Delete,
            record: a,
        }],
    )
    .await
    .expect("delete a");
    let left = ours(
        route53::list_all_record_sets(r53, &zone.id)
            .await
            .expect("list"),
        &zone,
    );
    match kind {
        Kind::Fake => assert_eq!(left, vec![b]),
        Kind::Moto => {
            moto_lacks("delete-by-set-identifier");
            assert!(
                left.is_empty(),
                "moto now scopes DELETE to the name: remove it from MOTO_GAPS"
            );
        }
    }
}

// ----- health checks -----

contract!(health_checks_round_trip_with_their_caller_reference);
async fn health_checks_round_trip_with_their_caller_reference(
    _: Kind,
    r53: &impl Route53,
    _: Zone,
) {
    let mut https = check_config("198.51.100.10");
    https.kind = HealthCheckKind::HttpsStrMatch;
    https.search_string = Some("EC2 Primary".into());
    https.port = 443;
    https.enable_sni = true;
    https.fqdn = Some("www.example.com".into());
    https.regions = vec![
        "ap-southeast-1".into(),
        "eu-west-1".into(),
        "us-east-1".into(),
    ];
    https.inverted = true;
    let mut tcp = check_config("198.51.100.11");
    tcp.kind = HealthCheckKind::Tcp;
    tcp.resource_path = None;
    tcp.port = 5432;
    tcp.request_interval = 30;
    tcp.failure_threshold = 1;
    for (reference, config) in [("contract-https", &https), ("contract-tcp", &tcp)] {
        let created = r53
            .create_health_check(reference, config)
            .await
            .expect("create");
        assert_eq!(&created.config, config);
        assert_eq!(created.caller_reference, reference);
        let listed = route53::list_all_health_checks(r53).await.expect("list");
        let found = listed.iter().find(|c| c.id == created.id).expect("listed");
        assert_eq!(
            &found.config, config,
            "listing returns the settings as created"
        );
        assert_eq!(found.caller_reference, reference);
    }
}

contract!(updates_change_mutable_settings_and_reset_elements);
async fn updates_change_mutable_settings_and_reset_elements(
    kind: Kind,
    r53: &impl Route53,
    _: Zone,
) {
    let mut config = check_config("198.51.100.10");
    config.regions = vec!["eu-west-1".into(), "sa-east-1".into(), "us-west-2".into()];
    config.fqdn = Some("www.example.com".into());
    let created = r53
        .create_health_check("contract-update", &config)
        .await
        .expect("create");
    let mut wanted = config.clone();
    wanted.failure_threshold = 7;
    wanted.ip_address = Some("198.51.100.77".into());
    wanted.resource_path = Some("/ready".into());
    wanted.disabled = true;
    let updated = r53
        .update_health_check(
            &created.id,
            &HealthCheckUpdate {
                version: created.version,
                config: wanted.clone(),
                reset: vec![],
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.config, wanted);
    match kind {
        Kind::Fake => assert!(updated.version > created.version),
        Kind::Moto => {
            moto_lacks("health-check-version");
            assert_eq!(
                updated.version, created.version,
                "moto now increments versions: remove it from MOTO_GAPS"
            );
        }
    }
    let listed = route53::list_all_health_checks(r53).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .find(|c| c.id == created.id)
            .map(|c| &c.config),
        Some(&wanted)
    );
}

contract!(tags_are_added_listed_and_removed);
async fn tags_are_added_listed_and_removed(_: Kind, r53: &impl Route53, _: Zone) {
    let a = r53
        .create_health_check("contract-tags-a", &check_config("198.51.100.10"))
        .await
        .expect("a");
    let b = r53
        .create_health_check("contract-tags-b", &check_config("198.51.100.11"))
        .await
        .expect("b");
    let tags: Tags = BTreeMap::from([
        ("Name".to_string(), "www A primary".to_string()),
        ("dnsfailover.io/owner".to_string(), "x".to_string()),
    ]);
    r53.change_health_check_tags(&a.id, &tags, &[])
        .await
        .expect("tag");
    let listed = r53
        .list_health_check_tags(&[a.id.clone(), b.id.clone()])
        .await
        .expect("list");
    assert_eq!(listed.get(&a.id), Some(&tags));
    assert_eq!(listed.get(&b.id).map(|t| t.len()), Some(0));
    r53.change_health_check_tags(&a.id, &Tags::new(), &["Name".to_string()])
        .await
        .expect("untag");
    let listed = r53
        .list_health_check_tags(std::slice::from_ref(&a.id))
        .await
        .expect("list");
    assert_eq!(
        listed[&a.id].keys().collect::<Vec<_>>(),
        vec!["dnsfailover.io/owner"]
    );
}

contract!(a_caller_reference_makes_creation_idempotent);
async fn a_caller_reference_makes_creation_idempotent(kind: Kind, r53: &impl Route53, _: Zone) {
    let config = check_config("198.51.100.10");
    let first = r53
        .create_health_check("contract-idem", &config)
        .await
        .expect("first");
    let again = r53
        .create_health_check("contract-idem", &config)
        .await
        .expect("same reference, same settings");
    let mut other = config.clone();
    other.failure_threshold = 9;
    let conflicting = r53.create_health_check("contract-idem", &other).await;
    let count = route53::list_all_health_checks(r53)
        .await
        .expect("list")
        .iter()
        .filter(|c| c.caller_reference == "contract-idem")
        .count();
    match kind {
        Kind::Fake => {
            assert_eq!(again.id, first.id);
            assert_eq!(
                conflicting.expect_err("different settings").kind,
                ErrorKind::AlreadyExists
            );
            assert_eq!(count, 1);
        }
        Kind::Moto => {
            moto_lacks("caller-reference-idempotency");
            moto_lacks("caller-reference-conflict");
            assert_ne!(
                again.id, first.id,
                "moto now returns the existing check: remove it from MOTO_GAPS"
            );
            assert!(conflicting.is_ok());
            assert_eq!(count, 3);
        }
    }
}

contract!(a_check_in_use_cannot_be_deleted_and_deleting_twice_is_not_found);
async fn a_check_in_use_cannot_be_deleted_and_deleting_twice_is_not_found(
    kind: Kind,
    r53: &impl Route53,
    zone: Zone,
) {
    let check = r53
        .create_health_check("contract-inuse", &check_config("198.51.100.10"))
        .await
        .expect("check");
    let record = failover(
        &format!("inuse.{}", zone.name),
        Failover::Primary,
        "198.51.100.10",
        Some(&check.id),
    );
    r53.change_record_sets(&zone.id, &[create(record.clone())])
        .await
        .expect("record");
    let in_use = r53.delete_health_check(&check.id).await;
    match kind {
        Kind::Fake => {
            assert_eq!(in_use.expect_err("in use").kind, ErrorKind::InUse);
            r53.change_record_sets(
                &zone.id,
                &[Change {
                    action: ChangeAction::Delete,
                    record,
                }],
            )
            .await
            .expect("delete record");
            r53.delete_health_check(&check.id)
                .await
                .expect("now deletable");
            assert_eq!(
                r53.delete_health_check(&check.id)
                    .await
                    .expect_err("gone")
                    .kind,
                ErrorKind::NotFound
            );
        }
        Kind::Moto => {
            moto_lacks("health-check-in-use");
            assert!(
                in_use.is_ok(),
                "moto now enforces HealthCheckInUse: remove it from MOTO_GAPS"
            );
            moto_lacks("delete-unknown-health-check");
            assert!(
                r53.delete_health_check(&check.id).await.is_ok(),
                "moto now reports NoSuchHealthCheck: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(a_calculated_latch_counts_its_child_and_holds_by_its_threshold);
async fn a_calculated_latch_counts_its_child_and_holds_by_its_threshold(
    kind: Kind,
    r53: &impl Route53,
    _zone: Zone,
) {
    let child = r53
        .create_health_check("latch-child", &check_config("198.51.100.30"))
        .await
        .expect("child");
    let latch = r53
        .create_health_check("latch", &HealthCheckConfig::latch(&child.id, false))
        .await
        .expect("latch");
    assert_eq!(latch.config, HealthCheckConfig::latch(&child.id, false));
    assert!(!latch.config.holds());
    let listed = route53::list_all_health_checks(r53).await.expect("list");
    let read = listed.iter().find(|c| c.id == latch.id).expect("listed");
    assert_eq!(
        read.config,
        HealthCheckConfig::latch(&child.id, false),
        "read back exactly as written, so plans compare"
    );
    let held = r53
        .update_health_check(
            &latch.id,
            &HealthCheckUpdate {
                version: read.version,
                config: HealthCheckConfig::latch(&child.id, true),
                reset: Vec::new(),
            },
        )
        .await
        .expect("hold");
    assert!(held.config.holds());
    assert_eq!(held.caller_reference, "latch", "the reference comes back");
    let child_deleted = r53.delete_health_check(&child.id).await;
    match kind {
        Kind::Fake => assert_eq!(
            child_deleted.expect_err("a counted child").kind,
            ErrorKind::InUse
        ),
        Kind::Moto => {
            moto_lacks("calculated-child-in-use");
            assert!(
                child_deleted.is_ok(),
                "moto now refuses: remove it from MOTO_GAPS"
            );
        }
    }
}

contract!(changes_become_insync);
async fn changes_become_insync(kind: Kind, r53: &impl Route53, zone: Zone) {
    let info = r53
        .change_record_sets(
            &zone.id,
            &[create(failover(
                &format!("sync.{}", zone.name),
                Failover::Secondary,
                "198.51.100.20",
                None,
            ))],
        )
        .await
        .expect("batch");
    let mut polls = 0;
    let mut status = info.status;
    while status == ChangeState::Pending && polls < 10 {
        status = r53.get_change(&info.id).await.expect("get change").status;
        polls += 1;
    }
    assert_eq!(status, ChangeState::InSync);
    match kind {
        Kind::Fake => assert_eq!(info.status, ChangeState::Pending, "a change starts PENDING"),
        Kind::Moto => {
            moto_lacks("change-propagation");
            assert_eq!(info.status, ChangeState::InSync);
        }
    }
}

contract!(health_status_is_reported_per_checker);
async fn health_status_is_reported_per_checker(kind: Kind, r53: &impl Route53, _: Zone) {
    let check = r53
        .create_health_check("contract-status", &check_config("198.51.100.10"))
        .await
        .expect("check");
    let observations = r53
        .get_health_check_status(&check.id)
        .await
        .expect("status");
    assert!(!observations.is_empty());
    assert!(
        observations
            .iter()
            .all(|o| o.healthy && o.report.starts_with("Success"))
    );
    if kind == Kind::Moto {
        moto_lacks("health-status");
        assert_eq!(observations.len(), 1);
    }
    let missing = r53
        .get_health_check_status("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("unknown");
    assert_eq!(missing.kind, ErrorKind::NotFound);
}

contract!(an_update_against_a_stale_version_is_refused);
async fn an_update_against_a_stale_version_is_refused(kind: Kind, r53: &impl Route53, _: Zone) {
    let created = r53
        .create_health_check("contract-version", &check_config("198.51.100.10"))
        .await
        .expect("create");
    let mut wanted = created.config.clone();
    wanted.failure_threshold = 4;
    r53.update_health_check(
        &created.id,
        &HealthCheckUpdate {
            version: created.version,
            config: wanted.clone(),
            reset: vec![],
        },
    )
    .await
    .expect("first update");
    wanted.failure_threshold = 5;
    let stale = r53
        .update_health_check(
            &created.id,
            &HealthCheckUpdate {
                version: created.version,
                config: wanted,
                reset: vec![ResettableElement::Regions],
            },
        )
        .await;
    match kind {
        Kind::Fake => assert_eq!(
            stale.expect_err("stale version").kind,
            ErrorKind::VersionMismatch
        ),
        Kind::Moto => {
            moto_lacks("health-check-version");
            assert!(
                stale.is_ok(),
                "moto now checks versions: remove it from MOTO_GAPS"
            );
        }
    }
}
