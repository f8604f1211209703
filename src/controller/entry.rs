//! Where kube-runtime enters: one reconcile of one FailoverRecord (leader
//! check, finalizer, dry run), and the error policy that decides when a
//! failed one is tried again.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use tracing::{Instrument, debug, warn};

use super::context::Context;
use super::leader::Terms;
use super::metrics::{CategoryLabels, ResultLabels};
use super::{apply, cleanup};
use crate::api::FailoverRecord;
use crate::core::report::Category;
use crate::engine::ReconcileError;
use crate::route53::Route53;

/// Held on every FailoverRecord until its Route 53 objects are gone.
pub const FINALIZER: &str = "dnsfailover.io/cleanup";

/// How soon a standby replica looks at an object again.
const STANDBY_REQUEUE: Duration = Duration::from_secs(15);

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// The lease was lost, or lost and won back, since the reconcile began:
    /// what it planned may be stale, and another replica takes over.
    #[error("leadership was lost during the reconcile; the new leader takes over")]
    NotLeader,
}

impl Error {
    /// A fixed category for metrics and logs.
    pub fn category(&self) -> Category {
        match self {
            Self::Reconcile(e) => e.category(),
            Self::Kube(_) => Category::KubernetesApi,
            Self::NotLeader => Category::NotLeader,
            Self::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => {
                    e.category()
                }
                _ => Category::KubernetesApi,
            },
        }
    }
}

/// Refuse to go on unless the lease is held, and held without a break since
/// the reconcile began (`term`): a plan made before a break may be stale.
/// Finalizer removal is irreversible, so cleanup checks again right before it.
pub(super) fn ensure_leader(ctx: &Context<impl Route53>, term: &Terms) -> Result<(), Error> {
    if ctx.gate.is_open() && !term.changed() {
        Ok(())
    } else {
        Err(Error::NotLeader)
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
        return Ok(Action::requeue(STANDBY_REQUEUE));
    }
    let term = ctx.gate.terms();
    ctx.begin_term().await;
    let result = if ctx.settings.dry_run {
        apply::dry_run(&obj, &ctx).await
    } else {
        let api: Api<FailoverRecord> =
            Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
        finalizer::finalizer(&api, FINALIZER, obj.clone(), |event| async {
            ensure_leader(&ctx, &term)?;
            match event {
                Finalizer::Apply(obj) => apply::apply(&obj, &ctx, &term).await,
                Finalizer::Cleanup(obj) => {
                    let action = cleanup::cleanup(&obj, &ctx, &term).await?;
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

/// What kube-runtime does after a failed reconcile: look again soon while
/// Route 53 applies a change; otherwise count the failure and wait, longer
/// after each consecutive failure of this object (with jitter).
pub fn error_policy<R: Route53 + 'static>(
    obj: Arc<FailoverRecord>,
    error: &Error,
    ctx: Arc<Context<R>>,
) -> Action {
    let key = ObjectRef::from_obj(&*obj);
    let category = error.category();
    if category == Category::ChangesPending {
        // Not a failure: Route 53 is still applying a change.
        debug!(namespace = key.namespace.as_deref().unwrap_or_default(), name = %key.name, error = %error, "waiting for Route 53");
        return Action::requeue(ctx.settings.short_requeue);
    }
    ctx.metrics
        .errors
        .get_or_create(&CategoryLabels {
            category: category.into(),
        })
        .inc();
    let delay = ctx.backoffs.failed(&key);
    warn!(namespace = key.namespace.as_deref().unwrap_or_default(), name = %key.name, category = %category, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Jittered resync: reconciles of many objects do not line up.
pub(super) fn resync(ctx: &Context<impl Route53>) -> Action {
    let period = ctx.settings.resync;
    Action::requeue(period.mul_f64(0.9 + 0.2 * fastrand::f64()))
}
