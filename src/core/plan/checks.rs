//! The health check of one side: keep the one in use (updating it in place
//! where Route 53 allows, re-tagging it), or create a replacement; every
//! other check of that side goes.

use std::collections::BTreeMap;

use super::{
    CheckRef, CheckSet, CreateCheck, DeleteCheck, DeleteReason, KeptCheck, LatchStep, Observed,
    RecordPlan, RetagCheck, UpdateCheck, ZoneRecords,
};
use crate::core::desired::{LatchWant, PlacedRecord};
use crate::core::ownership::{self, Owner};
use crate::route53::{
    ChangeAction, Failover, HealthCheck, HealthCheckConfig, HealthCheckUpdate, RecordSet,
    ResettableElement, Tags,
};

/// Decide the health check of one side: keep (updating and re-tagging it),
/// create, and delete the rest. Returns what the side's record refers to.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_side_check(
    plan: &mut RecordPlan,
    record: &PlacedRecord,
    role: Failover,
    want: Option<&HealthCheckConfig>,
    serving: Option<&str>,
    candidates: &[&HealthCheck],
    tags: &BTreeMap<String, Tags>,
) -> Option<CheckRef> {
    let Some(want) = want else {
        plan.delete_checks
            .extend(candidates.iter().map(|c| DeleteCheck {
                id: c.id.clone(),
                role,
                reason: DeleteReason::NoLongerWanted,
            }));
        return None;
    };
    let compatible = |c: &&&HealthCheck| c.config.immutable_part() == want.immutable_part();
    // Prefer the check the record already uses, then an exact match, then the
    // lowest id: deterministic, and it avoids repointing the record.
    let keep = candidates
        .iter()
        .filter(compatible)
        .find(|c| Some(c.id.as_str()) == serving)
        .or_else(|| {
            candidates
                .iter()
                .filter(compatible)
                .find(|c| &c.config == want)
        })
        .or_else(|| {
            candidates
                .iter()
                .filter(compatible)
                .min_by(|a, b| a.id.cmp(&b.id))
        })
        .copied();

    for c in candidates {
        if keep.is_some_and(|k| k.id == c.id) {
            continue;
        }
        let reason = if c.config.immutable_part() == want.immutable_part() {
            DeleteReason::Duplicate
        } else {
            DeleteReason::Replaced
        };
        plan.delete_checks.push(DeleteCheck {
            id: c.id.clone(),
            role,
            reason,
        });
    }

    let desired_tags = ownership::health_check_tags(
        &record.desired.owner,
        &record.zone.id,
        &record.fqdn,
        &record.desired.rr_type,
        role,
    );
    match keep {
        Some(check) => {
            if &check.config != want {
                plan.update_checks.push(UpdateCheck {
                    id: check.id.clone(),
                    role,
                    update: HealthCheckUpdate {
                        version: check.version,
                        config: want.clone(),
                        reset: resets(&check.config, want),
                    },
                    changed: changed_settings(&check.config, want),
                });
            }
            if let Some(have) = tags.get(&check.id) {
                let missing: Tags = desired_tags
                    .iter()
                    .filter(|(k, v)| have.get(*k) != Some(*v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !missing.is_empty() {
                    plan.retag_checks.push(RetagCheck {
                        id: check.id.clone(),
                        role,
                        add: missing,
                    });
                }
            }
            Some(CheckRef::Existing(check.id.clone()))
        }
        None => {
            plan.create_checks.push(CreateCheck {
                role,
                caller_reference: ownership::caller_reference(&record.desired.owner, role, want, 0),
                config: want.clone(),
                tags: desired_tags,
            });
            Some(CheckRef::Created(role))
        }
    }
}

/// Settings an update must reset because the desired check no longer sets them.
fn resets(have: &HealthCheckConfig, want: &HealthCheckConfig) -> Vec<ResettableElement> {
    let mut reset = Vec::new();
    if have.fqdn.is_some() && want.fqdn.is_none() {
        reset.push(ResettableElement::FullyQualifiedDomainName);
    }
    if !have.regions.is_empty() && want.regions.is_empty() {
        reset.push(ResettableElement::Regions);
    }
    if have.resource_path.is_some() && want.resource_path.is_none() {
        reset.push(ResettableElement::ResourcePath);
    }
    reset
}

fn changed_settings(have: &HealthCheckConfig, want: &HealthCheckConfig) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |differs: bool, name: &'static str| {
        if differs {
            changed.push(name);
        }
    };
    check(have.ip_address != want.ip_address, "ipAddress");
    check(have.fqdn != want.fqdn, "fqdn/hostName");
    check(have.port != want.port, "port");
    check(have.resource_path != want.resource_path, "path");
    check(have.search_string != want.search_string, "searchString");
    check(
        have.failure_threshold != want.failure_threshold,
        "failureThreshold",
    );
    check(have.inverted != want.inverted, "inverted");
    check(have.disabled != want.disabled, "disabled");
    check(have.enable_sni != want.enable_sni, "enableSNI");
    check(have.regions != want.regions, "regions");
    changed
}

/// Route 53 deletes a health check even while record sets refer to it, and
/// such records then answer unpredictably. So a check is deleted only when no
/// record set of the zone refers to it once the plan's changes are applied;
/// one still in use (by a record set someone else pointed at it) is kept.
pub(super) fn keep_referenced_checks(plan: &mut RecordPlan, zone: &ZoneRecords) {
    let zone_id = plan.zone_id.clone();
    keep_checks_in_use(std::slice::from_mut(plan), &[(zone_id.as_str(), zone)], &[]);
}

/// The same rule over every zone read and every plan of a run: a check goes
/// only when no record set of any of `zones` refers to it once all `plans`
/// are applied (a record set in another zone counts as much as one in the
/// plan's own). While a zone that may refer to it could not be read
/// (`unreadable`), it stays too. Each check kept says why.
pub fn keep_checks_in_use(
    plans: &mut [RecordPlan],
    zones: &[(&str, &ZoneRecords)],
    unreadable: &[String],
) {
    let (dropped, added) = reference_changes(plans);
    let removed: Vec<(String, crate::route53::RecordKey)> = plans
        .iter()
        .flat_map(|p| {
            p.changes
                .iter()
                .filter(|c| c.action == ChangeAction::Delete)
                .map(|c| (p.zone_id.clone(), c.record.key()))
        })
        .collect();
    for plan in plans.iter_mut() {
        let kept = &mut plan.kept_checks;
        plan.delete_checks.retain(|check| {
            let id = check.id.as_str();
            let referring: usize = zones.iter().map(|(_, z)| z.references_to(id)).sum();
            let still = referring + added.get(id).copied().unwrap_or(0);
            let reason = if still > dropped.get(id).copied().unwrap_or(0) {
                let users: Vec<String> = zones
                    .iter()
                    .flat_map(|(zone_id, z)| {
                        z.referring_to(id)
                            .into_iter()
                            .filter(|r| !removed.contains(&(zone_id.to_string(), r.key())))
                            .map(move |r| format!("{} in hosted zone {zone_id}", r.key()))
                    })
                    .collect();
                Some(format!("still used by {}", users.join(", ")))
            } else if !unreadable.is_empty() {
                Some(format!(
                    "hosted zone {} could not be read to make sure no record set uses it",
                    unreadable.join(", ")
                ))
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    kept.push(KeptCheck {
                        id: check.id.clone(),
                        reason,
                    });
                    false
                }
                None => true,
            }
        });
    }
}

/// For each health check, how many references the plans drop and add.
fn reference_changes(plans: &[RecordPlan]) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut added: BTreeMap<String, usize> = BTreeMap::new();
    for change in plans.iter().flat_map(|p| &p.changes) {
        if change.action == ChangeAction::Delete {
            if let Some(id) = &change.record.health_check_id {
                *dropped.entry(id.clone()).or_default() += 1;
            }
        } else if let Some(CheckRef::Existing(id)) = &change.health_check {
            *added.entry(id.clone()).or_default() += 1;
        }
    }
    (dropped, added)
}

/// The failback latch (`failback: Manual`): keep the one the PRIMARY record
/// uses (else the lowest id), point it at the primary's check and make it
/// hold or follow as asked; create it if there is none. The PRIMARY record
/// then refers to the latch. Without Manual, latches go (after the record
/// is pointed back at the primary's check, and before that check).
pub(super) fn plan_latch(
    plan: &mut RecordPlan,
    record: &PlacedRecord,
    ours_here: &[&RecordSet],
    observed: Observed<'_>,
    check_refs: &mut BTreeMap<Failover, Option<CheckRef>>,
) {
    let owner = &record.desired.owner;
    let latches = observed.health_checks.latches_of(owner);
    let child = check_refs.get(&Failover::Primary).cloned().flatten();
    let (Some(child), true) = (child, record.desired.manual_failback) else {
        let gone = latches.iter().map(|l| DeleteCheck {
            id: l.id.clone(),
            role: Failover::Primary,
            reason: DeleteReason::NoLongerWanted,
        });
        plan.delete_checks.splice(0..0, gone);
        return;
    };
    let serving = ours_here
        .iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .and_then(|r| r.health_check_id.as_deref());
    let keep = latches
        .iter()
        .find(|l| Some(l.id.as_str()) == serving)
        .or_else(|| latches.iter().min_by(|a, b| a.id.cmp(&b.id)))
        .copied();
    let duplicates = latches
        .iter()
        .filter(|l| keep.is_some_and(|k| k.id != l.id))
        .map(|l| DeleteCheck {
            id: l.id.clone(),
            role: Failover::Primary,
            reason: DeleteReason::Duplicate,
        });
    plan.delete_checks.splice(0..0, duplicates);
    let want = record.desired.latch;
    match keep {
        Some(latch) => {
            let hold = match want {
                LatchWant::Hold => true,
                LatchWant::Release => false,
                LatchWant::Keep => latch.config.holds(),
            };
            let same_child =
                matches!(&child, CheckRef::Existing(id) if latch.config.children == [id.as_str()]);
            if !same_child || latch.config.holds() != hold {
                plan.latch = Some(LatchStep::Update {
                    id: latch.id.clone(),
                    version: latch.version,
                    child,
                    hold,
                });
            }
            check_refs.insert(
                Failover::Primary,
                Some(CheckRef::Existing(latch.id.clone())),
            );
        }
        None => {
            plan.latch = Some(LatchStep::Create {
                child,
                hold: want == LatchWant::Hold,
                tags: ownership::latch_tags(
                    owner,
                    &record.zone.id,
                    &record.fqdn,
                    &record.desired.rr_type,
                ),
            });
            check_refs.insert(Failover::Primary, Some(CheckRef::Latch));
        }
    }
}

/// Route 53 refuses to delete a check that a calculated check counts: keep
/// the children of the latches this plan keeps (as they will be once the
/// plan's latch step is done).
pub(super) fn keep_latch_children(plan: &mut RecordPlan, owner: &Owner, checks: &CheckSet) {
    let deleted: Vec<String> = plan.delete_checks.iter().map(|d| d.id.clone()).collect();
    let mut counted: Vec<String> = Vec::new();
    for latch in checks.latches_of(owner) {
        if deleted.contains(&latch.id) {
            continue;
        }
        match &plan.latch {
            Some(LatchStep::Update { id, child, .. }) if *id == latch.id => {
                if let CheckRef::Existing(child) = child {
                    counted.push(child.clone());
                }
            }
            _ => counted.extend(latch.config.children.iter().cloned()),
        }
    }
    let kept = &mut plan.kept_checks;
    plan.delete_checks.retain(|d| {
        let keep = counted.contains(&d.id);
        if keep {
            kept.push(KeptCheck {
                id: d.id.clone(),
                reason: "the failback latch counts it".to_string(),
            });
        }
        !keep
    });
}
