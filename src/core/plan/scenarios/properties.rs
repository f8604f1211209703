//! Property tests of the planner's invariants, over random specs and random
//! foreign record sets in the zone:
//! (a) applying a plan and planning again gives an empty plan, and leaves
//!     exactly the health checks the spec asks for;
//! (b) planning is deterministic;
//! (c) no plan deletes or overwrites a record set this owner does not own.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn ips(v6: bool) -> impl Strategy<Value = Vec<String>> {
    let pool: Vec<String> = if v6 {
        vec!["2600:1f18::1", "2600:1f18::2", "2600:1F18:0::3"]
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        vec!["198.51.100.1", "198.51.100.2", "203.0.113.3"]
            .into_iter()
            .map(String::from)
            .collect()
    };
    proptest::sample::subsequence(pool, 1..=3)
}

fn health_check() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("HTTP"), Just("HTTPS"), Just("TCP")],
        prop_oneof![Just(10), Just(30)],
        1..=10i32,
        proptest::option::of(prop_oneof![Just("/"), Just("/health")]),
        proptest::option::of(prop_oneof![Just("OK"), Just("EC2 Primary")]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(Just(vec!["us-east-1", "eu-west-1", "ap-southeast-1"])),
    )
        .prop_map(
            |(
                protocol,
                interval,
                threshold,
                path,
                search,
                inverted,
                disabled,
                latency,
                regions,
            )| {
                let mut check = json!({
                    "protocol": protocol,
                    "requestInterval": interval,
                    "failureThreshold": threshold,
                    "inverted": inverted,
                    "disabled": disabled,
                    "measureLatency": latency,
                });
                if protocol == "TCP" {
                    check["port"] = json!(443);
                } else {
                    if let Some(path) = path {
                        check["path"] = json!(path);
                    }
                    if let Some(search) = search {
                        check["searchString"] = json!(search);
                    }
                }
                if let Some(regions) = regions {
                    check["regions"] = json!(regions);
                }
                check
            },
        )
}

fn spec_strategy() -> impl Strategy<Value = FailoverRecordSpec> {
    (
        prop_oneof![Just("www"), Just("api"), Just("@"), Just("www.example.com")],
        any::<bool>(),
        0..=300i64,
        proptest::option::of(prop_oneof![Just("primary"), Just("main")]),
        proptest::option::of(prop_oneof![Just("secondary"), Just("backup")]),
        health_check(),
        proptest::option::of(health_check()),
        any::<bool>(),
        prop_oneof![Just("Both"), Just("Primary"), Just("Secondary")],
    )
        .prop_flat_map(
            |(name, v6, ttl, p_id, s_id, p_check, s_check, adopt, manage)| {
                (ips(v6), ips(v6)).prop_map(move |(p, s)| {
                    let mut spec = json!({
                        "hostedZone": {"name": "example.com"},
                        "name": name,
                        "type": if v6 { "AAAA" } else { "A" },
                        "ttl": ttl,
                        "manage": manage,
                        "primary": {"addresses": p, "healthCheck": p_check.clone()},
                        "secondary": {"addresses": s},
                        "adoptExisting": adopt,
                    });
                    if let Some(id) = p_id {
                        spec["primary"]["setIdentifier"] = json!(id);
                    }
                    if let Some(id) = s_id {
                        spec["secondary"]["setIdentifier"] = json!(id);
                    }
                    if let Some(check) = &s_check {
                        spec["secondary"]["healthCheck"] = check.clone();
                    }
                    match manage {
                        "Primary" => {
                            spec.as_object_mut().map(|o| o.remove("secondary"));
                        }
                        "Secondary" => {
                            spec.as_object_mut().map(|o| o.remove("primary"));
                        }
                        _ => {}
                    }
                    serde_json::from_value::<FailoverRecordSpec>(spec)
                        .expect("generated spec deserialises")
                })
            },
        )
}

/// Record sets some other tool or person put in the zone.
fn foreign_strategy() -> impl Strategy<Value = Vec<RecordSet>> {
    let one = (
        prop_oneof![
            Just("www.example.com."),
            Just("api.example.com."),
            Just("example.com."),
            Just("_dnsfailover-a.www.example.com."),
            Just("_dnsfailover-aaaa.api.example.com."),
        ],
        prop_oneof![
            Just(RrType::A),
            Just(RrType::AAAA),
            Just(RrType::CNAME),
            Just(RrType::TXT)
        ],
        prop_oneof![
            Just(None),
            Just(Some("primary")),
            Just(Some("secondary")),
            Just(Some("x"))
        ],
        prop_oneof![
            Just("plain"),
            Just("other-owner"),
            Just("other-resource"),
            Just("other-owner-primary"),
            Just("other-owner-secondary")
        ],
    )
        .prop_map(|(name, rr_type, set_id, flavour)| {
            let values = match (&rr_type, flavour) {
                (RrType::TXT, "other-owner") => vec![
                    Marker::new(
                        &Owner::new("someone-else", "default", "web"),
                        "primary",
                        "secondary",
                    )
                    .to_txt_value(),
                ],
                (RrType::TXT, "other-resource") => vec![
                    Marker::new(
                        &Owner::new("test", "default", "other"),
                        "primary",
                        "secondary",
                    )
                    .to_txt_value(),
                ],
                (RrType::TXT, "other-owner-primary" | "other-owner-secondary") => {
                    let mut entry = Marker::empty(&Owner::new("someone-else", "default", "web"));
                    let role = if flavour == "other-owner-primary" {
                        Failover::Primary
                    } else {
                        Failover::Secondary
                    };
                    entry.set_holds(role, set_id.map(str::to_string).or(Some("x".into())));
                    vec![entry.to_txt_value()]
                }
                (RrType::TXT, _) => vec!["\"v=spf1 -all\"".to_string()],
                (RrType::AAAA, _) => vec!["2001:db8::99".to_string()],
                (RrType::CNAME, _) => vec!["elsewhere.example.net".to_string()],
                _ => vec!["192.0.2.99".to_string()],
            };
            let failover = match set_id {
                Some("primary") => Some(Failover::Primary),
                Some("secondary") => Some(Failover::Secondary),
                _ => None,
            };
            RecordSet {
                name: name.to_string(),
                rr_type,
                set_identifier: set_id.map(str::to_string),
                failover,
                ttl: Some(120),
                values,
                alias: None,
                health_check_id: None,
                other_routing: None,
            }
        });
    proptest::collection::vec(one, 0..5)
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(future)
}

fn wanted_checks(spec: &FailoverRecordSpec) -> usize {
    [&spec.primary, &spec.secondary]
        .into_iter()
        .flatten()
        .filter(|t| t.health_check.is_some())
        .count()
}

/// Cases per property: `DNSFAILOVER_PROPTEST_CASES` (set by `make soak`), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("DNSFAILOVER_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_converges_and_leaks_no_check(first in spec_strategy(), second in spec_strategy()) {
        run(async {
            let world = World::new();
            for spec in [&first, &second] {
                let record = world.placed("web", spec);
                let outcome = world.apply(&record).await;
                prop_assert!(matches!(outcome, Outcome::Changed { .. } | Outcome::Unchanged), "{outcome:?}");
                let again = world.plan(&record).await;
                prop_assert!(again.is_empty(), "re-planning after apply: {again:#?}");
                prop_assert_eq!(world.fake.health_checks().len(), wanted_checks(spec));
            }
            let owner = Owner::new("test", "default", "web");
            let (_, outcome) = world.delete(&owner).await;
            prop_assert!(!matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
            prop_assert!(world.fake.records(&world.zone.id).is_empty());
            prop_assert!(world.fake.health_checks().is_empty());
            Ok(())
        })?;
    }

    #[test]
    fn planning_is_deterministic(spec in spec_strategy(), foreign in foreign_strategy()) {
        run(async {
            let world = World::new();
            for record in &foreign {
                world.put(record.clone());
            }
            let record = world.placed("web", &spec);
            let snapshot = world.snapshot().await;
            let observed = snapshot.observed(&world.zone.id).expect("zone");
            prop_assert_eq!(plan_apply(&record, observed), plan_apply(&record, observed));
            let owner = &record.desired.owner;
            prop_assert_eq!(plan_delete(owner, &world.zone.id, observed), plan_delete(owner, &world.zone.id, observed));
            Ok(())
        })?;
    }

    #[test]
    fn no_plan_touches_a_record_set_it_does_not_own(spec in spec_strategy(), foreign in foreign_strategy()) {
        run(async {
            let world = World::new();
            for record in &foreign {
                world.put(record.clone());
            }
            let record = world.placed("web", &spec);
            let snapshot = world.snapshot().await;
            let observed = snapshot.observed(&world.zone.id).expect("zone");
            let plan = plan_apply(&record, observed);
            let existing: Vec<RecordSet> = world.fake.records(&world.zone.id);
            let adoptable = |r: &RecordSet| {
                spec.adopt_existing && r.name == record.fqdn && r.rr_type == record.desired.rr_type
            };
            // A shared marker may be rewritten, with every other owner's
            // entry kept byte for byte.
            let keeps_others = |old: &RecordSet| {
                let others: Vec<&String> = old
                    .values
                    .iter()
                    .filter(|v| !Marker::parse(v).is_some_and(|m| m.is_owned_by(&record.desired.owner)))
                    .collect();
                old.rr_type == RrType::TXT
                    && old.values.iter().all(|v| Marker::parse(v).is_some())
                    && plan.changes.iter().any(|c| {
                        c.action == ChangeAction::Create
                            && c.record.key() == old.key()
                            && others.iter().all(|o| c.record.values.contains(o))
                    })
            };
            let mut deleted = Vec::new();
            for change in &plan.changes {
                match change.action {
                    ChangeAction::Delete => {
                        prop_assert!(
                            adoptable(&change.record) || keeps_others(&change.record),
                            "deleted a record set it does not own: {:?}", change.record
                        );
                        deleted.push(change.record.key());
                    }
                    ChangeAction::Create => prop_assert!(
                        !existing.iter().any(|r| r.key() == change.record.key()) || deleted.contains(&change.record.key()),
                        "created over an existing record set: {:?}", change.record
                    ),
                    ChangeAction::Upsert => prop_assert!(false, "the planner never upserts"),
                }
            }
            // And after applying, every foreign record set not adopted is intact.
            world.execute(std::slice::from_ref(&plan)).await;
            let after = world.fake.records(&world.zone.id);
            for record_set in existing.iter().filter(|r| !adoptable(r)) {
                let kept = after.contains(record_set)
                    || after.iter().any(|a| {
                        a.key() == record_set.key()
                            && keeps_others(record_set)
                            && record_set.values.iter().filter(|v| !Marker::parse(v).is_some_and(|m| m.is_owned_by(&record.desired.owner))).all(|v| a.values.contains(v))
                    });
                prop_assert!(kept, "{record_set:?} was changed");
            }
            let deletion = plan_delete(&record.desired.owner, &world.zone.id, world.snapshot().await.observed(&world.zone.id).expect("zone"));
            for change in &deletion.changes {
                prop_assert!(!existing.contains(&change.record) || adoptable(&change.record), "delete touches {:?}", change.record);
            }
            Ok(())
        })?;
    }
}
