//! The standalone flow over manifests: admit → desired → zones → observe → plan.
//! No Route 53 call happens before every manifest has passed validation.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::api::InvalidSpec;
use crate::api::{DeletionPolicy, HostedZoneRef, admission};
use crate::core::desired::{DesiredRecord, PlacedRecord, ZoneSelector};
use crate::core::ownership::Owner;
use crate::core::plan::{self, Observed, RecordPlan, ZoneRecords};
use crate::core::report::Category;
use crate::core::validate;
use crate::engine::{
    Engine, Executor, Job, NoUpkeep, Outcome, Pack, ReconcileError, Snapshot, Wait,
};
use crate::manifest::Document;
use crate::route53::{Route53, Route53Error};

/// A manifest that failed, and why.
#[derive(Debug, Serialize)]
pub struct Rejected {
    pub source: String,
    pub error: String,
    pub category: Category,
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
                    rejected.push(Rejected {
                        source: document.to_string(),
                        error: format!(
                            "FailoverRecord {} is also defined in {first}",
                            desired.owner
                        ),
                        category: Category::InvalidSpec,
                    });
                    continue;
                }
                admitted.push(Admitted {
                    source: document.to_string(),
                    desired,
                });
            }
            Err(invalid) => rejected.push(Rejected {
                source: document.to_string(),
                error: invalid.to_string(),
                category: Category::InvalidSpec,
            }),
        }
    }
    if rejected.is_empty() {
        Ok(admitted)
    } else {
        Err(rejected)
    }
}

pub(crate) fn owner_of(owner_id: &str, object: &Value) -> Owner {
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
    for a in &admitted {
        let desired = &a.desired;
        engine.route(&desired.owner, &desired.zone, desired.zone_role.as_deref());
    }
    let zones = engine
        .resolve_zones(admitted.iter().map(|a| &a.desired.zone))
        .await;
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    let mut claimed: BTreeMap<(String, String, String), String> = BTreeMap::new();
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
                let key = (
                    placed.zone.id.clone(),
                    placed.fqdn.clone(),
                    placed.desired.rr_type.to_string(),
                );
                if let Some(first) = claimed.insert(key, source.clone()) {
                    rejected.push(Rejected {
                        error: format!("{} {} is also managed by {first}; one FailoverRecord per name and type", placed.fqdn, placed.desired.rr_type),
                        source,
                        category: Category::InvalidSpec,
                    });
                    continue;
                }
                records.push((source, placed));
            }
            Err(e) => rejected.push(Rejected {
                source,
                category: e.category(),
                error: e.to_string(),
            }),
        }
    }
    Placed { records, rejected }
}

/// Observe the zones of `records` once and plan each record.
pub async fn plan_all<R: Route53>(
    engine: &Engine<R>,
    records: &[(String, PlacedRecord)],
) -> Result<(Snapshot, Vec<RecordPlan>), Route53Error> {
    let zone_ids: BTreeSet<String> = records.iter().map(|(_, r)| r.zone.id.clone()).collect();
    let snapshot = engine.observe(&zone_ids).await?;
    let empty = ZoneRecords::default();
    let plans = records
        .iter()
        .map(|(_, record)| {
            let observed = snapshot.observed(&record.zone.id).unwrap_or(Observed {
                records: &empty,
                health_checks: &snapshot.health_checks,
                tags: &snapshot.tags,
            });
            plan::plan_apply(record, observed)
        })
        .collect();
    Ok((snapshot, plans))
}

/// What `delete` needs from a manifest: identity, zone and deletion policy.
/// Read leniently, so that a manifest that no longer validates can still be
/// deleted.
#[derive(Debug)]
pub struct DeleteTarget {
    pub source: String,
    pub owner: Owner,
    pub zone: ZoneSelector,
    /// The role its zone needs, when the manifest names one.
    pub role: Option<String>,
    pub retain: bool,
}

pub fn delete_targets(
    documents: &[Document],
    owner_id: &str,
) -> Result<Vec<DeleteTarget>, Vec<Rejected>> {
    let mut targets = Vec::new();
    let mut rejected = Vec::new();
    for document in documents {
        let object = &document.object;
        let owner = owner_of(owner_id, object);
        let spec = object.get("spec");
        let zone_ref = spec
            .and_then(|s| s.get("hostedZone"))
            .ok_or_else(|| InvalidSpec::single("spec.hostedZone", "required"))
            .and_then(|z| {
                serde_json::from_value::<HostedZoneRef>(z.clone())
                    .map_err(|e| InvalidSpec::single("spec.hostedZone", e.to_string()))
            });
        let role = zone_ref.as_ref().ok().and_then(|z| z.role_arn.clone());
        let zone = zone_ref.and_then(|z| validate::zone_selector_of(&z));
        let retain = spec
            .and_then(|s| s.get("deletionPolicy"))
            .and_then(|p| serde_json::from_value::<DeletionPolicy>(p.clone()).ok())
            == Some(DeletionPolicy::Retain);
        match zone {
            Ok(_) if owner.name.is_empty() => rejected.push(Rejected {
                source: document.to_string(),
                error: "metadata.name: required".into(),
                category: Category::InvalidSpec,
            }),
            Ok(zone) => targets.push(DeleteTarget {
                source: document.to_string(),
                owner,
                zone,
                role,
                retain,
            }),
            Err(e) => rejected.push(Rejected {
                source: document.to_string(),
                error: e.to_string(),
                category: Category::InvalidSpec,
            }),
        }
    }
    if rejected.is_empty() {
        Ok(targets)
    } else {
        Err(rejected)
    }
}

/// Plan deletion of every target that is not retained. A zone that no longer
/// exists has no records left; the health checks are still cleaned up.
pub async fn plan_deletes<R: Route53>(
    engine: &Engine<R>,
    targets: &[DeleteTarget],
) -> Result<Vec<Option<RecordPlan>>, ReconcileError> {
    for target in targets {
        engine.route(&target.owner, &target.zone, target.role.as_deref());
    }
    let zones = engine.resolve_zones(targets.iter().map(|t| &t.zone)).await;
    let mut zone_ids = BTreeSet::new();
    for zone in zones.values() {
        match zone {
            Ok(zone) => {
                zone_ids.insert(zone.id.clone());
            }
            Err(ReconcileError::ZoneNotFound { .. }) => {}
            Err(e) => return Err(e.clone()),
        }
    }
    let snapshot = engine.observe(&zone_ids).await?;
    let empty = ZoneRecords::default();
    Ok(targets
        .iter()
        .map(|target| {
            if target.retain {
                return None;
            }
            let zone_id = zones
                .get(&target.zone)
                .and_then(|z| z.as_ref().ok())
                .map(|z| z.id.clone())
                .unwrap_or_default();
            let observed = snapshot.observed(&zone_id).unwrap_or(Observed {
                records: &empty,
                health_checks: &snapshot.health_checks,
                tags: &snapshot.tags,
            });
            Some(plan::plan_delete(&target.owner, &zone_id, observed))
        })
        .collect())
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
