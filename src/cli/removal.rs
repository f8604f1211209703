//! `delete` over manifests: what each manifest names, read leniently (a
//! manifest that no longer validates can still be deleted), and the plans
//! that remove its record sets from every zone they are in, then its health
//! checks once no record set anywhere this owner looks uses them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::workflow::{Rejected, owner_of};
use crate::api::{DeletionPolicy, HostedZoneRef, InvalidSpec, RecordType};
use crate::core::desired::{RecordName, ZoneSelector};
use crate::core::ownership::{self, Owner};
use crate::core::plan::{self, RecordPlan};
use crate::core::validate;
use crate::engine::{Engine, Outcome, ReconcileError, Snapshot};
use crate::manifest::Document;
use crate::route53::{ChangeState, RecordKey, Route53, RrType, Zone};

/// What `delete` needs from a manifest: identity, zone, name and deletion
/// policy.
#[derive(Debug)]
pub struct DeleteTarget {
    pub source: String,
    pub owner: Owner,
    pub zone: ZoneSelector,
    /// The record name and type, when the manifest still says them clearly.
    pub name: Option<(RecordName, RrType)>,
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
        let name = spec
            .and_then(|s| s.get("name"))
            .and_then(Value::as_str)
            .and_then(validate::record_name_of);
        let rr_type = match spec.and_then(|s| s.get("type")) {
            None => Some(RecordType::A),
            Some(t) => serde_json::from_value::<RecordType>(t.clone()).ok(),
        }
        .map(|t| RrType::parse(&format!("{t:?}")));
        match zone {
            Ok(_) if owner.name.is_empty() => rejected.push(Rejected::invalid(
                document.to_string(),
                "metadata.name: required",
            )),
            Ok(zone) => targets.push(DeleteTarget {
                source: document.to_string(),
                owner,
                zone,
                name: name.zip(rr_type),
                role,
                retain,
            }),
            Err(e) => rejected.push(Rejected::invalid(document.to_string(), e.to_string())),
        }
    }
    if rejected.is_empty() {
        Ok(targets)
    } else {
        Err(rejected)
    }
}

/// What `delete` does about one manifest.
#[derive(Debug)]
pub enum Deletion {
    /// Remove: first the record sets in other zones (`first`, when the
    /// FailoverRecord has records in more than one), then `plan`: the record
    /// sets of the main zone and the health checks.
    Plan {
        first: Vec<RecordPlan>,
        plan: Box<RecordPlan>,
    },
    /// `deletionPolicy: Retain`.
    Retained,
    /// Record sets are at the manifest's name that no marker of this
    /// FailoverRecord claims: left alone, and why.
    NotOurs(String),
}

/// Plan deletion of every target. A zone that no longer exists has no
/// records left; the health checks are still cleaned up.
pub async fn plan_deletes<R: Route53>(
    engine: &Engine<R>,
    targets: &[DeleteTarget],
) -> Result<Vec<Deletion>, ReconcileError> {
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
    let owners: Vec<Owner> = targets.iter().map(|t| t.owner.clone()).collect();
    let mut snapshot = engine.observe_for(&zone_ids, Some(&owners)).await?;
    let elsewhere = snapshot.tagged_zones();
    engine.observe_zones(&mut snapshot, &elsewhere).await?;
    let mut deletions: Vec<Deletion> = targets
        .iter()
        .map(|target| {
            let zone = zones.get(&target.zone).and_then(|z| z.as_ref().ok());
            deletion(target, zone, &snapshot)
        })
        .collect();
    if deletions
        .iter()
        .any(|d| matches!(d, Deletion::Plan { plan, .. } if !plan.delete_checks.is_empty()))
    {
        engine.observe_owner_zones(&mut snapshot).await?;
        // One rule over every plan of the run: a record set that another
        // plan removes no longer keeps a check.
        let mut plans: Vec<RecordPlan> = Vec::new();
        let mut sizes: Vec<Option<usize>> = Vec::new();
        for d in &deletions {
            sizes.push(match d {
                Deletion::Plan { first, plan } => {
                    plans.extend(first.iter().cloned());
                    plans.push((**plan).clone());
                    Some(first.len())
                }
                _ => None,
            });
        }
        plan::keep_checks_in_use(&mut plans, &snapshot.all_zones(), &snapshot.unreadable);
        let mut guarded = plans.into_iter();
        for (d, size) in deletions.iter_mut().zip(sizes) {
            if let (Deletion::Plan { first, plan }, Some(size)) = (d, size) {
                *first = guarded.by_ref().take(size).collect();
                if let Some(main) = guarded.next() {
                    **plan = main;
                }
            }
        }
    }
    Ok(deletions)
}

/// What to do about one target, given what the zones hold.
fn deletion(target: &DeleteTarget, zone: Option<&Zone>, snapshot: &Snapshot) -> Deletion {
    if target.retain {
        return Deletion::Retained;
    }
    let zone_id = zone.map(|z| z.id.clone()).unwrap_or_default();
    // Every zone this FailoverRecord has markers in; the manifest's first.
    let mut with_markers: Vec<&str> = snapshot
        .zones
        .iter()
        .filter(|(_, z)| !z.markers_of(&target.owner).is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    with_markers.sort_by_key(|id| *id != zone_id);
    if with_markers.is_empty()
        && let Some(why) = not_ours(target, zone, snapshot)
    {
        return Deletion::NotOurs(why);
    }
    let main = with_markers.first().copied().unwrap_or(zone_id.as_str());
    let first = with_markers
        .iter()
        .filter(|id| **id != main)
        .map(|id| {
            plan::plan_delete(&target.owner, id, snapshot.observed_or_empty(id))
                .without_check_deletes()
        })
        .collect();
    let plan = plan::plan_delete(&target.owner, main, snapshot.observed_or_empty(main));
    Deletion::Plan {
        first,
        plan: Box::new(plan),
    }
}

/// Record sets at the target's name and type that are not this
/// FailoverRecord's (its marker is gone, or never was), described.
fn not_ours(target: &DeleteTarget, zone: Option<&Zone>, snapshot: &Snapshot) -> Option<String> {
    let zone = zone?;
    let (name, rr_type) = target.name.as_ref()?;
    let fqdn = name.fqdn_in(&zone.name).ok()?;
    let held = snapshot.zones.get(&zone.id)?;
    // Sides another dnsfailover owner holds (split ownership) are theirs:
    // nothing of this FailoverRecord's is there, and nothing to report.
    let marker = ownership::marker_name(&fqdn, rr_type);
    let others: Vec<ownership::Marker> = held
        .at(&marker, &crate::route53::RrType::TXT)
        .iter()
        .flat_map(|m| m.values.iter())
        .filter_map(|v| ownership::Marker::parse(v))
        .filter(|m| !m.is_owned_by(&target.owner))
        .collect();
    let records: Vec<_> = held
        .at(&fqdn, rr_type)
        .iter()
        .filter(|r| !others.iter().any(|m| m.claims(r.set_identifier.as_deref())))
        .collect();
    if records.is_empty() {
        return None;
    }
    let keys: Vec<String> = records
        .iter()
        .map(|r| RecordKey::to_string(&r.key()))
        .collect();
    Some(format!(
        "found {} in hosted zone {}, but no ownership marker of {} claims them ({} is missing or names someone else), so dnsfailover did not create them or no longer knows it did; they are left untouched. Delete them by hand, or apply with spec.adoptExisting: true and then delete",
        keys.join(", "),
        zone.id,
        target.owner,
        ownership::marker_name(&fqdn, rr_type)
    ))
}

/// Run deletions: for a FailoverRecord with records in several zones, the
/// other zones' record sets first, and its main plan's health checks only
/// once those changes are INSYNC too. Outcomes follow `deletions`.
pub async fn execute_deletions<R: Route53>(
    engine: &Engine<R>,
    deletions: &[(&[RecordPlan], &RecordPlan)],
    insync_timeout: std::time::Duration,
) -> Vec<Outcome> {
    let first: Vec<RecordPlan> = deletions
        .iter()
        .flat_map(|(first, _)| first.iter().cloned())
        .collect();
    let mut main: Vec<RecordPlan> = deletions.iter().map(|(_, p)| (*p).clone()).collect();
    let mut failed: Vec<Option<Outcome>> = vec![None; deletions.len()];
    let mut held: Vec<Vec<String>> = vec![Vec::new(); deletions.len()];
    if !first.is_empty() {
        let mut outcomes = super::workflow::execute(engine, &first, insync_timeout)
            .await
            .into_iter();
        for (index, (plans, _)) in deletions.iter().enumerate() {
            let mut changes = BTreeSet::new();
            for outcome in outcomes.by_ref().take(plans.len()) {
                match outcome {
                    Outcome::Failed(e) => failed[index] = Some(Outcome::Failed(e)),
                    Outcome::Changed {
                        change: Some(c), ..
                    } => {
                        changes.insert(c.id);
                    }
                    _ => {}
                }
            }
            let settled = changes.is_empty()
                || engine
                    .wait_insync(&changes, insync_timeout)
                    .await
                    .is_ok_and(|states| states.values().all(|s| *s == ChangeState::InSync));
            if failed[index].is_some() || !settled {
                // Their record sets may still be served: the checks wait.
                held[index] = main[index].delete_checks.drain(..).map(|d| d.id).collect();
            }
        }
    }
    let outcomes = super::workflow::execute(engine, &main, insync_timeout).await;
    outcomes
        .into_iter()
        .zip(failed)
        .zip(held)
        .map(|((outcome, failed), held)| match (failed, outcome) {
            (Some(failed), _) => failed,
            (
                None,
                Outcome::Changed {
                    change,
                    created_checks,
                    deleted_checks,
                    mut waiting_checks,
                },
            ) => {
                waiting_checks.extend(held);
                Outcome::Changed {
                    change,
                    created_checks,
                    deleted_checks,
                    waiting_checks,
                }
            }
            (None, outcome) => outcome,
        })
        .collect()
}
