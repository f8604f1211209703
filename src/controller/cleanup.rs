//! The cleanup path, run while the finalizer holds a deleted FailoverRecord:
//! record sets out of every zone involved, then (once that change is INSYNC)
//! the health checks no record set uses. Idempotent, and fine when apply
//! never ran; the finalizer goes only once Route 53 confirms.

use std::collections::BTreeSet;

use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::apply::{owner_of, stale};
use super::context::Context;
use super::effects;
use super::entry::{Error, ensure_leader};
use super::events;
use super::leader::Terms;
use super::patch::{now, patch_status};
use crate::api::{DeletionPolicy, FailoverRecord};
use crate::core::ownership::{self, Owner};
use crate::core::plan::{self, RecordPlan};
use crate::core::report::{self, ConditionStatus};
use crate::core::validate;
use crate::engine::{Job, Outcome, ReconcileError};
use crate::route53::{self, ErrorKind, Failover, Route53};

/// What a cleanup did.
#[derive(Debug, Default)]
pub struct Removal {
    /// Something of this FailoverRecord was in Route 53.
    pub removed: bool,
    /// Health checks left because record sets not owned by it use them.
    pub kept: BTreeSet<String>,
}

pub(super) async fn cleanup<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    term: &Terms,
) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(obj);
    ctx.health.forget(&key);
    if let Some(dns) = &ctx.dns {
        dns.forget(&key);
    }
    ctx.metrics
        .forget_record(&obj.namespace().unwrap_or_default(), &obj.name_any());
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        events::publish(obj, ctx, &[events::retained()]).await;
        ctx.forget(&key);
        return Ok(Action::await_change());
    }
    match remove_from_route53(obj, ctx).await {
        Ok(removal) => {
            events::publish(obj, ctx, &[events::cleanup_done(&removal)]).await;
            ctx.forget(&key);
            Ok(Action::await_change())
        }
        Err(error) => {
            ensure_leader(ctx, term)?;
            // Stay Terminating, and say why, until Route 53 confirms.
            let before = obj.status.as_ref();
            let mut status =
                report::with_error(before, &error.problem(), obj.meta().generation, now());
            for condition in &mut status.conditions {
                if ConditionStatus::of(condition) == ConditionStatus::False {
                    condition.message = format!(
                        "deleting: the finalizer stays until Route 53 confirms the cleanup: {}",
                        condition.message
                    );
                }
            }
            // The batch that removed the record sets, so that a restart
            // still waits for it before deleting the health checks.
            if let Some(change) = ctx.last_change(obj) {
                status.change = Some(report::change_status(&change));
            }
            let notes = events::choose(events::Reconciled {
                before,
                after: &status,
                applied: None,
                left_zone: None,
            });
            events::publish(obj, ctx, &notes).await;
            patch_status(obj, ctx, status).await?;
            Err(error.into())
        }
    }
}

/// Delete everything this FailoverRecord owns; tolerate it never having been
/// applied.
async fn remove_from_route53<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Removal, ReconcileError> {
    // The zone the status names holds the records; while a move to another
    // zone is under way, the spec's zone may too.
    let mut zones: Vec<String> = obj
        .status
        .as_ref()
        .and_then(|s| s.hosted_zone_id.clone())
        .into_iter()
        .collect();
    if let Ok(selector) = validate::zone_selector_of(&obj.spec.hosted_zone) {
        if ctx.engine.route(
            &owner_of(obj, ctx),
            &selector,
            obj.spec.hosted_zone.role_arn.as_deref(),
        ) {
            ctx.observer.invalidate_checks().await;
        }
        match ctx.observer.zone(&ctx.engine, &selector).await {
            Ok(zone) if !zones.contains(&zone.id) => zones.push(zone.id),
            Ok(_) => {}
            // Never resolved, so never applied there.
            Err(ReconcileError::ZoneNotFound { .. } | ReconcileError::ZoneAmbiguous { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let removal = remove_once(obj, &zones, ctx).await?;
    if removal.removed {
        return Ok(removal);
    }
    // Removing the finalizer cannot be undone: before concluding that
    // nothing is left, look at Route 53 itself rather than the cache.
    for zone in &zones {
        ctx.observer.invalidate_zone(zone).await;
    }
    ctx.observer.invalidate_checks().await;
    remove_once(obj, &zones, ctx).await
}

/// Remove the owner's record sets from each zone; then, once Route 53 has
/// applied that everywhere (INSYNC), the health checks no record set of any
/// of the zones refers to any more.
async fn remove_once<R: Route53 + 'static>(
    obj: &FailoverRecord,
    zones: &[String],
    ctx: &Context<R>,
) -> Result<Removal, ReconcileError> {
    let key = ObjectRef::from_obj(obj);
    let owner = owner_of(obj, ctx);
    let zones: Vec<Option<&str>> = if zones.is_empty() {
        vec![None]
    } else {
        zones.iter().map(|z| Some(z.as_str())).collect()
    };
    let mut removal = Removal::default();
    for zone in &zones {
        // A batch refused for an out-of-date view of the zone (another
        // installation rewrote a shared marker) is planned once more from
        // the fresh listing its refusal left.
        for attempt in 0..2 {
            let records = plan_removal(&owner, *zone, ctx)
                .await?
                .without_check_deletes();
            if records.is_empty() {
                break;
            }
            let outcome = effects::execute(ctx, &key, &[Job::from(&records)])
                .await
                .into_iter()
                .next();
            if attempt == 0 && stale(&outcome) {
                continue;
            }
            if let Some(Outcome::Failed(e)) = outcome {
                return Err(e.into());
            }
            removal.removed = true;
            break;
        }
    }

    let mut checks: Option<RecordPlan> = None;
    for zone in &zones {
        let plan = plan_removal(&owner, *zone, ctx).await?;
        removal
            .kept
            .extend(plan.kept_checks.iter().map(|k| k.id.clone()));
        checks = Some(match checks {
            None => plan.only_check_deletes(),
            Some(mut so_far) => {
                so_far
                    .delete_checks
                    .retain(|d| plan.delete_checks.iter().any(|p| p.id == d.id));
                so_far
            }
        });
    }
    let Some(mut checks) = checks else {
        return Ok(removal);
    };
    for taken_over in taken_over_checks(obj, &owner, ctx).await? {
        if !checks.delete_checks.iter().any(|d| d.id == taken_over.id) {
            checks.delete_checks.push(taken_over);
        }
    }
    checks
        .delete_checks
        .retain(|d| !removal.kept.contains(&d.id));
    ctx.observer
        .keep_checks_in_use(&ctx.engine, std::slice::from_mut(&mut checks))
        .await?;
    removal
        .kept
        .extend(checks.kept_checks.iter().map(|k| k.id.clone()));
    if checks.delete_checks.is_empty() {
        return Ok(removal);
    }
    let earlier = ctx.last_change(obj);
    let job = Job {
        plan: &checks,
        earlier: earlier.as_ref(),
    };
    match effects::execute(ctx, &key, &[job]).await.into_iter().next() {
        Some(Outcome::Failed(e)) => return Err(e.into()),
        Some(Outcome::Changed {
            change,
            waiting_checks,
            ..
        }) => {
            if let Some(change) = change {
                ctx.note_change(&key, change.clone());
                if !waiting_checks.is_empty() {
                    return Err(ReconcileError::AwaitingChange {
                        change_id: change.id,
                    });
                }
            }
        }
        Some(Outcome::Conflict(_) | Outcome::Unchanged) | None => {}
    }
    removal.removed = true;
    Ok(removal)
}

/// The checks this FailoverRecord took over (`adoptExisting`, `import`)
/// that are still in Route 53. Only its marker entry names them as its own,
/// and the record batch has removed that entry by the time checks are
/// deleted (after INSYNC, possibly in a later reconcile), so they are found
/// from its status instead, and confirmed by the owner and resource tags
/// they were given when taken over.
async fn taken_over_checks<R: Route53 + 'static>(
    obj: &FailoverRecord,
    owner: &Owner,
    ctx: &Context<R>,
) -> Result<Vec<plan::DeleteCheck>, ReconcileError> {
    let Some(status) = obj.status.as_ref() else {
        return Ok(Vec::new());
    };
    let remembered: Vec<(Failover, String)> = [
        (Failover::Primary, &status.primary),
        (Failover::Secondary, &status.secondary),
    ]
    .into_iter()
    .filter_map(|(role, side)| {
        let side = side.as_ref().filter(|s| s.managed_by.is_none())?;
        Some((role, side.health_check_id.clone()?))
    })
    .collect();
    if remembered.is_empty() {
        return Ok(Vec::new());
    }
    let ours_by_reference = Owner::owner_id_prefix(&owner.owner_id);
    let view = ctx.observer.view(&ctx.engine, None).await?;
    let candidates: Vec<(Failover, String)> = view.with(|observed| {
        remembered
            .into_iter()
            .filter(|(_, id)| {
                observed
                    .health_checks
                    .get(id)
                    .is_some_and(|c| !c.caller_reference.starts_with(&ours_by_reference))
            })
            .collect()
    });
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = candidates.iter().map(|(_, id)| id.clone()).collect();
    let tags = route53::list_all_health_check_tags(ctx.engine.route53(), &ids).await?;
    Ok(candidates
        .into_iter()
        .filter(|(_, id)| {
            tags.get(id)
                .is_some_and(|t| ownership::tagged_for(t, owner))
        })
        .map(|(role, id)| plan::DeleteCheck {
            id,
            role,
            reason: plan::DeleteReason::ResourceDeleted,
        })
        .collect())
}

async fn plan_removal<R: Route53 + 'static>(
    owner: &Owner,
    zone_id: Option<&str>,
    ctx: &Context<R>,
) -> Result<RecordPlan, ReconcileError> {
    // A zone that no longer exists holds no records; the checks still go.
    let view = match ctx.observer.view(&ctx.engine, zone_id).await {
        Err(e) if e.kind == ErrorKind::NotFound => ctx.observer.view(&ctx.engine, None).await?,
        other => other?,
    };
    Ok(view.with(|observed| plan::plan_delete(owner, zone_id.unwrap_or_default(), observed)))
}
