//! The apply path: bring Route 53 to the spec through the shared executor,
//! then report what it holds in `.status`, Events and metrics. Also the dry
//! run, which plans the same way ([`plan_for`]) and writes nothing.

use std::sync::atomic::Ordering;

use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tracing::{debug, info, warn};

use sha2::{Digest, Sha256};

use super::context::{Context, Fingerprint};
use super::effects::{self, insync};
use super::entry::{Error, ensure_leader, resync};
use super::events::{self, Applied, Reconciled};
use super::leader::Terms;
use super::metrics::{HealthLabels, Metrics};
use super::patch::{now, patch_status};
use super::targets;
use crate::api::{ActiveSide, FailoverRecord, FailoverRecordStatus, Health};
use crate::core::desired::PlacedRecord;
use crate::core::failback;
use crate::core::ownership::Owner;
use crate::core::plan::{self, RecordPlan};
use crate::core::report::{self, Category, Report};
use crate::core::validate;
use crate::engine::{self, Job, Outcome, ReconcileError};
use crate::route53::{ChangeInfo, ChangeState, ErrorKind, Failover, RecordSet, Route53};
use kube::Api;
use kube::api::{Patch, PatchParams};

pub(super) fn owner_of(obj: &FailoverRecord, ctx: &Context<impl Route53>) -> Owner {
    Owner::new(
        ctx.engine.owner_id(),
        obj.namespace().unwrap_or_default(),
        obj.name_any(),
    )
}

/// A FailoverRecord's plan, where it was made, and what was decided about
/// its failback latch.
pub(super) struct Planned {
    pub placed: PlacedRecord,
    pub plan: RecordPlan,
    pub failback: failback::Decision,
}

/// Targets resolved, spec validated, zone found, Route 53 observed (from the
/// shared cache) and planned: the one way the apply path and the dry run
/// decide what to change.
pub(super) async fn plan_for<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Planned, ReconcileError> {
    let spec = targets::spec_with_targets(obj, ctx).await?;
    let desired = validate::desired_from_spec(owner_of(obj, ctx), &spec)?;
    if ctx
        .engine
        .route(&desired.owner, &desired.zone, desired.zone_role.as_deref())
    {
        // A zone in an account not served before: the cached health checks
        // were listed without that account's.
        ctx.observer.invalidate_checks().await;
    }
    let zone = ctx.observer.zone(&ctx.engine, &desired.zone).await?;
    let mut placed = desired
        .place(zone)
        .map_err(ReconcileError::NameOutsideZone)?;
    if ctx.health.take_vanished() {
        ctx.observer.invalidate_checks().await;
    }
    let view = ctx
        .observer
        .view(&ctx.engine, Some(&placed.zone.id))
        .await?;
    ctx.readiness.credentials_ok.store(true, Ordering::Relaxed);
    let request = obj
        .annotations()
        .get(failback::REQUEST_ANNOTATION)
        .map(|v| failback::Request::parse(v));
    let holding = view.with(|observed| engine::latch(&placed, observed).map(|l| l.config.holds()));
    let mut decision = view.with(|observed| {
        failback::decide(
            placed.desired.manual_failback,
            holding,
            primary_health(ctx, &placed, observed),
            request.as_ref(),
        )
    });
    placed.desired.latch = decision.want;
    let mut plan = view.with(|observed| plan::plan_apply(&placed, observed));
    if plan.latch.is_none() && !plan.disputes.is_empty() {
        let why = format!(
            "the PRIMARY is in dispute with another owner ({}); it and its latch stay as they are until that is resolved",
            plan.disputes[0].message
        );
        decision = failback::blocked(decision, holding, &why);
    }
    ctx.observer
        .keep_checks_in_use(&ctx.engine, std::slice::from_mut(&mut plan))
        .await?;
    Ok(Planned {
        placed,
        plan,
        failback: decision,
    })
}

/// The last read of the primary's own check (behind the latch, if any).
fn primary_health(
    ctx: &Context<impl Route53>,
    placed: &PlacedRecord,
    observed: plan::Observed<'_>,
) -> Option<Health> {
    let serving = engine::serving(placed, observed);
    let (_, check) = serving.get(&Failover::Primary)?;
    ctx.health.health(&(*check)?.id).map(|h| h.health)
}

/// What converging did, for the status, the Events and the next requeue.
struct Converged {
    status: FailoverRecordStatus,
    action: Action,
    applied: Option<(RecordPlan, bool)>,
    left_zone: Option<String>,
    failback: failback::Decision,
}

pub(super) async fn apply<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    term: &Terms,
) -> Result<Action, Error> {
    let before = obj.status.as_ref();
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    match converge(obj, ctx).await {
        Ok(done) => {
            let notes = events::choose(Reconciled {
                before,
                after: &done.status,
                applied: done.applied.as_ref().map(|(plan, drift)| Applied {
                    plan,
                    drift: *drift,
                }),
                left_zone: done.left_zone.as_deref(),
            });
            let mut notes = notes;
            notes.extend(done.failback.told.as_ref().map(events::failback));
            count_transitions(&ctx.metrics, (&namespace, &name), before, &done.status);
            events::publish(obj, ctx, &notes).await;
            patch_status(obj, ctx, done.status).await?;
            if done.failback.consumed {
                consume_request(obj, ctx).await?;
            }
            Ok(done.action)
        }
        Err(error) => {
            // A write refused by the lease gate is not this object's
            // failure; and a stale replica reports nothing.
            ensure_leader(ctx, term)?;
            if error.category() == Category::CredentialsMissing {
                ctx.readiness.credentials_ok.store(false, Ordering::Relaxed);
            }
            let status = report::with_error(before, &error.problem(), obj.meta().generation, now());
            let notes = events::choose(Reconciled {
                before,
                after: &status,
                applied: None,
                left_zone: None,
            });
            count_transitions(&ctx.metrics, (&namespace, &name), before, &status);
            events::publish(obj, ctx, &notes).await;
            patch_status(obj, ctx, status).await?;
            if error.needs_spec_change() {
                // The spec must change first; the edit triggers a reconcile.
                Ok(Action::await_change())
            } else {
                Err(error.into())
            }
        }
    }
}

/// Whether a run failed on a change batch Route 53 refused, which is what a
/// plan made from an out-of-date view of the zone meets.
pub(super) fn stale(outcome: &Option<Outcome>) -> bool {
    matches!(outcome, Some(Outcome::Failed(e)) if e.kind == ErrorKind::InvalidChangeBatch)
}

/// The one change-batch answer of a run of the executor, or its failure.
fn changed(outcome: Option<Outcome>) -> Result<Option<ChangeInfo>, ReconcileError> {
    match outcome {
        Some(Outcome::Changed { change, .. }) => Ok(change),
        Some(Outcome::Failed(e)) => Err(e.into()),
        Some(Outcome::Conflict(c)) => Err(ReconcileError::Conflict(c)),
        Some(Outcome::Unchanged) | None => Ok(None),
    }
}

/// Bring Route 53 to the spec; return the status that describes the result.
/// Errors are returned for the caller to report.
async fn converge<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Converged, ReconcileError> {
    let key = ObjectRef::from_obj(obj);
    let Planned {
        placed,
        mut plan,
        failback: decision,
    } = plan_for(obj, ctx).await?;
    let zone_id = placed.zone.id.clone();
    let previous = obj.status.as_ref();
    let mut change = ctx.last_change(obj);
    if !plan.conflicts.is_empty() {
        return Err(ReconcileError::Conflict(plan.conflicts.clone()));
    }
    // Serialising plain data cannot fail; an empty fingerprint only makes a
    // drift look like a spec change in the event's wording.
    let fingerprint: Fingerprint =
        Sha256::digest(serde_json::to_vec(&(&placed.fqdn, &placed.desired)).unwrap_or_default())
            .into();
    let before = ctx.recall(&key);
    let mut applied = None;
    if !plan.is_empty() {
        let job = Job {
            plan: &plan,
            earlier: change.as_ref(),
        };
        let mut outcome = effects::execute(ctx, &key, &[job]).await.into_iter().next();
        if stale(&outcome) {
            // Refused because the cached zone was out of date: most often
            // another installation rewrote the marker of a shared name since
            // it was read. The refusal dropped the cached zone; plan once more
            // from a fresh listing before calling it a failure.
            debug!("a change batch met a zone that changed since it was read; planning again");
            plan = plan_for(obj, ctx).await?.plan;
            if !plan.conflicts.is_empty() {
                return Err(ReconcileError::Conflict(plan.conflicts.clone()));
            }
            let job = Job {
                plan: &plan,
                earlier: change.as_ref(),
            };
            outcome = effects::execute(ctx, &key, &[job]).await.into_iter().next();
        }
        if let Some(Outcome::Changed { waiting_checks, .. }) = &outcome
            && !waiting_checks.is_empty()
        {
            debug!(
                checks = waiting_checks.len(),
                "health check deletion waits for the change to be INSYNC"
            );
        }
        if let Some(answer) = changed(outcome)? {
            change = Some(answer);
        }
        let drift = match before {
            Some(before) => before == fingerprint,
            // Unknown after a restart: an unchanged, ready generation means drift.
            None => {
                previous.and_then(|s| s.observed_generation) == obj.meta().generation
                    && report::ready(previous).is_some_and(|c| {
                        report::ConditionStatus::of(c) == report::ConditionStatus::True
                    })
            }
        };
        applied = Some((plan.clone(), drift));
    } else if let Some(change) = change.as_mut() {
        insync(ctx, change).await;
    }
    ctx.remember(&key, fingerprint);
    let disputes = plan.disputes.clone();

    let mut left_zone = None;
    if let Some(old_zone) = previous
        .and_then(|s| s.hosted_zone_id.as_deref())
        .filter(|old| *old != zone_id)
        && let Some(left) = leave_zone(obj, ctx, old_zone).await?
    {
        change = Some(left);
        left_zone = Some(old_zone.to_string());
    }
    if let Some(change) = &change {
        ctx.note_change(&key, change.clone());
    }

    // Status from what Route 53 holds now (the cache includes our writes).
    let view = ctx.observer.view(&ctx.engine, Some(&zone_id)).await?;
    let latch = view.with(|observed| {
        engine::latch(&placed, observed).map(|l| (l.id.clone(), l.config.holds()))
    });
    let sides = view.with(|observed| {
        // The other side's check too (split ownership): its health is shown
        // read-only, and the DNS watch reads it when answers move to it.
        let watched = engine::watched_checks(&placed, observed);
        ctx.health.watch(&key, &watched);
        if let Some(dns) = &ctx.dns {
            let others: Vec<&RecordSet> = engine::peers(&placed, observed)
                .into_values()
                .map(|peer| peer.record_set)
                .collect();
            dns.watch(
                &key,
                &placed,
                &others,
                watched.iter().map(|c| c.id.clone()).collect(),
            );
        }
        engine::side_reports(&placed, observed, |c| ctx.health.health(&c.id))
    });
    let report = Report {
        generation: obj.meta().generation,
        fqdn: Some(placed.fqdn.clone()),
        hosted_zone_id: Some(zone_id),
        sides,
        remaining: None,
        error: None,
        change: change.clone(),
        disputes: disputes.iter().map(|d| d.message.clone()).collect(),
        dns: ctx.dns.as_ref().and_then(|dns| dns.seen(&key)),
    };
    let now = now();
    let mut status = report::build(&report, previous, now.clone());
    status.failback = placed.desired.manual_failback.then(|| {
        let primary = status.primary.as_ref().and_then(|p| p.health);
        let (id, holding) = latch.map_or((None, false), |(id, holds)| (Some(id), holds));
        failback::status(
            &obj.name_any(),
            holding,
            primary,
            id,
            previous.and_then(|p| p.failback.as_ref()),
            &now,
        )
    });
    let pending = change.is_some_and(|c| c.status == ChangeState::Pending);
    Ok(Converged {
        failback: decision,
        status,
        action: if pending {
            Action::requeue(ctx.settings.short_requeue)
        } else {
            resync(ctx)
        },
        applied,
        left_zone,
    })
}

/// After the zone changed (`hostedZone` is immutable under the CRD's rules,
/// but its name can come to resolve to another zone, and admission can be
/// bypassed) and the new zone holds the records: remove them from the zone
/// the status still names. The health checks stay, since the new records use
/// them. Until this succeeds the status keeps naming the old zone, so a crash
/// or an error only means trying again.
async fn leave_zone<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    old_zone: &str,
) -> Result<Option<ChangeInfo>, ReconcileError> {
    let view = match ctx.observer.view(&ctx.engine, Some(old_zone)).await {
        // A deleted zone took its records with it.
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        other => other?,
    };
    let owner = owner_of(obj, ctx);
    let plan = view
        .with(|observed| plan::plan_delete(&owner, old_zone, observed))
        .without_check_deletes();
    if plan.is_empty() {
        return Ok(None);
    }
    let key = ObjectRef::from_obj(obj);
    let outcome = effects::execute(ctx, &key, &[Job::from(&plan)])
        .await
        .into_iter()
        .next();
    changed(outcome)
}

pub(super) async fn dry_run<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Action, Error> {
    let Planned { plan, .. } = plan_for(obj, ctx).await?;
    if let Some(note) = events::dry_run(&plan) {
        info!(plan = %plan.summary(), "dry run: would change Route 53");
        events::publish(obj, ctx, &[note]).await;
    }
    Ok(resync(ctx))
}

/// Remove a handled `dnsfailover.io/request`, unless someone changed it
/// since it was read (the JSON patch tests the value first).
async fn consume_request<R: Route53>(obj: &FailoverRecord, ctx: &Context<R>) -> Result<(), Error> {
    let Some(value) = obj.annotations().get(failback::REQUEST_ANNOTATION) else {
        return Ok(());
    };
    if !ctx.gate.is_open() {
        return Ok(());
    }
    let path = format!(
        "/metadata/annotations/{}",
        failback::REQUEST_ANNOTATION
            .replace('~', "~0")
            .replace('/', "~1")
    );
    let patch: json_patch::Patch = match serde_json::from_value(serde_json::json!([
        {"op": "test", "path": path, "value": value},
        {"op": "remove", "path": path},
    ])) {
        Ok(patch) => patch,
        Err(e) => {
            warn!(error = %e, "cannot build the patch that removes the handled request");
            return Ok(());
        }
    };
    let api: Api<FailoverRecord> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Changed since: the new request is handled by the next reconcile.
        Err(kube::Error::Api(e)) if e.code == 422 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Health transitions and failovers, for the metrics (labels from fixed sets).
fn count_transitions(
    metrics: &Metrics,
    (namespace, name): (&str, &str),
    before: Option<&FailoverRecordStatus>,
    after: &FailoverRecordStatus,
) {
    for (side, old, new) in [
        (
            "primary",
            before.and_then(|s| s.primary.as_ref()),
            after.primary.as_ref(),
        ),
        (
            "secondary",
            before.and_then(|s| s.secondary.as_ref()),
            after.secondary.as_ref(),
        ),
    ] {
        let (old, new) = (old.and_then(|t| t.health), new.and_then(|t| t.health));
        if old != new
            && let Some(health) = new
        {
            let label = match health {
                Health::Healthy => "healthy",
                Health::Unhealthy => "unhealthy",
                Health::Unknown => "unknown",
            };
            metrics
                .health_transitions
                .get_or_create(&HealthLabels { health: label })
                .inc();
            debug!(side, ?old, ?health, "health changed");
        }
    }
    match (before.and_then(|s| s.active), after.active) {
        (Some(ActiveSide::Primary), Some(to @ ActiveSide::Secondary))
        | (Some(ActiveSide::Secondary), Some(to @ ActiveSide::Primary)) => {
            metrics.failed_over(namespace, name, to);
        }
        _ => {}
    }
    metrics.record_status(namespace, name, after);
}
