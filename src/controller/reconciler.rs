//! Reconcile one FailoverRecord: the same observe → validate → plan → apply
//! core as the CLI, plus what only a controller does: the finalizer, status,
//! events, health read-outs, leader gating and per-object backoff.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{Instrument, debug, info, warn};

use super::backoff::Backoffs;
use super::cache::Observer;
use super::health::HealthMonitor;
use super::leader::{Gate, Terms};
use super::metrics::{CategoryLabels, HealthLabels, Metrics, ResultLabels, SideLabels};
use super::targets::{self, TargetError};
use super::writer::BatchWriter;
use crate::api::{
    ActiveSide, DeletionPolicy, FailoverRecord, FailoverRecordSpec, FailoverRecordStatus, Health,
    Target,
};
use crate::ownership::Owner;
use crate::plan::{self, DeleteReason, RecordPlan};
use crate::reconcile::{self, Engine, ReconcileError};
use crate::route53::{ChangeInfo, ChangeState, ErrorKind, Operation, Route53, Route53Error};
use crate::status::{self, Report, SideReport};
use crate::validate::{self, InvalidSpec};

/// Held on every FailoverRecord until its Route 53 objects are gone.
pub const FINALIZER: &str = "dnsfailover.io/cleanup";
/// Field manager of status patches.
pub const FIELD_MANAGER: &str = "dnsfailover";

/// How the controller behaves.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Period after which Route 53 is read again and drift corrected.
    pub resync: Duration,
    /// Compute, log and event plans; write nothing to Route 53 or status.
    pub dry_run: bool,
    /// Whether `serviceRef` and `ingressRef` may be used.
    pub cluster_targets: bool,
    /// How soon to look again while a change is PENDING or a target is not ready.
    pub short_requeue: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(300),
            dry_run: false,
            cluster_targets: true,
            short_requeue: Duration::from_secs(30),
        }
    }
}

/// What `/readyz` reports besides the watch being synced.
#[derive(Debug)]
pub struct Readiness {
    /// False after Route 53 refused the credentials, true again after any
    /// Route 53 request succeeds.
    pub credentials_ok: AtomicBool,
    pub synced: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            credentials_ok: AtomicBool::new(true),
            synced: AtomicBool::new(false),
        }
    }
}

impl Readiness {
    /// Why the controller is not ready, or `None` when it is.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.synced.load(Ordering::Relaxed) {
            Some("waiting for the first list of FailoverRecords")
        } else if !self.credentials_ok.load(Ordering::Relaxed) {
            Some(
                "Route 53 rejects or lacks AWS credentials; see the CredentialsMissing condition on FailoverRecords",
            )
        } else {
            None
        }
    }
}

/// Everything a reconcile needs, shared.
pub struct Context<R> {
    pub client: Client,
    pub engine: Arc<Engine<R>>,
    pub observer: Observer,
    pub writer: BatchWriter<R>,
    pub health: Arc<HealthMonitor>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub gate: Gate,
    pub backoffs: Backoffs<ObjectRef<FailoverRecord>>,
    pub readiness: Arc<Readiness>,
    pub settings: Settings,
    /// What this process knows of each FailoverRecord beyond its status.
    memory: std::sync::Mutex<HashMap<ObjectRef<FailoverRecord>, Memory>>,
    /// Another replica may have written while this one stood by, so a new
    /// leadership term starts from Route 53 as it is, not as it was.
    terms: tokio::sync::Mutex<Terms>,
}

impl<R: Route53 + 'static> Context<R> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        engine: Arc<Engine<R>>,
        health: Arc<HealthMonitor>,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        gate: Gate,
        readiness: Arc<Readiness>,
        settings: Settings,
        batch_window: Duration,
    ) -> Self {
        Self {
            terms: tokio::sync::Mutex::new(gate.terms()),
            observer: Observer::new(settings.resync),
            writer: BatchWriter::new(engine.clone(), batch_window),
            client,
            engine,
            health,
            recorder,
            metrics,
            gate,
            backoffs: Backoffs::new(Duration::from_secs(2), Duration::from_secs(300)),
            readiness,
            settings,
            memory: std::sync::Mutex::default(),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<FailoverRecord>, Memory>> {
        crate::sync::lock(&self.memory)
    }

    /// The desired state last applied for `key`, if known.
    fn recall(&self, key: &ObjectRef<FailoverRecord>) -> Option<String> {
        self.memory().get(key).and_then(|m| m.fingerprint.clone())
    }

    /// Remember the desired state Route 53 now holds for `key`.
    fn remember(&self, key: &ObjectRef<FailoverRecord>, fingerprint: String) {
        self.memory().entry(key.clone()).or_default().fingerprint = Some(fingerprint);
    }

    /// The last change batch of the FailoverRecord's record sets: this
    /// process's memory, else what the status recorded.
    fn last_change(&self, obj: &FailoverRecord) -> Option<ChangeInfo> {
        let remembered = self
            .memory()
            .get(&ObjectRef::from_obj(obj))
            .and_then(|m| m.change.clone());
        remembered.or_else(|| {
            obj.status
                .as_ref()
                .and_then(|s| s.change.as_ref())
                .map(status::recorded_change)
        })
    }

    fn note_change(&self, key: &ObjectRef<FailoverRecord>, change: ChangeInfo) {
        self.memory().entry(key.clone()).or_default().change = Some(change);
    }

    /// A FailoverRecord is gone: drop what was remembered about it.
    fn forget(&self, key: &ObjectRef<FailoverRecord>) {
        self.memory().remove(key);
    }

    /// Called by every reconcile while leading: the first of a new term
    /// forgets what was cached in an earlier one, and the others wait for it.
    async fn begin_term(&self) {
        let mut terms = self.terms.lock().await;
        if terms.new_term() {
            self.observer.invalidate_all().await;
            self.memory().clear();
        }
    }
}

/// What a reconcile learns that the status may not hold.
#[derive(Default)]
struct Memory {
    /// What the FailoverRecord last asked of Route 53 (a fingerprint of its
    /// desired state), to tell drift from a changed spec or target.
    fingerprint: Option<String>,
    /// The last change batch its record sets went into, so that deleting the
    /// checks they stopped using waits for it even when the status that
    /// would have recorded it was not written.
    change: Option<ChangeInfo>,
}

/// Refuse to go on unless the lease is held, and held without a break since
/// the reconcile began (`term`): a plan made before a break may be stale.
/// Finalizer removal is irreversible, so cleanup checks again right before it.
fn ensure_leader(ctx: &Context<impl Route53>, term: &Terms) -> Result<(), ReconcileError> {
    if ctx.gate.is_open() && !term.changed() {
        Ok(())
    } else {
        Err(ReconcileError::Route53(Route53Error::new(
            Operation::ChangeResourceRecordSets,
            ErrorKind::NotLeader,
            "leadership was lost during the reconcile; the new leader takes over",
        )))
    }
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    /// A fixed category for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Reconcile(e) => e.category(),
            Self::Kube(_) => "KubernetesApi",
            Self::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => {
                    e.category()
                }
                _ => "KubernetesApi",
            },
        }
    }
}

/// The entry point kube-runtime calls.
pub async fn reconcile<R: Route53 + 'static>(
    obj: Arc<FailoverRecord>,
    ctx: Arc<Context<R>>,
) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(&*obj);
    let span = tracing::info_span!("reconcile", namespace = key.namespace.as_deref().unwrap_or_default(), name = %key.name);
    reconcile_inner(obj, ctx, key).instrument(span).await
}

async fn reconcile_inner<R: Route53 + 'static>(
    obj: Arc<FailoverRecord>,
    ctx: Arc<Context<R>>,
    key: ObjectRef<FailoverRecord>,
) -> Result<Action, Error> {
    let started = tokio::time::Instant::now();
    if !ctx.gate.is_open() {
        // A standby replica: the leader does the work; look again later.
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
    let term = ctx.gate.terms();
    ctx.begin_term().await;
    let result = if ctx.settings.dry_run {
        dry_run(&obj, &ctx).await
    } else {
        let api: Api<FailoverRecord> =
            Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
        finalizer::finalizer(&api, FINALIZER, obj.clone(), |event| async {
            ensure_leader(&ctx, &term)?;
            match event {
                Finalizer::Apply(obj) => apply(&obj, &ctx).await,
                Finalizer::Cleanup(obj) => {
                    let action = cleanup(&obj, &ctx).await?;
                    // Returning Ok removes the finalizer.
                    ensure_leader(&ctx, &term)?;
                    Ok(action)
                }
            }
        })
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    };
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    let label = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics
        .reconciles
        .get_or_create(&ResultLabels { result: label })
        .inc();
    if result.is_ok() {
        ctx.backoffs.succeeded(&key);
    }
    result
}

/// What kube-runtime does after a failed reconcile: per-object exponential
/// backoff with jitter.
pub fn error_policy<R: Route53 + 'static>(
    obj: Arc<FailoverRecord>,
    error: &Error,
    ctx: Arc<Context<R>>,
) -> Action {
    Action::requeue(retry_delay(&obj, error, &ctx))
}

/// Count the failure and say how long to wait before the next attempt.
pub fn retry_delay<R: Route53 + 'static>(
    obj: &FailoverRecord,
    error: &Error,
    ctx: &Context<R>,
) -> Duration {
    let key = ObjectRef::from_obj(obj);
    let category = error.category();
    if category == "ChangesPending" {
        // Not a failure: Route 53 is still applying a change; look again soon.
        debug!(namespace = key.namespace.as_deref().unwrap_or_default(), name = %key.name, error = %error, "waiting for Route 53");
        return ctx.settings.short_requeue;
    }
    ctx.metrics
        .errors
        .get_or_create(&CategoryLabels { category })
        .inc();
    let delay = ctx.backoffs.failed(&key);
    warn!(namespace = key.namespace.as_deref().unwrap_or_default(), name = %key.name, category, error = %error, retry_in = ?delay, "reconcile failed");
    delay
}

fn owner_of(obj: &FailoverRecord, ctx: &Context<impl Route53>) -> Owner {
    Owner::new(
        ctx.engine.owner_id(),
        obj.namespace().unwrap_or_default(),
        obj.name_any(),
    )
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// Jittered resync: reconciles of many objects do not line up.
fn resync(ctx: &Context<impl Route53>) -> Action {
    let period = ctx.settings.resync;
    Action::requeue(period.mul_f64(0.9 + 0.2 * fastrand::f64()))
}

async fn apply<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Action, Error> {
    match converge(obj, ctx).await {
        Ok((status, action)) => {
            publish_transitions(obj, ctx, &status).await;
            patch_status(obj, ctx, status).await?;
            Ok(action)
        }
        Err(error) => {
            if error.category() == "CredentialsMissing" {
                ctx.readiness.credentials_ok.store(false, Ordering::Relaxed);
            }
            let status =
                status::with_error(obj.status.as_ref(), &error, obj.meta().generation, now());
            publish_transitions(obj, ctx, &status).await;
            patch_status(obj, ctx, status).await?;
            match error {
                // The spec must change first; the edit triggers a reconcile.
                ReconcileError::InvalidSpec(_)
                | ReconcileError::NameOutsideZone(_)
                | ReconcileError::Oversized(_) => Ok(Action::await_change()),
                error => Err(error.into()),
            }
        }
    }
}

/// Bring Route 53 to the spec; return the status that describes the result.
/// Errors are returned for the caller to report.
async fn converge<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<(FailoverRecordStatus, Action), ReconcileError> {
    let key = ObjectRef::from_obj(obj);
    let spec = resolve_targets(obj, ctx).await?;
    let desired = validate::desired_from_spec(owner_of(obj, ctx), &spec)?;
    let zone = ctx.observer.zone(&ctx.engine, &desired.zone).await?;
    let placed = desired
        .place(zone)
        .map_err(ReconcileError::NameOutsideZone)?;
    let zone_id = placed.zone.id.clone();

    if ctx.health.take_vanished() {
        ctx.observer.invalidate_checks().await;
    }
    let view = ctx.observer.view(&ctx.engine, Some(&zone_id)).await?;
    ctx.readiness.credentials_ok.store(true, Ordering::Relaxed);
    let plan = view.with(|observed| plan::plan_apply(&placed, observed));

    let previous = obj.status.as_ref();
    let mut change = ctx.last_change(obj);
    if !plan.conflicts.is_empty() {
        return Err(ReconcileError::Conflict(plan.conflicts.clone()));
    }
    // Serialising plain data cannot fail; an empty fingerprint only makes a
    // drift look like a spec change in the event's wording.
    let fingerprint = serde_json::to_string(&(&placed.fqdn, &placed.desired)).unwrap_or_default();
    let before = ctx.recall(&key);
    if !plan.is_empty() {
        // A check the records stop using is deleted only once the change is
        // INSYNC: until then some Route 53 servers still answer from records
        // that refer to it, and a record whose check is gone answers
        // unpredictably.
        let (now, after_insync) = split_check_deletes(&plan);
        let submitted = execute(&now, &zone_id, ctx).await?;
        if let Some(answer) = &submitted {
            ctx.note_change(&key, answer.clone());
        }
        if !after_insync.is_empty() {
            let settled = match (&submitted, change.as_mut()) {
                // Just submitted: not worth asking about yet.
                (Some(answer), _) => answer.status == ChangeState::InSync,
                (None, Some(earlier)) => insync(ctx, earlier).await,
                (None, None) => true,
            };
            if settled {
                execute(&after_insync, &zone_id, ctx).await?;
            } else {
                debug!(
                    checks = after_insync.delete_checks.len(),
                    "health check deletion waits for the change to be INSYNC"
                );
            }
        }
        if let Some(answer) = submitted {
            change = Some(answer);
        }
        let drift = match before {
            Some(before) => before == fingerprint,
            // Unknown after a restart: an unchanged, ready generation means drift.
            None => {
                previous.and_then(|s| s.observed_generation) == obj.meta().generation
                    && status::ready(previous).is_some_and(|c| c.status == "True")
            }
        };
        announce(obj, ctx, &plan, drift).await;
    } else if let Some(change) = change.as_mut() {
        insync(ctx, change).await;
    }
    ctx.remember(&key, fingerprint);

    if let Some(old_zone) = previous
        .and_then(|s| s.hosted_zone_id.as_deref())
        .filter(|old| *old != zone_id)
        && let Some(left) = leave_zone(obj, ctx, old_zone).await?
    {
        change = Some(left);
    }
    if let Some(change) = &change {
        ctx.note_change(&key, change.clone());
    }

    // Status from what Route 53 holds now (the cache includes our writes).
    let view = ctx.observer.view(&ctx.engine, Some(&zone_id)).await?;
    let sides = view.with(|observed| {
        let serving = reconcile::serving(&placed, observed);
        let used: Vec<_> = serving.values().filter_map(|(_, check)| *check).collect();
        ctx.health.watch(&key, &used);
        let mut sides = BTreeMap::new();
        for (role, (record_set, check)) in &serving {
            if record_set.is_some() {
                sides.insert(
                    *role,
                    SideReport {
                        set_identifier: record_set.and_then(|r| r.set_identifier.clone()),
                        health_check_id: check.map(|c| c.id.clone()),
                        has_check: check.is_some(),
                        health: check.and_then(|c| ctx.health.health(&c.id)),
                    },
                );
            }
        }
        sides
    });
    let report = Report {
        generation: obj.meta().generation,
        fqdn: Some(placed.fqdn.clone()),
        hosted_zone_id: Some(zone_id),
        sides,
        remaining: None,
        error: None,
        change: change.clone(),
    };
    let status = status::build(&report, previous, now());
    let pending = change.is_some_and(|c| c.status == ChangeState::Pending);
    Ok((
        status,
        if pending {
            Action::requeue(ctx.settings.short_requeue)
        } else {
            resync(ctx)
        },
    ))
}

/// After the zone changed (`hostedZone` is immutable under the CRD's rules,
/// but its name can come to resolve to another zone, and admission can be
/// bypassed) and the new zone holds the records: remove
/// them from the zone the status still names. The health checks stay, since
/// the new records use them. Until this succeeds the status keeps naming the
/// old zone, so a crash or an error only means trying again.
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
    let plan = without_checks(view.with(|observed| plan::plan_delete(&owner, old_zone, observed)));
    if plan.is_empty() {
        return Ok(None);
    }
    let change = execute(&plan, old_zone, ctx).await?;
    publish(
        obj,
        ctx,
        EventType::Normal,
        "RecordsMoved",
        &format!("the hosted zone changed: removed the record sets from the previous hosted zone {old_zone}"),
    )
    .await;
    Ok(change)
}

/// Run a plan's steps, keeping the shared cache in step with Route 53.
async fn execute<R: Route53 + 'static>(
    plan: &RecordPlan,
    zone_id: &str,
    ctx: &Context<R>,
) -> Result<Option<ChangeInfo>, ReconcileError> {
    // Announce the record changes now, so that the batch they go into waits
    // for them while their health checks are created.
    let intent = (!plan.changes.is_empty()).then(|| ctx.writer.intend(zone_id));
    let created = match ctx.engine.prepare_checks(plan).await {
        Ok(created) => created,
        Err((_, e)) => {
            // A check may exist without its tags, or a retag may be half
            // done: learn both from Route 53 rather than from the plan.
            ctx.observer.invalidate_checks().await;
            return Err(e.into());
        }
    };
    ctx.observer.checks_changed(plan, &created, &[]).await;
    let mut info = None;
    if !plan.changes.is_empty() {
        let ids = created
            .iter()
            .map(|(role, c)| (*role, c.id.clone()))
            .collect();
        let changes = reconcile::resolve_changes(plan, &ids)?;
        let intent = intent.unwrap_or_else(|| ctx.writer.intend(zone_id));
        match ctx.writer.submit(intent, changes.clone()).await {
            Ok(answer) => {
                ctx.observer.changes_applied(zone_id, &changes).await;
                info = Some(answer);
            }
            Err(e) => {
                ctx.observer.invalidate_zone(zone_id).await;
                if e.kind == ErrorKind::InvalidChangeBatch {
                    // Route 53 may refuse a batch for a health check that
                    // was deleted behind our back.
                    ctx.observer.invalidate_checks().await;
                }
                return Err(e.into());
            }
        }
    }
    let deleted = match ctx.engine.delete_checks(plan).await {
        Ok(deleted) => deleted,
        Err((deleted, e)) => {
            ctx.observer
                .checks_changed(&only_deletes(plan), &BTreeMap::new(), &deleted)
                .await;
            ctx.observer.invalidate_checks().await;
            return Err(e.into());
        }
    };
    ctx.observer
        .checks_changed(&only_deletes(plan), &BTreeMap::new(), &deleted)
        .await;
    Ok(info)
}

/// Whether a change batch is INSYNC, asking Route 53 while it is PENDING.
/// INSYNC is terminal, so a change known to be INSYNC is never asked about
/// again, and one answer serves every record of the batch for a while.
async fn insync<R: Route53 + 'static>(ctx: &Context<R>, change: &mut ChangeInfo) -> bool {
    if change.status == ChangeState::Pending {
        match ctx
            .observer
            .change(&ctx.engine, &change.id, ctx.settings.short_requeue / 2)
            .await
        {
            Ok(state) => change.status = state,
            Err(e) => debug!(error = %e, "cannot read the change status; will try again"),
        }
    }
    change.status == ChangeState::InSync
}

/// The plan without its health-check deletions, and those deletions alone.
fn split_check_deletes(plan: &RecordPlan) -> (RecordPlan, RecordPlan) {
    (without_checks(plan.clone()), only_deletes(plan))
}

fn without_checks(plan: RecordPlan) -> RecordPlan {
    RecordPlan {
        delete_checks: Vec::new(),
        kept_checks: Vec::new(),
        ..plan
    }
}

fn only_deletes(plan: &RecordPlan) -> RecordPlan {
    RecordPlan {
        create_checks: Vec::new(),
        update_checks: Vec::new(),
        retag_checks: Vec::new(),
        changes: Vec::new(),
        ..plan.clone()
    }
}

/// Replace `serviceRef` / `ingressRef` by what their load balancers stand for.
async fn resolve_targets<R: Route53>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<FailoverRecordSpec, ReconcileError> {
    let mut spec = obj.spec.clone();
    let namespace = obj.namespace().unwrap_or_default();
    for (side, target) in [
        ("primary", &mut spec.primary),
        ("secondary", &mut spec.secondary),
    ] {
        let (field, what, endpoint) = match (&target.service_ref, &target.ingress_ref) {
            (None, None) => continue,
            _ if !ctx.settings.cluster_targets => {
                return Err(InvalidSpec::single(format!("spec.{side}"), "serviceRef and ingressRef are disabled in this installation (--cluster-targets=false)").into());
            }
            (Some(service), _) => {
                let what = format!("Service {namespace}/{}", service.name);
                let api: Api<Service> = Api::namespaced(ctx.client.clone(), &namespace);
                let found = api.get_opt(&service.name).await.map_err(|e| {
                    ReconcileError::TargetNotReady(format!("cannot read {what}: {e}"))
                })?;
                let endpoint = match found {
                    Some(svc) => targets::service_endpoint(&svc),
                    None => Err(TargetError::Pending(format!("{what} does not exist"))),
                };
                ("serviceRef", what, endpoint)
            }
            (None, Some(ingress)) => {
                let what = format!("Ingress {namespace}/{}", ingress.name);
                let api: Api<Ingress> = Api::namespaced(ctx.client.clone(), &namespace);
                let found = api.get_opt(&ingress.name).await.map_err(|e| {
                    ReconcileError::TargetNotReady(format!("cannot read {what}: {e}"))
                })?;
                let endpoint = match found {
                    Some(ing) => targets::ingress_endpoint(&ing),
                    None => Err(TargetError::Pending(format!("{what} does not exist"))),
                };
                ("ingressRef", what, endpoint)
            }
        };
        let resolved: Result<Target, TargetError> =
            endpoint.and_then(|e| targets::resolve(target, obj.spec.record_type, e, &what));
        *target = match resolved {
            Ok(t) => t,
            Err(TargetError::Pending(m)) => return Err(ReconcileError::TargetNotReady(m)),
            Err(TargetError::Invalid(m)) => {
                return Err(InvalidSpec::single(format!("spec.{side}.{field}"), m).into());
            }
        };
    }
    Ok(spec)
}

async fn cleanup<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(obj);
    ctx.health.forget(&key);
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        publish(
            obj,
            ctx,
            EventType::Normal,
            "Retained",
            "deletionPolicy is Retain: the record sets and health checks stay in Route 53",
        )
        .await;
        ctx.forget(&key);
        return Ok(Action::await_change());
    }
    match remove_from_route53(obj, ctx).await {
        Ok(removal) => {
            let mut note = if removal.removed {
                "removed the record sets, then the health checks, from Route 53".to_string()
            } else {
                "nothing of this FailoverRecord was left in Route 53".to_string()
            };
            let kept_any = !removal.kept.is_empty();
            if kept_any {
                note = format!(
                    "{note}; left health check(s) {} in Route 53 because record sets this FailoverRecord does not own still use them: delete them once nothing does",
                    removal.kept.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            let type_ = if kept_any {
                EventType::Warning
            } else {
                EventType::Normal
            };
            publish(obj, ctx, type_, "CleanupDone", &note).await;
            ctx.forget(&key);
            Ok(Action::await_change())
        }
        Err(error) => {
            // Stay Terminating, and say why, until Route 53 confirms.
            let mut status =
                status::with_error(obj.status.as_ref(), &error, obj.meta().generation, now());
            for condition in &mut status.conditions {
                if condition.status == "False" {
                    condition.message = format!(
                        "deleting: the finalizer stays until Route 53 confirms the cleanup: {}",
                        condition.message
                    );
                }
            }
            // The batch that removed the record sets, so that a restart
            // still waits for it before deleting the health checks.
            if let Some(change) = ctx.last_change(obj) {
                status.change = Some(status::change_status(&change));
            }
            publish_transitions(obj, ctx, &status).await;
            patch_status(obj, ctx, status).await?;
            Err(error.into())
        }
    }
}

/// What a cleanup did.
#[derive(Default)]
struct Removal {
    /// Something of this FailoverRecord was in Route 53.
    removed: bool,
    /// Health checks left because record sets not owned by it use them.
    kept: BTreeSet<String>,
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
        let records = without_checks(plan_removal(&owner, *zone, ctx).await?);
        if !records.is_empty() {
            if let Some(change) = execute(&records, zone.unwrap_or_default(), ctx).await? {
                ctx.note_change(&key, change);
            }
            removal.removed = true;
        }
    }

    let mut checks: Option<RecordPlan> = None;
    for zone in &zones {
        let plan = plan_removal(&owner, *zone, ctx).await?;
        removal.kept.extend(plan.kept_checks.iter().cloned());
        checks = Some(match checks {
            None => only_deletes(&plan),
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
    checks
        .delete_checks
        .retain(|d| !removal.kept.contains(&d.id));
    if checks.delete_checks.is_empty() {
        return Ok(removal);
    }
    if let Some(mut change) = ctx.last_change(obj) {
        let settled = insync(ctx, &mut change).await;
        ctx.note_change(&key, change.clone());
        if !settled {
            return Err(ReconcileError::AwaitingChange {
                change_id: change.id,
            });
        }
    }
    let zone = zones.last().copied().flatten().unwrap_or_default();
    execute(&checks, zone, ctx).await?;
    removal.removed = true;
    Ok(removal)
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

async fn dry_run<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
) -> Result<Action, Error> {
    let spec = resolve_targets(obj, ctx).await?;
    let desired =
        validate::desired_from_spec(owner_of(obj, ctx), &spec).map_err(ReconcileError::from)?;
    let zone = ctx.observer.zone(&ctx.engine, &desired.zone).await?;
    let placed = desired
        .place(zone)
        .map_err(ReconcileError::NameOutsideZone)?;
    let view = ctx
        .observer
        .view(&ctx.engine, Some(&placed.zone.id))
        .await
        .map_err(ReconcileError::from)?;
    let plan = view.with(|observed| plan::plan_apply(&placed, observed));
    if !plan.is_empty() || !plan.conflicts.is_empty() {
        let summary = summarize(&plan);
        info!(plan = %summary, "dry run: would change Route 53");
        publish(
            obj,
            ctx,
            EventType::Normal,
            "DryRun",
            &format!("dry run, nothing written: would {summary}"),
        )
        .await;
    }
    Ok(resync(ctx))
}

/// A one-line description of a plan, for events and logs.
fn summarize(plan: &RecordPlan) -> String {
    let mut parts = Vec::new();
    if !plan.create_checks.is_empty() {
        parts.push(format!(
            "create {} health check(s)",
            plan.create_checks.len()
        ));
    }
    if !plan.update_checks.is_empty() {
        parts.push(format!(
            "update {} health check(s)",
            plan.update_checks.len()
        ));
    }
    if !plan.changes.is_empty() {
        parts.push(format!("apply {} record change(s)", plan.changes.len()));
    }
    if !plan.delete_checks.is_empty() {
        parts.push(format!(
            "delete {} health check(s)",
            plan.delete_checks.len()
        ));
    }
    if !plan.conflicts.is_empty() {
        parts.push("leave conflicting record sets alone".to_string());
    }
    parts.join(", ")
}

/// Events for what a successful plan did.
async fn announce<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    plan: &RecordPlan,
    drift: bool,
) {
    let replaced = plan
        .delete_checks
        .iter()
        .any(|d| d.reason == DeleteReason::Replaced);
    if !plan.create_checks.is_empty() {
        let (reason, note) = if replaced {
            (
                "HealthCheckReplaced",
                "an immutable health check setting changed: created a new check, repointed the record, deleted the old check",
            )
        } else {
            ("HealthCheckCreated", "created the Route 53 health check")
        };
        publish(obj, ctx, EventType::Normal, reason, note).await;
    }
    if !plan.update_checks.is_empty() {
        let changed: Vec<&str> = plan
            .update_checks
            .iter()
            .flat_map(|u| u.changed.iter().copied())
            .collect();
        publish(
            obj,
            ctx,
            EventType::Normal,
            "HealthCheckUpdated",
            &format!("updated the health check: {}", changed.join(", ")),
        )
        .await;
    }
    if !plan.changes.is_empty() {
        let first_time = obj.status.as_ref().and_then(|s| s.fqdn.as_ref()).is_none();
        let (type_, reason, note) = if first_time {
            (
                EventType::Normal,
                "RecordsCreated",
                "created the PRIMARY and SECONDARY record sets",
            )
        } else if drift {
            (
                EventType::Warning,
                "DriftCorrected",
                "the record sets in Route 53 no longer matched the spec (changed outside dnsfailover); restored them",
            )
        } else {
            (
                EventType::Normal,
                "RecordsUpdated",
                "updated the record sets to the new spec",
            )
        };
        publish(obj, ctx, type_, reason, note).await;
    }
}

/// Events for status transitions: errors (reason = category), conflicts,
/// failover and failback, health changes. Only on a change, never repeated.
async fn publish_transitions<R: Route53 + 'static>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    status: &FailoverRecordStatus,
) {
    let before = obj.status.as_ref();
    let was = status::ready(before);
    let now = status::ready(Some(status));
    if let Some(now) = now
        && now.status == "False"
        && was.is_none_or(|w| w.reason != now.reason || w.status != now.status)
        && now.reason != "ChangesPending"
    {
        let reason = if now.reason == "RecordConflict" {
            "ConflictDetected"
        } else {
            now.reason.as_str()
        };
        publish(obj, ctx, EventType::Warning, reason, &now.message).await;
    }
    for (side, old, new) in [
        (
            "primary",
            before.and_then(|s| s.primary.as_ref()),
            status.primary.as_ref(),
        ),
        (
            "secondary",
            before.and_then(|s| s.secondary.as_ref()),
            status.secondary.as_ref(),
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
            ctx.metrics
                .health_transitions
                .get_or_create(&HealthLabels { health: label })
                .inc();
            debug!(side, ?old, ?health, "health changed");
        }
    }
    let before_active = before.and_then(|s| s.active);
    match (before_active, status.active) {
        (Some(ActiveSide::Primary), Some(ActiveSide::Secondary)) => {
            ctx.metrics
                .failovers
                .get_or_create(&SideLabels { to: "secondary" })
                .inc();
            publish(
                obj,
                ctx,
                EventType::Warning,
                "FailoverToSecondary",
                "Route 53 sees the primary as unhealthy: DNS now answers with the secondary",
            )
            .await;
        }
        (Some(ActiveSide::Secondary), Some(ActiveSide::Primary)) => {
            ctx.metrics
                .failovers
                .get_or_create(&SideLabels { to: "primary" })
                .inc();
            publish(
                obj,
                ctx,
                EventType::Normal,
                "FailbackToPrimary",
                "the primary is healthy again: DNS answers with the primary",
            )
            .await;
        }
        _ => {}
    }
}

async fn publish<R: Route53>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    if !ctx.gate.is_open() {
        return;
    }
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".to_string(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        warn!(reason, error = %e, "cannot publish event");
    }
}

/// Server-side apply of status, skipped when it would change nothing.
async fn patch_status<R: Route53>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    status: FailoverRecordStatus,
) -> Result<(), kube::Error> {
    if obj.status.as_ref() == Some(&status) || !ctx.gate.is_open() {
        return Ok(());
    }
    let api: Api<FailoverRecord> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": FailoverRecord::api_version(&()),
        "kind": FailoverRecord::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}
