//! The standalone flow over manifests: admit → desired → zones → observe → plan.
//! No Route 53 call happens before every manifest has passed validation.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::api::admission;
use crate::core::desired::{DesiredRecord, PlacedRecord};
use crate::core::ownership::Owner;
use crate::core::plan::{self, RecordPlan};
use crate::core::report::Category;
use crate::core::validate;
use crate::engine::{
    Engine, Executor, Job, NoUpkeep, Outcome, Pack, ReconcileError, Snapshot, Wait,
};
use crate::manifest::Document;
use crate::route53::{Route53, Route53Error, RrType};

use super::Exit;

/// A manifest that failed, and why.
#[derive(Debug, Serialize)]
pub struct Rejected {
    pub source: String,
    pub error: String,
    pub category: Category,
    /// The exit code this failure calls for.
    #[serde(skip)]
    pub exit: Exit,
}

impl Rejected {
    pub(super) fn invalid(source: String, error: impl Into<String>) -> Self {
        Self {
            source,
            error: error.into(),
            category: Category::InvalidSpec,
            exit: Exit::Invalid,
        }
    }
}

/// A manifest that passed validation.
#[derive(Debug)]
pub struct Admitted {
    pub source: String,
    pub desired: DesiredRecord,
}

/// Validate every document; any failure means nothing is sent to Route 53.
pub fn admit_all(documents: &[Document], owner_id: &str) -> Result<Vec<Admitted>, Vec<Rejected>> {
    let mut admitted = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: BTreeMap<Owner, String> = BTreeMap::new();
    for document in documents {
        let result = admission::admit(&document.object).and_then(|record| {
            let owner = owner_of(owner_id, &document.object);
            validate::desired_from_spec(owner, &record.spec)
        });
        match result {
            Ok(desired) => {
                if let Some(first) = seen.insert(desired.owner.clone(), document.source.clone()) {
                    rejected.push(Rejected::invalid(
                        document.to_string(),
                        format!(
                            "FailoverRecord {} is also defined in {first}",
                            desired.owner
                        ),
                    ));
                    continue;
                }
                admitted.push(Admitted {
                    source: document.to_string(),
                    desired,
                });
            }
            Err(invalid) => {
                rejected.push(Rejected::invalid(document.to_string(), invalid.to_string()))
            }
        }
    }
    if rejected.is_empty() {
        Ok(admitted)
    } else {
        Err(rejected)
    }
}

pub(super) fn owner_of(owner_id: &str, object: &Value) -> Owner {
    let meta = object.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    Owner::new(owner_id, namespace, name)
}

/// Records placed in their zones, ready to plan.
pub struct Placed {
    pub records: Vec<(String, PlacedRecord)>,
    pub rejected: Vec<Rejected>,
}

/// Resolve each distinct zone once and place every record in it.
pub async fn place_all<R: Route53>(engine: &Engine<R>, admitted: Vec<Admitted>) -> Placed {
    let zones = engine
        .resolve_zones(admitted.iter().map(|a| &a.desired.zone))
        .await;
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    // Name → the types claimed there and by which manifest: the same rules
    // as for record sets found in the zone (one FailoverRecord per name and
    // type; a CNAME beside nothing else), so that two manifests of one run
    // cannot both be written where two runs would be refused.
    let mut claimed: BTreeMap<(String, String), Vec<(RrType, String)>> = BTreeMap::new();
    for Admitted { source, desired } in admitted {
        let result = match zones.get(&desired.zone) {
            Some(Ok(zone)) => desired
                .place(zone.clone())
                .map_err(ReconcileError::NameOutsideZone),
            Some(Err(e)) => Err(e.clone()),
            None => Err(ReconcileError::ZoneNotFound {
                selector: desired.zone.clone(),
            }),
        };
        match result {
            Ok(placed) => {
                let rr_type = &placed.desired.rr_type;
                let here = claimed
                    .entry((placed.zone.id.clone(), placed.fqdn.clone()))
                    .or_default();
                let clash = here.iter().find_map(|(other, first)| {
                    if other == rr_type {
                        Some(format!(
                            "conflict (OwnedByOther): {} {rr_type} is also managed by {first}; only one FailoverRecord may manage a name and type",
                            placed.fqdn
                        ))
                    } else if plan::cname_clash(other, rr_type) {
                        Some(format!(
                            "conflict (CnameClash): {} {rr_type} and {} {other} of {first} are applied together, and a CNAME cannot share a name with other record types",
                            placed.fqdn, placed.fqdn
                        ))
                    } else {
                        None
                    }
                });
                here.push((rr_type.clone(), source.clone()));
                if let Some(error) = clash {
                    rejected.push(Rejected {
                        error,
                        source,
                        category: Category::RecordConflict,
                        exit: Exit::Conflict,
                    });
                    continue;
                }
                records.push((source, placed));
            }
            Err(e) => rejected.push(Rejected {
                source,
                category: e.category(),
                exit: Exit::of_error(&e),
                error: e.to_string(),
            }),
        }
    }
    Placed { records, rejected }
}

/// Observe the zones of `records` once and plan each record.
///
/// Only the health checks these FailoverRecords can own are looked at
/// closely (their tags read): the deterministic caller reference says whose a
/// check is, so the cost does not grow with the owner's other checks. Their
/// hosted-zone tags name the zones their record sets are in; a FailoverRecord
/// whose records are in another zone than its manifest names now is refused
/// with a conflict that says how to move it. Before any health check is
/// deleted, every zone this owner has records in is read as well, so that no
/// record set there loses the check it uses.
pub async fn plan_all<R: Route53>(
    engine: &Engine<R>,
    records: &[(String, PlacedRecord)],
) -> Result<(Snapshot, Vec<RecordPlan>), Route53Error> {
    let zone_ids: BTreeSet<String> = records.iter().map(|(_, r)| r.zone.id.clone()).collect();
    let owners: Vec<Owner> = records
        .iter()
        .map(|(_, r)| r.desired.owner.clone())
        .collect();
    let mut snapshot = engine.observe_for(&zone_ids, Some(&owners)).await?;
    let elsewhere = snapshot.tagged_zones();
    engine.observe_zones(&mut snapshot, &elsewhere).await?;
    let mut plans: Vec<RecordPlan> = records
        .iter()
        .map(|(source, record)| match moved_from(&snapshot, record) {
            Some(old) => zone_changed(record, &old, source),
            None => plan::plan_apply(record, snapshot.observed_or_empty(&record.zone.id)),
        })
        .collect();
    if plans.iter().any(|p| !p.delete_checks.is_empty()) {
        engine.observe_owner_zones(&mut snapshot).await?;
        plan::keep_checks_in_use(&mut plans, &snapshot.all_zones(), &snapshot.unreadable);
    }
    Ok((snapshot, plans))
}

/// Another zone holding this FailoverRecord's record sets (by its markers).
fn moved_from(snapshot: &Snapshot, record: &PlacedRecord) -> Option<String> {
    snapshot
        .zones
        .iter()
        .filter(|(id, _)| **id != record.zone.id)
        .find(|(_, zone)| !zone.markers_of(&record.desired.owner).is_empty())
        .map(|(id, _)| id.clone())
}

/// The plan of a FailoverRecord whose `hostedZone` changed: nothing but a
/// conflict that says how to move it. (The CRD makes `hostedZone`
/// immutable; moving in place here would risk leaving records in both zones
/// sharing one health check.)
fn zone_changed(record: &PlacedRecord, old_zone: &str, source: &str) -> RecordPlan {
    let mut plan = RecordPlan::new(&record.desired.owner, &record.zone.id);
    plan.fqdn = Some(record.fqdn.clone());
    plan.rr_type = Some(record.desired.rr_type.clone());
    let file = source.split(" (").next().unwrap_or(source);
    plan.conflicts.push(plan::Conflict {
        kind: plan::ConflictKind::ZoneChanged,
        records: Vec::new(),
        message: format!(
            "the record sets of {} are in hosted zone {old_zone}, and the manifest now names hosted zone {} ({}); hostedZone cannot change in place. To move them, run `dnsfailover delete -f {file}` (it removes them and their health checks from {old_zone}), then `dnsfailover apply -f {file}`; or set hostedZone back",
            record.desired.owner, record.zone.id, record.zone.name
        ),
    });
    plan
}

/// Execute plans as the CLI does: each zone's record changes packed into
/// shared batches, and a plan's health-check deletions only once its change
/// is INSYNC, waiting for that at most `insync_timeout`.
pub async fn execute<R: Route53>(
    engine: &Engine<R>,
    plans: &[RecordPlan],
    insync_timeout: std::time::Duration,
) -> Vec<Outcome> {
    execute_with(engine, plans, Wait::new(engine, insync_timeout)).await
}

/// [`execute`] with its own way of waiting for INSYNC.
pub async fn execute_with<R: Route53>(
    engine: &Engine<R>,
    plans: &[RecordPlan],
    wait: Wait<'_, R>,
) -> Vec<Outcome> {
    let jobs: Vec<Job<'_>> = plans.iter().map(Job::from).collect();
    Executor {
        engine,
        batches: Pack(engine),
        settle: wait,
        upkeep: NoUpkeep,
    }
    .run(&jobs)
    .await
}
