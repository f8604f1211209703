//! The one executor of plans, for the CLI and the controller alike. It owns
//! the order in which a plan's steps reach Route 53, and the INSYNC rule:
//!
//! 1. create, update and re-tag health checks (records may refer to new ones);
//! 2. submit the record changes (several plans share batches);
//! 3. wait until the change that last touched the records is INSYNC, when
//!    the plan deletes health checks: until then some Route 53 servers still
//!    answer from records that use them, and a record whose check is gone
//!    answers unpredictably;
//! 4. delete the health checks.
//!
//! What differs between the two callers is passed in, not re-implemented:
//! how record changes are submitted ([`Batches`]: the CLI packs its plans'
//! groups itself, the controller coalesces concurrent reconciles in its
//! batch writer), how INSYNC is learnt ([`Settle`]: the CLI waits for it, the
//! controller asks once and comes back later), and what must be kept in step
//! with each write ([`Upkeep`]: the controller's shared cache).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tracing::{debug, info};

use super::Engine;
use crate::backoff::{Jitter, Schedule};
use crate::core::ownership;
use crate::core::plan::{self, Conflict, LatchStep, RecordPlan};
use crate::route53::{
    Change, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck, HealthCheckConfig,
    HealthCheckUpdate, Operation, Route53, Route53Error,
};

/// How many fresh caller references to try when Route 53 says a reference
/// belonged to a check deleted in the last days.
const CALLER_REFERENCE_ATTEMPTS: u32 = 4;

/// How one plan went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum Outcome {
    /// Route 53 already matched.
    Unchanged,
    /// Changes were made.
    Changed {
        #[serde(skip_serializing_if = "Option::is_none")]
        change: Option<ChangeInfo>,
        created_checks: Vec<String>,
        deleted_checks: Vec<String>,
        /// Checks left for now: the change is not INSYNC yet.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        waiting_checks: Vec<String>,
    },
    /// Nothing was written: the records belong to someone else.
    Conflict(Vec<Conflict>),
    /// A request failed; what happened before it stays applied and the next
    /// run continues from there.
    Failed(Route53Error),
}

/// One plan to execute, and the change batch that last touched its records
/// before this run, if the caller knows one: the plan's check deletions wait
/// for it when the plan itself submits no records.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    pub plan: &'a RecordPlan,
    pub earlier: Option<&'a ChangeInfo>,
}

impl<'a> From<&'a RecordPlan> for Job<'a> {
    fn from(plan: &'a RecordPlan) -> Self {
        Self {
            plan,
            earlier: None,
        }
    }
}

/// Record change groups of one zone: the position of their plan, the intent
/// announced for them, and the changes.
pub type Groups<I> = Vec<(usize, I, Vec<Change>)>;

/// How record changes reach Route 53.
pub trait Batches: Sync {
    /// Stands for a group announced and not yet submitted.
    type Intent: Send;

    /// A group of record changes for `zone_id` is on its way; announced
    /// before its health checks are created, so a batch can wait for it.
    fn intend(&self, zone_id: &str) -> Self::Intent;

    /// Submit the groups of one zone; each group gets its batch's answer.
    fn submit(
        &self,
        zone_id: &str,
        groups: Groups<Self::Intent>,
    ) -> impl Future<Output = Vec<(usize, Result<ChangeInfo, Route53Error>)>> + Send;
}

/// How the executor learns that a change batch is INSYNC.
pub trait Settle: Sync {
    /// Whether `change` is INSYNC now, updating its state. `just_submitted`:
    /// the batch was sent by this run a moment ago.
    fn settle(
        &self,
        change: &mut ChangeInfo,
        just_submitted: bool,
    ) -> impl Future<Output = Result<bool, Route53Error>> + Send;
}

/// What must be kept in step with each write. Every method defaults to
/// nothing, which is what the CLI, holding no state, needs.
pub trait Upkeep: Sync {
    /// Checks of `plan` were created (`created`), updated and re-tagged.
    fn checks_prepared(
        &self,
        _plan: &RecordPlan,
        _created: &BTreeMap<Failover, HealthCheck>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The failback latch was created or updated: Route 53 now holds `latch`.
    fn latch_prepared(&self, _latch: &HealthCheck) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Checks of `plan` were deleted (`deleted`; the others were not).
    fn checks_deleted(
        &self,
        _plan: &RecordPlan,
        _deleted: &[String],
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A check request failed half way: what Route 53 holds is not known.
    fn checks_unknown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Route 53 accepted `changes` in `zone_id` as `change`.
    fn records_applied(
        &self,
        _zone_id: &str,
        _changes: &[Change],
        _change: &ChangeInfo,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Route 53 refused or did not answer a batch for `zone_id`.
    fn records_failed(
        &self,
        _zone_id: &str,
        _error: &Route53Error,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Submits each zone's groups itself, packed into as few batches as fit.
pub struct Pack<'a, R>(pub &'a Engine<R>);

impl<R: Route53> Batches for Pack<'_, R> {
    type Intent = ();

    fn intend(&self, _zone_id: &str) {}

    async fn submit(
        &self,
        zone_id: &str,
        groups: Vec<(usize, (), Vec<Change>)>,
    ) -> Vec<(usize, Result<ChangeInfo, Route53Error>)> {
        let groups = groups.into_iter().map(|(i, (), c)| (i, c)).collect();
        self.0.submit_groups(zone_id, groups).await
    }
}

/// Polls until INSYNC, at most `timeout`, on the backoff schedule: for a
/// caller that must finish its work in one run.
pub struct Wait<'a, R> {
    pub engine: &'a Engine<R>,
    pub timeout: Duration,
    pub schedule: Schedule,
}

impl<'a, R> Wait<'a, R> {
    /// Poll after 2 s, then less and less often, up to every 15 s: Route 53
    /// usually applies a change within a minute.
    pub fn new(engine: &'a Engine<R>, timeout: Duration) -> Self {
        Self {
            engine,
            timeout,
            schedule: Schedule {
                base: Duration::from_secs(2),
                cap: Duration::from_secs(15),
                jitter: Jitter::None,
            },
        }
    }
}

impl<R: Route53> Settle for Wait<'_, R> {
    async fn settle(
        &self,
        change: &mut ChangeInfo,
        _just_submitted: bool,
    ) -> Result<bool, Route53Error> {
        if change.status == ChangeState::Pending {
            let ids = std::collections::BTreeSet::from([change.id.clone()]);
            let states = self
                .engine
                .wait_insync_on(&ids, self.timeout, self.schedule)
                .await?;
            if let Some(state) = states.get(&change.id) {
                change.status = *state;
            }
        }
        Ok(change.status == ChangeState::InSync)
    }
}

/// Nothing to keep in step.
pub struct NoUpkeep;

impl Upkeep for NoUpkeep {}

/// Runs plans through one [`Engine`] with the caller's ways of submitting
/// records, learning INSYNC and keeping state in step.
pub struct Executor<'a, R, B, S, U> {
    pub engine: &'a Engine<R>,
    pub batches: B,
    pub settle: S,
    pub upkeep: U,
}

#[derive(Default)]
struct Run {
    created: BTreeMap<Failover, String>,
    latch: Option<String>,
    deleted: Vec<String>,
    waiting: Vec<String>,
    change: Option<ChangeInfo>,
    failed: Option<Failure>,
}

enum Failure {
    Conflict(Vec<Conflict>),
    Route53(Route53Error),
}

impl<R: Route53, B: Batches, S: Settle, U: Upkeep> Executor<'_, R, B, S, U> {
    /// Execute the jobs; outcomes come back in the order of `jobs`.
    pub async fn run(&self, jobs: &[Job<'_>]) -> Vec<Outcome> {
        let mut runs: Vec<Run> = jobs.iter().map(|_| Run::default()).collect();

        let mut intents: Vec<Option<B::Intent>> = jobs
            .iter()
            .map(|job| {
                let plan = job.plan;
                (plan.conflicts.is_empty() && !plan.changes.is_empty())
                    .then(|| self.batches.intend(&plan.zone_id))
            })
            .collect();

        for (job, run) in jobs.iter().zip(runs.iter_mut()) {
            if !job.plan.conflicts.is_empty() {
                run.failed = Some(Failure::Conflict(job.plan.conflicts.clone()));
                continue;
            }
            match self.prepare_checks(job.plan).await {
                Ok(created) => {
                    self.upkeep.checks_prepared(job.plan, &created).await;
                    run.created = ids(created);
                    match self.prepare_latch(job.plan, &run.created).await {
                        Ok(latch) => {
                            if let Some(latch) = &latch {
                                self.upkeep.latch_prepared(latch).await;
                            }
                            run.latch = latch.map(|l| l.id);
                        }
                        Err(e) => {
                            self.upkeep.checks_unknown().await;
                            run.failed = Some(Failure::Route53(e));
                        }
                    }
                }
                Err((created, e)) => {
                    // A check may exist without its tags, or a retag may be
                    // half done: learn both from Route 53, not from the plan.
                    self.upkeep.checks_unknown().await;
                    run.created = ids(created);
                    run.failed = Some(Failure::Route53(e));
                }
            }
        }

        let mut by_zone: BTreeMap<&str, Groups<B::Intent>> = BTreeMap::new();
        let mut submitted: BTreeMap<usize, Vec<Change>> = BTreeMap::new();
        for (index, (job, run)) in jobs.iter().zip(runs.iter_mut()).enumerate() {
            // Dropping an intent withdraws it, so a batch does not wait for it.
            let Some(intent) = intents[index].take() else {
                continue;
            };
            if run.failed.is_some() {
                continue;
            }
            match resolve_changes(job.plan, &run.created, run.latch.as_deref()) {
                Ok(changes) => {
                    submitted.insert(index, changes.clone());
                    by_zone
                        .entry(job.plan.zone_id.as_str())
                        .or_default()
                        .push((index, intent, changes));
                }
                Err(e) => run.failed = Some(Failure::Route53(e)),
            }
        }
        for (zone_id, groups) in by_zone {
            for (index, result) in self.batches.submit(zone_id, groups).await {
                match result {
                    Ok(info) => {
                        if let Some(changes) = submitted.get(&index) {
                            self.upkeep.records_applied(zone_id, changes, &info).await;
                        }
                        runs[index].change = Some(info);
                    }
                    Err(e) => {
                        self.upkeep.records_failed(zone_id, &e).await;
                        runs[index].failed = Some(Failure::Route53(e));
                    }
                }
            }
        }

        for (job, run) in jobs.iter().zip(runs.iter_mut()) {
            if run.failed.is_some() || job.plan.delete_checks.is_empty() {
                continue;
            }
            let just_submitted = run.change.is_some();
            if !just_submitted {
                run.change = job.earlier.cloned();
            }
            let settled = match run.change.as_mut() {
                Some(change) => self.settle.settle(change, just_submitted).await,
                None => Ok(true),
            };
            match settled {
                Ok(true) => {}
                Ok(false) => {
                    debug!(resource = %job.plan.owner, checks = job.plan.delete_checks.len(), "health check deletion waits for the change to be INSYNC");
                    run.waiting = job
                        .plan
                        .delete_checks
                        .iter()
                        .map(|d| d.id.clone())
                        .collect();
                    continue;
                }
                Err(e) => {
                    run.failed = Some(Failure::Route53(e));
                    continue;
                }
            }
            let (deleted, failed) = match self.delete_checks(job.plan).await {
                Ok(deleted) => (deleted, None),
                Err((deleted, e)) => (deleted, Some(e)),
            };
            self.upkeep.checks_deleted(job.plan, &deleted).await;
            if let Some(e) = failed {
                self.upkeep.checks_unknown().await;
                run.failed = Some(Failure::Route53(e));
            }
            run.deleted = deleted;
        }

        jobs.iter()
            .zip(runs)
            .map(|(job, run)| match run.failed {
                Some(Failure::Conflict(c)) => Outcome::Conflict(c),
                Some(Failure::Route53(e)) => Outcome::Failed(e),
                None if job.plan.is_empty() => Outcome::Unchanged,
                None => Outcome::Changed {
                    change: run.change,
                    // The latch this run created is a created check too.
                    created_checks: run
                        .created
                        .into_values()
                        .chain(run.latch.filter(|_| {
                            matches!(
                                job.plan.latch,
                                Some(crate::core::plan::LatchStep::Create { .. })
                            )
                        }))
                        .collect(),
                    deleted_checks: run.deleted,
                    waiting_checks: run.waiting,
                },
            })
            .collect()
    }

    /// Step 1: create, update and re-tag the plan's health checks. Returns
    /// the checks created by role; on failure, also those created before it,
    /// which stay in Route 53 and are found again next time.
    #[allow(clippy::type_complexity)]
    async fn prepare_checks(
        &self,
        plan: &RecordPlan,
    ) -> Result<BTreeMap<Failover, HealthCheck>, (BTreeMap<Failover, HealthCheck>, Route53Error)>
    {
        let r53 = self.engine.route53();
        let mut created = BTreeMap::new();
        for create in &plan.create_checks {
            let check = match self.create_check(plan, create).await {
                Ok(check) => check,
                Err(e) => return Err((created, e)),
            };
            info!(resource = %plan.owner, role = %create.role, id = %check.id, "health check created");
            let id = check.id.clone();
            created.insert(create.role, check);
            if let Err(e) = r53.change_health_check_tags(&id, &create.tags, &[]).await {
                return Err((created, e));
            }
        }
        for update in &plan.update_checks {
            if let Err(e) = r53.update_health_check(&update.id, &update.update).await {
                return Err((created, e));
            }
            info!(resource = %plan.owner, id = %update.id, changed = ?update.changed, "health check updated");
        }
        for retag in &plan.retag_checks {
            if let Err(e) = r53
                .change_health_check_tags(&retag.id, &retag.add, &[])
                .await
            {
                return Err((created, e));
            }
        }
        Ok(created)
    }

    /// Step 1b: the failback latch, once the primary's check exists: create
    /// it following (tagged), then make it hold if asked; or update it.
    /// Returns the latch as Route 53 now holds it.
    async fn prepare_latch(
        &self,
        plan: &RecordPlan,
        created: &BTreeMap<Failover, String>,
    ) -> Result<Option<HealthCheck>, Route53Error> {
        let Some(step) = &plan.latch else {
            return Ok(None);
        };
        let r53 = self.engine.route53();
        let missing_child = || {
            Route53Error::new(
                Operation::CreateHealthCheck,
                ErrorKind::Other,
                format!(
                    "{}: the primary's health check the failback latch counts was not created",
                    plan.owner
                ),
            )
        };
        let (id, version, child, hold) = match step {
            LatchStep::Create { child, hold, tags } => {
                let child = child.resolve(created, None).ok_or_else(missing_child)?;
                let latch = self.create_latch(plan, &child).await?;
                info!(resource = %plan.owner, id = %latch.id, "failback latch created");
                r53.change_health_check_tags(&latch.id, tags, &[]).await?;
                if !*hold {
                    return Ok(Some(latch));
                }
                (latch.id, latch.version, child, true)
            }
            LatchStep::Update {
                id,
                version,
                child,
                hold,
            } => {
                let child = child.resolve(created, None).ok_or_else(missing_child)?;
                (id.clone(), *version, child, *hold)
            }
        };
        let update = HealthCheckUpdate {
            version,
            config: HealthCheckConfig::latch(&child, hold),
            reset: Vec::new(),
        };
        let updated = r53.update_health_check(&id, &update).await?;
        info!(resource = %plan.owner, id = %updated.id, hold, "failback latch updated");
        Ok(Some(updated))
    }

    /// CreateHealthCheck of a following latch on `child`; a reference of a
    /// since-deleted latch gives way to the next attempt number.
    async fn create_latch(
        &self,
        plan: &RecordPlan,
        child: &str,
    ) -> Result<HealthCheck, Route53Error> {
        let config = HealthCheckConfig::latch(child, false);
        let mut attempt = 0;
        loop {
            let reference = ownership::latch_reference(&plan.owner, child, attempt);
            match self
                .engine
                .route53()
                .create_health_check(&reference, &config)
                .await
            {
                Err(e)
                    if e.kind == ErrorKind::AlreadyExists
                        && attempt + 1 < CALLER_REFERENCE_ATTEMPTS =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// CreateHealthCheck with the plan's caller reference; if Route 53 says
    /// that reference belonged to a since-deleted check, the next attempt
    /// number gives a fresh, still deterministic one.
    async fn create_check(
        &self,
        plan: &RecordPlan,
        create: &plan::CreateCheck,
    ) -> Result<HealthCheck, Route53Error> {
        let mut reference = create.caller_reference.clone();
        let mut attempt = 0;
        loop {
            match self
                .engine
                .route53()
                .create_health_check(&reference, &create.config)
                .await
            {
                Err(e)
                    if e.kind == ErrorKind::AlreadyExists
                        && attempt + 1 < CALLER_REFERENCE_ATTEMPTS =>
                {
                    attempt += 1;
                    reference = ownership::caller_reference(
                        &plan.owner,
                        create.role,
                        &create.config,
                        attempt,
                    );
                }
                other => return other,
            }
        }
    }

    /// Step 4: delete the checks; "not found" counts as done.
    async fn delete_checks(
        &self,
        plan: &RecordPlan,
    ) -> Result<Vec<String>, (Vec<String>, Route53Error)> {
        let mut deleted = Vec::new();
        for delete in &plan.delete_checks {
            match self.engine.route53().delete_health_check(&delete.id).await {
                Ok(()) => deleted.push(delete.id.clone()),
                Err(e) if e.kind == ErrorKind::NotFound => deleted.push(delete.id.clone()),
                Err(e) => return Err((deleted, e)),
            }
        }
        Ok(deleted)
    }
}

fn ids(created: BTreeMap<Failover, HealthCheck>) -> BTreeMap<Failover, String> {
    created.into_iter().map(|(role, c)| (role, c.id)).collect()
}

/// A plan's record changes with the ids of the checks it just created.
fn resolve_changes(
    plan: &RecordPlan,
    created: &BTreeMap<Failover, String>,
    latch: Option<&str>,
) -> Result<Vec<Change>, Route53Error> {
    plan.changes
        .iter()
        .map(|c| c.resolve(created, latch))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            Route53Error::new(
                Operation::ChangeResourceRecordSets,
                ErrorKind::Other,
                format!(
                    "{}: a health check the records need was not created",
                    plan.owner
                ),
            )
        })
}
