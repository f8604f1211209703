//! The controller's side of the shared executor ([`crate::engine::Executor`]):
//! record changes go through the batch writer, so concurrent reconciles of a
//! zone share batches; INSYNC is asked once (through the cache, one answer
//! for every record of a batch) and never waited for, since the reconcile
//! comes back after the short requeue; and every write is applied to the
//! shared cache, so the next reconcile plans from what Route 53 now holds.

use std::collections::BTreeMap;

use futures::future::join_all;
use kube::runtime::reflector::ObjectRef;
use tracing::debug;

use super::context::Context;
use super::writer::Intent;
use crate::api::FailoverRecord;
use crate::core::plan::RecordPlan;
use crate::engine::{Batches, Executor, Job, Outcome, Settle, Upkeep};
use crate::route53::{
    Change, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck, Route53, Route53Error,
};

/// Run `jobs` of the FailoverRecord `key` through the shared executor.
pub(super) async fn execute<R: Route53 + 'static>(
    ctx: &Context<R>,
    key: &ObjectRef<FailoverRecord>,
    jobs: &[Job<'_>],
) -> Vec<Outcome> {
    Executor {
        engine: &ctx.engine,
        batches: Writer(ctx),
        settle: Asked(ctx),
        upkeep: Cache { ctx, key },
    }
    .run(jobs)
    .await
}

/// Whether a change batch is INSYNC, asking Route 53 while it is PENDING.
/// INSYNC is terminal, so a change known to be INSYNC is never asked about
/// again, and one answer serves every record of the batch for a while.
pub(super) async fn insync<R: Route53>(ctx: &Context<R>, change: &mut ChangeInfo) -> bool {
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

struct Writer<'a, R>(&'a Context<R>);

impl<R: Route53 + 'static> Batches for Writer<'_, R> {
    type Intent = Intent;

    fn intend(&self, zone_id: &str) -> Intent {
        self.0.writer.intend(zone_id)
    }

    async fn submit(
        &self,
        _zone_id: &str,
        groups: Vec<(usize, Intent, Vec<Change>)>,
    ) -> Vec<(usize, Result<ChangeInfo, Route53Error>)> {
        join_all(
            groups
                .into_iter()
                .map(|(index, intent, changes)| async move {
                    (index, self.0.writer.submit(intent, changes).await)
                }),
        )
        .await
    }
}

struct Asked<'a, R>(&'a Context<R>);

impl<R: Route53> Settle for Asked<'_, R> {
    async fn settle(
        &self,
        change: &mut ChangeInfo,
        just_submitted: bool,
    ) -> Result<bool, Route53Error> {
        // Just submitted: not worth asking about yet.
        if just_submitted {
            return Ok(change.status == ChangeState::InSync);
        }
        Ok(insync(self.0, change).await)
    }
}

struct Cache<'a, R> {
    ctx: &'a Context<R>,
    key: &'a ObjectRef<FailoverRecord>,
}

impl<R: Route53 + 'static> Upkeep for Cache<'_, R> {
    async fn checks_prepared(&self, plan: &RecordPlan, created: &BTreeMap<Failover, HealthCheck>) {
        self.ctx.observer.checks_changed(plan, created, &[]).await;
    }

    async fn latch_prepared(&self, latch: &HealthCheck) {
        self.ctx.observer.check_written(latch).await;
    }

    async fn checks_deleted(&self, plan: &RecordPlan, deleted: &[String]) {
        self.ctx
            .observer
            .checks_changed(&plan.only_check_deletes(), &BTreeMap::new(), deleted)
            .await;
    }

    async fn checks_unknown(&self) {
        self.ctx.observer.invalidate_checks().await;
    }

    async fn records_applied(&self, zone_id: &str, changes: &[Change], change: &ChangeInfo) {
        self.ctx.observer.changes_applied(zone_id, changes).await;
        // Remembered at once: a later step of this run may fail, and the
        // checks these records stopped using must still wait for it.
        self.ctx.note_change(self.key, change.clone());
    }

    async fn records_failed(&self, zone_id: &str, error: &Route53Error) {
        self.ctx.observer.invalidate_zone(zone_id).await;
        if error.kind == ErrorKind::InvalidChangeBatch {
            // Route 53 may refuse a batch for a health check that was
            // deleted behind our back.
            self.ctx.observer.invalidate_checks().await;
        }
    }
}
