//! The planner's rules as plain table tests over a hand-built observed zone:
//! no Route 53, not even the in-memory one, no runtime. Each row starts from
//! a zone (empty, converged, or changed by hand), plans a spec, and lists
//! what the plan does in order. The fake-backed scenarios (`scenarios.rs`)
//! check the same rules end to end.

use std::collections::BTreeMap;

use super::*;
use crate::api::{FailoverRecordSpec, HealthCheckSpec};
use crate::core::desired::LatchWant;
use crate::core::validate::desired_from_spec;
use crate::route53::{HealthCheck, Tags, Zone};

const SPEC: &str = r#"
hostedZone: {id: Z1}
name: www
primary:
  addresses: [198.51.100.10]
  healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}
secondary:
  addresses: [198.51.100.20]
"#;

fn zone() -> Zone {
    Zone {
        id: "Z1".into(),
        name: "example.com.".into(),
        private: false,
        name_servers: Vec::new(),
    }
}

fn placed(edit: impl FnOnce(&mut FailoverRecordSpec)) -> PlacedRecord {
    let mut spec: FailoverRecordSpec = serde_yaml::from_str(SPEC).expect("test spec parses");
    edit(&mut spec);
    desired_from_spec(Owner::new("test", "web", "www"), &spec)
        .expect("test spec is valid")
        .place(zone())
        .expect("fits the zone")
}

/// What Route 53 holds, built by hand.
#[derive(Clone, Default)]
struct Held {
    records: Vec<RecordSet>,
    checks: Vec<HealthCheck>,
    tags: BTreeMap<String, Tags>,
}

impl Held {
    fn plan(&self, record: &PlacedRecord) -> RecordPlan {
        let zone = ZoneRecords::new(self.records.clone());
        let checks = CheckSet::new(self.checks.clone());
        plan_apply(record, self.observed(&zone, &checks))
    }

    fn plan_delete(&self, owner: &Owner) -> RecordPlan {
        let zone = ZoneRecords::new(self.records.clone());
        let checks = CheckSet::new(self.checks.clone());
        plan_delete(owner, "Z1", self.observed(&zone, &checks))
    }

    fn observed<'a>(&'a self, zone: &'a ZoneRecords, checks: &'a CheckSet) -> Observed<'a> {
        Observed {
            records: zone,
            health_checks: checks,
            tags: &self.tags,
        }
    }

    /// What Route 53 holds after `plan` applied: checks created get the ids
    /// `hc-primary` and `hc-secondary` (`hc-new-primary` when replacing).
    fn after(&self, plan: &RecordPlan) -> Held {
        let mut held = self.clone();
        let mut created = BTreeMap::new();
        for create in &plan.create_checks {
            let mut id = format!("hc-{}", create.role);
            if held.checks.iter().any(|c| c.id == id) {
                id = format!("hc-new-{}", create.role);
            }
            held.checks.push(HealthCheck {
                id: id.clone(),
                caller_reference: create.caller_reference.clone(),
                version: 1,
                config: create.config.clone(),
            });
            held.tags.insert(id.clone(), create.tags.clone());
            created.insert(create.role, id);
        }
        for update in &plan.update_checks {
            if let Some(check) = held.checks.iter_mut().find(|c| c.id == update.id) {
                check.config = update.update.config.clone();
                check.version += 1;
            }
        }
        for retag in &plan.retag_checks {
            held.tags
                .entry(retag.id.clone())
                .or_default()
                .extend(retag.add.clone());
        }
        // The latch gets the id `hc-latch`.
        let latch = match &plan.latch {
            Some(LatchStep::Create { child, hold, tags }) => {
                let child = child.resolve(&created, None).unwrap_or_default();
                held.checks.push(HealthCheck {
                    id: "hc-latch".into(),
                    caller_reference: ownership::latch_reference(&plan.owner, &child, 0),
                    version: 1,
                    config: HealthCheckConfig::latch(&child, *hold),
                });
                held.tags.insert("hc-latch".into(), tags.clone());
                Some("hc-latch".to_string())
            }
            Some(LatchStep::Update {
                id, child, hold, ..
            }) => {
                let child = child.resolve(&created, None).unwrap_or_default();
                if let Some(check) = held.checks.iter_mut().find(|c| &c.id == id) {
                    check.config = HealthCheckConfig::latch(&child, *hold);
                    check.version += 1;
                }
                Some(id.clone())
            }
            None => None,
        };
        let changes: Vec<Change> = plan
            .changes
            .iter()
            .filter_map(|c| c.resolve(&created, latch.as_deref()))
            .collect();
        let mut zone = ZoneRecords::new(held.records.clone());
        zone.apply_changes(&changes);
        held.records = zone.at_all();
        held.checks
            .retain(|c| !plan.delete_checks.iter().any(|d| d.id == c.id));
        held
    }
}

impl ZoneRecords {
    fn at_all(&self) -> Vec<RecordSet> {
        let mut names: Vec<(String, RrType)> = Vec::new();
        for name in [
            "www.example.com.",
            "_dnsfailover-a.www.example.com.",
            "api.example.com.",
            "_dnsfailover-a.api.example.com.",
        ] {
            for rr_type in [RrType::A, RrType::TXT, RrType::CNAME] {
                names.push((name.to_string(), rr_type));
            }
        }
        names
            .iter()
            .flat_map(|(name, rr_type)| self.at(name, rr_type).to_vec())
            .collect()
    }
}

/// What a plan does, one line a step, in execution order.
fn steps(plan: &RecordPlan) -> Vec<String> {
    let mut steps = Vec::new();
    for c in &plan.conflicts {
        steps.push(format!("conflict {}", c.kind.as_str()));
    }
    for c in &plan.create_checks {
        steps.push(format!("create check {}", c.role));
    }
    for u in &plan.update_checks {
        steps.push(format!("update check {} {}", u.id, u.changed.join(",")));
    }
    for r in &plan.retag_checks {
        steps.push(format!("retag check {}", r.id));
    }
    let child = |c: &CheckRef| match c {
        CheckRef::Existing(id) => id.clone(),
        CheckRef::Created(role) => format!("new {role}"),
        CheckRef::Latch => "new latch".into(),
    };
    match &plan.latch {
        Some(LatchStep::Create { child: c, hold, .. }) => {
            steps.push(format!("create latch on {} hold={hold}", child(c)));
        }
        Some(LatchStep::Update {
            id, child: c, hold, ..
        }) => steps.push(format!("update latch {id} on {} hold={hold}", child(c))),
        None => {}
    }
    for c in &plan.changes {
        let check = match &c.health_check {
            Some(CheckRef::Existing(id)) => format!(" -> {id}"),
            Some(CheckRef::Created(role)) => format!(" -> new {role}"),
            Some(CheckRef::Latch) => " -> new latch".to_string(),
            None => String::new(),
        };
        steps.push(format!(
            "{} {} {}{}{check}",
            c.action.as_route53(),
            c.record.name,
            c.record.rr_type,
            c.record
                .set_identifier
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default(),
        ));
    }
    for d in &plan.delete_checks {
        steps.push(format!("delete check {} {:?}", d.id, d.reason));
    }
    for k in &plan.kept_checks {
        steps.push(format!("keep check {k}"));
    }
    steps
}

fn simple(name: &str, rr_type: RrType, value: &str) -> RecordSet {
    RecordSet {
        name: name.into(),
        rr_type,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec![value.into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    }
}

/// Route 53 after the base spec was applied.
fn converged() -> Held {
    let empty = Held::default();
    empty.after(&empty.plan(&placed(|_| {})))
}

#[test]
fn planning_rules() {
    let base = placed(|_| {});
    let check = |edit: fn(&mut HealthCheckSpec)| {
        placed(move |s| {
            if let Some(c) = s.primary.as_mut().expect("side").health_check.as_mut() {
                edit(c);
            }
        })
    };
    let without = |held: Held, name: &str, set_identifier: &str| Held {
        records: held
            .records
            .into_iter()
            .filter(|r| !(r.name == name && r.set_identifier.as_deref() == Some(set_identifier)))
            .collect(),
        ..held
    };
    let with_records = |held: Held, extra: Vec<RecordSet>| Held {
        records: held.records.into_iter().chain(extra).collect(),
        ..held
    };
    let mut duplicate = converged();
    let mut copy = duplicate.checks[0].clone();
    copy.id = "hc-copy".into();
    duplicate.checks.push(copy.clone());
    duplicate
        .tags
        .insert(copy.id, duplicate.tags["hc-primary"].clone());
    let mut untagged = converged();
    untagged.tags.insert("hc-primary".into(), Tags::new());
    let mut weighted = simple("www.example.com.", RrType::A, "203.0.113.5");
    weighted.set_identifier = Some("w".into());
    weighted.other_routing = Some("weighted".into());

    let table: Vec<(&str, Held, PlacedRecord, Vec<&str>)> = vec![
        (
            "empty zone: the check, then PRIMARY, SECONDARY and the marker in one group",
            Held::default(),
            base.clone(),
            vec![
                "create check primary",
                "CREATE www.example.com. A primary -> new primary",
                "CREATE www.example.com. A secondary",
                "CREATE _dnsfailover-a.www.example.com. TXT",
            ],
        ),
        ("converged: nothing", converged(), base.clone(), vec![]),
        (
            "a mutable setting: an update in place",
            converged(),
            check(|c| c.failure_threshold = 5),
            vec!["update check hc-primary failureThreshold"],
        ),
        (
            "an immutable setting: create, repoint, delete",
            converged(),
            check(|c| c.request_interval = 30),
            vec![
                "create check primary",
                "DELETE www.example.com. A primary -> hc-primary",
                "CREATE www.example.com. A primary -> new primary",
                "delete check hc-primary Replaced",
            ],
        ),
        (
            "a record deleted outside: put back alone",
            without(converged(), "www.example.com.", "secondary"),
            base.clone(),
            vec!["CREATE www.example.com. A secondary"],
        ),
        (
            "a duplicate check left by a crash goes, the used one stays",
            duplicate,
            base.clone(),
            vec!["delete check hc-copy Duplicate"],
        ),
        (
            "missing tags are restored",
            untagged,
            base.clone(),
            vec!["retag check hc-primary"],
        ),
        (
            "no check wanted any more: repoint first, then delete",
            converged(),
            placed(|s| {
                s.primary.as_mut().expect("side").alias = Some(crate::api::AliasTarget {
                    dns_name: "lb-1.us-east-1.elb.amazonaws.com".into(),
                    hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                    evaluate_target_health: true,
                });
                s.primary.as_mut().expect("side").addresses = None;
                s.primary.as_mut().expect("side").health_check = None;
            }),
            vec![
                "DELETE www.example.com. A primary -> hc-primary",
                "CREATE www.example.com. A primary",
                "delete check hc-primary NoLongerWanted",
            ],
        ),
        (
            "an unowned record: a conflict, nothing else",
            with_records(
                Held::default(),
                vec![simple("www.example.com.", RrType::A, "203.0.113.5")],
            ),
            base.clone(),
            vec!["conflict NotOwned"],
        ),
        (
            "an unowned record, adopted on request",
            with_records(
                Held::default(),
                vec![simple("www.example.com.", RrType::A, "203.0.113.5")],
            ),
            placed(|s| s.adopt_existing = true),
            vec![
                "create check primary",
                "DELETE www.example.com. A",
                "CREATE www.example.com. A primary -> new primary",
                "CREATE www.example.com. A secondary",
                "CREATE _dnsfailover-a.www.example.com. TXT",
            ],
        ),
        (
            "another routing policy is never adopted",
            with_records(Held::default(), vec![weighted]),
            placed(|s| s.adopt_existing = true),
            vec!["conflict Unadoptable"],
        ),
        (
            "a foreign TXT at the marker's name",
            with_records(
                Held::default(),
                vec![simple(
                    "_dnsfailover-a.www.example.com.",
                    RrType::TXT,
                    "\"hello\"",
                )],
            ),
            base.clone(),
            vec!["conflict MarkerNameTaken"],
        ),
        (
            "a CNAME shares its name with nothing",
            with_records(
                Held::default(),
                vec![simple("www.example.com.", RrType::TXT, "\"v=spf1\"")],
            ),
            placed(|s| {
                s.record_type = crate::api::RecordType::CNAME;
                s.primary.as_mut().expect("side").addresses = Some(vec!["a.example.net".into()]);
                s.secondary.as_mut().expect("side").addresses = Some(vec!["b.example.net".into()]);
                if let Some(c) = s.primary.as_mut().expect("side").health_check.as_mut() {
                    c.fqdn = Some("a.example.net".into());
                }
            }),
            vec!["conflict CnameClash"],
        ),
        (
            "a rename moves the group in one batch, and renames the check's tags",
            converged(),
            placed(|s| s.name = "api".into()),
            vec![
                "retag check hc-primary",
                "DELETE _dnsfailover-a.www.example.com. TXT",
                "DELETE www.example.com. A primary -> hc-primary",
                "DELETE www.example.com. A secondary",
                "CREATE api.example.com. A primary -> hc-primary",
                "CREATE api.example.com. A secondary",
                "CREATE _dnsfailover-a.api.example.com. TXT",
            ],
        ),
    ];
    for (case, held, record, expected) in table {
        let plan = held.plan(&record);
        assert_eq!(steps(&plan), expected, "{case}");
        // Applying the plan and planning again leaves nothing to do, unless
        // the plan was refused for a conflict.
        if plan.conflicts.is_empty() {
            let again = held.after(&plan).plan(&record);
            assert_eq!(steps(&again), Vec::<String>::new(), "{case}: again");
        }
    }
}

#[test]
fn deletion_rules() {
    let owner = Owner::new("test", "web", "www");
    let mut borrowed = simple("other.example.com.", RrType::A, "203.0.113.9");
    borrowed.set_identifier = Some("theirs".into());
    borrowed.failover = Some(Failover::Primary);
    borrowed.health_check_id = Some("hc-primary".into());
    let mut shared = converged();
    shared.records.push(borrowed);

    let table: Vec<(&str, Held, Owner, Vec<&str>)> = vec![
        (
            "records first, then the check",
            converged(),
            owner.clone(),
            vec![
                "DELETE _dnsfailover-a.www.example.com. TXT",
                "DELETE www.example.com. A primary -> hc-primary",
                "DELETE www.example.com. A secondary",
                "delete check hc-primary ResourceDeleted",
            ],
        ),
        (
            "nothing left: nothing to do",
            Held::default(),
            owner.clone(),
            vec![],
        ),
        (
            "a check someone else's record uses is kept",
            shared,
            owner.clone(),
            vec![
                "DELETE _dnsfailover-a.www.example.com. TXT",
                "DELETE www.example.com. A primary -> hc-primary",
                "DELETE www.example.com. A secondary",
                "keep check hc-primary (still used by other.example.com. A (theirs) in hosted zone Z1)",
            ],
        ),
        (
            "another FailoverRecord's records are not ours",
            converged(),
            Owner::new("test", "web", "other"),
            vec![],
        ),
        (
            "another installation's records are not ours",
            converged(),
            Owner::new("elsewhere", "web", "www"),
            vec![],
        ),
    ];
    for (case, held, owner, expected) in table {
        assert_eq!(steps(&held.plan_delete(&owner)), expected, "{case}");
    }
}

#[test]
fn latch_rules() {
    let manual = |want: LatchWant| {
        let mut record = placed(|s| s.failback = crate::api::Failback::Manual);
        record.desired.latch = want;
        record
    };
    let latched = converged().after(&converged().plan(&manual(LatchWant::Keep)));
    let held = latched.after(&latched.plan(&manual(LatchWant::Hold)));
    let replaced = |want| {
        let mut record = manual(want);
        if let Some(c) = record
            .desired
            .primary
            .as_mut()
            .and_then(|p| p.health_check.as_mut())
        {
            c.request_interval = 30;
        }
        record
    };

    let table: Vec<(&str, Held, PlacedRecord, Vec<&str>)> = vec![
        (
            "Manual: a latch on the primary's check, and the PRIMARY record uses it",
            converged(),
            manual(LatchWant::Keep),
            vec![
                "create latch on hc-primary hold=false",
                "DELETE www.example.com. A primary -> hc-primary",
                "CREATE www.example.com. A primary -> new latch",
            ],
        ),
        (
            "in place: nothing to do",
            latched.clone(),
            manual(LatchWant::Keep),
            vec![],
        ),
        (
            "hold: one update of the latch, no record change",
            latched.clone(),
            manual(LatchWant::Hold),
            vec!["update latch hc-latch on hc-primary hold=true"],
        ),
        (
            "held stays held",
            held.clone(),
            manual(LatchWant::Keep),
            vec![],
        ),
        (
            "release",
            held.clone(),
            manual(LatchWant::Release),
            vec!["update latch hc-latch on hc-primary hold=false"],
        ),
        (
            "a replaced primary check: the latch counts the new one before the old goes",
            held.clone(),
            replaced(LatchWant::Keep),
            vec![
                "create check primary",
                "update latch hc-latch on new primary hold=true",
                "delete check hc-primary Replaced",
            ],
        ),
        (
            "back to Automatic: the PRIMARY record uses the check again, then the latch goes",
            held.clone(),
            placed(|_| {}),
            vec![
                "DELETE www.example.com. A primary -> hc-latch",
                "CREATE www.example.com. A primary -> hc-primary",
                "delete check hc-latch NoLongerWanted",
            ],
        ),
    ];
    for (case, held, record, expected) in table {
        let plan = held.plan(&record);
        assert_eq!(steps(&plan), expected, "{case}");
        let after = held.after(&plan);
        assert!(
            after.plan(&record).is_empty(),
            "{case}: converged after one plan"
        );
    }

    // One side managed here (two clusters, `manage: Primary`): the latch
    // works the same, and the marker entry names no check as taken over
    // (the latch and the check are this owner's own).
    let primary_only = |want: LatchWant| {
        let mut record = placed(|s| {
            s.failback = crate::api::Failback::Manual;
            s.manage = crate::api::Manage::Primary;
            s.secondary = None;
        });
        record.desired.latch = want;
        record
    };
    let split = Held::default().after(&Held::default().plan(&primary_only(LatchWant::Keep)));
    let primary = split
        .records
        .iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .expect("the PRIMARY record set");
    assert_eq!(primary.health_check_id.as_deref(), Some("hc-latch"));
    assert!(
        !split
            .records
            .iter()
            .any(|r| r.failover == Some(Failover::Secondary)),
        "the other installation's side is not written"
    );
    let marker = split
        .records
        .iter()
        .find(|r| r.rr_type == RrType::TXT)
        .expect("the marker");
    let entry = Marker::parse(&marker.values[0]).expect("an entry");
    assert_eq!(entry.adopted_check(Failover::Primary), None);
    assert!(split.plan(&primary_only(LatchWant::Keep)).is_empty());
    assert_eq!(
        steps(&split.plan(&primary_only(LatchWant::Hold))),
        vec!["update latch hc-latch on hc-primary hold=true"]
    );

    // Deleting: the records, then the latch, then the check it counts.
    let owner = Owner::new("test", "web", "www");
    let steps_of = steps(&held.plan_delete(&owner));
    assert_eq!(
        steps_of[steps_of.len() - 2..],
        [
            "delete check hc-latch ResourceDeleted".to_string(),
            "delete check hc-primary ResourceDeleted".to_string()
        ]
    );

    // A record set someone else made uses the latch: the latch stays, and
    // so does the check it counts.
    let mut shared = held.clone();
    let mut theirs = simple("api.example.com.", RrType::A, "198.51.100.30");
    theirs.set_identifier = Some("hand-made".into());
    theirs.failover = Some(Failover::Primary);
    theirs.health_check_id = Some("hc-latch".into());
    shared.records.push(theirs);
    let steps_of = steps(&shared.plan_delete(&owner));
    assert!(
        !steps_of.iter().any(|s| s.starts_with("delete check")),
        "{steps_of:?}"
    );
    assert!(
        steps_of
            .iter()
            .any(|s| s.starts_with("keep check hc-primary")),
        "{steps_of:?}"
    );
}
