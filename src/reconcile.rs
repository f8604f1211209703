//! The reconcile core shared by the CLI and the controller:
//! observe → (validate, plan: pure) → apply, and the health read-out.
//!
//! Reads are shared: one listing per hosted zone and one listing of health
//! checks serve every record planned together. Writes are coalesced: record
//! changes of several FailoverRecords in one zone share change batches.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tracing::info;

use crate::desired::{PlacedRecord, ZoneSelector};
use crate::health::{self, HealthSummary};
use crate::ownership::{self, Owner};
use crate::plan::batch::{self, BatchLimits};
use crate::plan::{self, Conflict, Observed, RecordPlan, ZoneRecords};
use crate::route53::{
    self, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck, Operation, RecordSet, Route53,
    Route53Error, Tags, Zone,
};

/// How many fresh caller references to try when Route 53 says a reference
/// belonged to a check deleted in the last days.
const CALLER_REFERENCE_ATTEMPTS: u32 = 4;

/// Why reconciling one FailoverRecord failed, with a fixed category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum ReconcileError {
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] crate::validate::InvalidSpec),
    #[error("{selector} not found in this AWS account")]
    ZoneNotFound { selector: ZoneSelector },
    #[error(
        "{count} hosted zones are named {name}; set hostedZone.private, or select the zone by id"
    )]
    ZoneAmbiguous { name: String, count: usize },
    #[error("spec.name: {0}")]
    NameOutsideZone(String),
    #[error("{}", describe_conflicts(.0))]
    Conflict(Vec<Conflict>),
    #[error("{0}")]
    Route53(#[from] Route53Error),
    #[error("{0}")]
    Oversized(String),
    /// A Service or Ingress the spec refers to has no load balancer address (yet).
    #[error("{0}")]
    TargetNotReady(String),
    /// Record sets were removed and Route 53 has not applied the change
    /// everywhere yet; their health checks go once it has.
    #[error(
        "waiting for Route 53 change {change_id} to be INSYNC before deleting the health checks the removed record sets used"
    )]
    AwaitingChange { change_id: String },
}

fn describe_conflicts(conflicts: &[Conflict]) -> String {
    let parts: Vec<&str> = conflicts.iter().map(|c| c.message.as_str()).collect();
    parts.join("; ")
}

impl ReconcileError {
    /// A fixed, machine-readable category: used for condition reasons, metric
    /// labels and exit codes, never free text.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) | Self::NameOutsideZone(_) | Self::Oversized(_) => "InvalidSpec",
            Self::TargetNotReady(_) => "TargetNotReady",
            Self::AwaitingChange { .. } => "ChangesPending",
            Self::ZoneNotFound { .. } | Self::ZoneAmbiguous { .. } => "HostedZoneNotFound",
            Self::Conflict(_) => "RecordConflict",
            Self::Route53(e) => match e.kind {
                ErrorKind::Throttled => "Route53Throttled",
                ErrorKind::Timeout | ErrorKind::Network | ErrorKind::ServerError => {
                    "Route53Unavailable"
                }
                ErrorKind::Credentials => "CredentialsMissing",
                ErrorKind::AccessDenied => "AccessDenied",
                ErrorKind::LimitExceeded => "Route53LimitExceeded",
                ErrorKind::InvalidChangeBatch | ErrorKind::InvalidInput => "Route53Rejected",
                ErrorKind::NotLeader => "NotLeader",
                _ => "Route53Error",
            },
        }
    }

    /// Worth retrying without a spec change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Route53(e) => !matches!(e.kind, ErrorKind::InvalidInput),
            Self::ZoneNotFound { .. }
            | Self::Conflict(_)
            | Self::TargetNotReady(_)
            | Self::AwaitingChange { .. } => true,
            _ => false,
        }
    }
}

/// What Route 53 holds for a set of zones, read once.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub zones: BTreeMap<String, ZoneRecords>,
    /// Health checks whose caller reference carries this owner id.
    pub health_checks: Vec<HealthCheck>,
    pub tags: BTreeMap<String, Tags>,
}

impl Snapshot {
    /// The planner's view of one zone.
    pub fn observed(&self, zone_id: &str) -> Option<Observed<'_>> {
        Some(Observed {
            records: self.zones.get(zone_id)?,
            health_checks: &self.health_checks,
            tags: &self.tags,
        })
    }
}

/// How one FailoverRecord's plan went.
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
    },
    /// Nothing was written: the records belong to someone else.
    Conflict(Vec<Conflict>),
    /// A request failed; what happened before it stays applied and the next
    /// run continues from there.
    Failed(Route53Error),
}

/// The engine: planning inputs and execution, over one Route 53 port.
pub struct Engine<R> {
    r53: R,
    owner_id: String,
    limits: BatchLimits,
}

impl<R: Route53> Engine<R> {
    pub fn new(r53: R, owner_id: impl Into<String>) -> Self {
        Self {
            r53,
            owner_id: owner_id.into(),
            limits: BatchLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn route53(&self) -> &R {
        &self.r53
    }

    pub fn owner_id(&self) -> &str {
        &self.owner_id
    }

    /// Find the zone a spec selects.
    pub async fn resolve_zone(&self, selector: &ZoneSelector) -> Result<Zone, ReconcileError> {
        match selector {
            ZoneSelector::Id(id) => self
                .r53
                .get_hosted_zone(id)
                .await
                .map_err(|e| match e.kind {
                    ErrorKind::NotFound => ReconcileError::ZoneNotFound {
                        selector: selector.clone(),
                    },
                    _ => e.into(),
                }),
            ZoneSelector::Name { name, private } => {
                let zones: Vec<Zone> = self
                    .r53
                    .list_hosted_zones_by_name(name)
                    .await?
                    .into_iter()
                    .filter(|z| private.is_none_or(|p| z.private == p))
                    .collect();
                match zones.as_slice() {
                    [zone] => Ok(zone.clone()),
                    [] => Err(ReconcileError::ZoneNotFound {
                        selector: selector.clone(),
                    }),
                    many => Err(ReconcileError::ZoneAmbiguous {
                        name: name.clone(),
                        count: many.len(),
                    }),
                }
            }
        }
    }

    /// Resolve each distinct selector once.
    pub async fn resolve_zones<'a>(
        &self,
        selectors: impl IntoIterator<Item = &'a ZoneSelector>,
    ) -> BTreeMap<ZoneSelector, Result<Zone, ReconcileError>> {
        let distinct: BTreeSet<&ZoneSelector> = selectors.into_iter().collect();
        let mut resolved = BTreeMap::new();
        for selector in distinct {
            resolved.insert(selector.clone(), self.resolve_zone(selector).await);
        }
        resolved
    }

    /// Read the zones' record sets (one listing each) and this owner's health
    /// checks with their tags.
    pub async fn observe(&self, zone_ids: &BTreeSet<String>) -> Result<Snapshot, Route53Error> {
        let mut zones = BTreeMap::new();
        for zone_id in zone_ids {
            let records = route53::list_all_record_sets(&self.r53, zone_id).await?;
            zones.insert(zone_id.clone(), ZoneRecords::new(records));
        }
        let prefix = Owner::owner_id_prefix(&self.owner_id);
        let health_checks: Vec<HealthCheck> = route53::list_all_health_checks(&self.r53)
            .await?
            .into_iter()
            .filter(|c| c.caller_reference.starts_with(&prefix))
            .collect();
        let ids: Vec<String> = health_checks.iter().map(|c| c.id.clone()).collect();
        let tags = route53::list_all_health_check_tags(&self.r53, &ids).await?;
        Ok(Snapshot {
            zones,
            health_checks,
            tags,
        })
    }

    /// Execute plans in the safe order: health checks created and updated,
    /// record batches (several plans per batch), then health checks deleted.
    /// Outcomes come back in the order of `plans`.
    pub async fn apply(&self, plans: &[RecordPlan]) -> Vec<Outcome> {
        let mut runs: Vec<Run> = plans.iter().map(|_| Run::default()).collect();

        for (plan, run) in plans.iter().zip(runs.iter_mut()) {
            if !plan.conflicts.is_empty() {
                run.failed = Some(Failure::Conflict(plan.conflicts.clone()));
                continue;
            }
            let ids = |created: BTreeMap<Failover, HealthCheck>| {
                created.into_iter().map(|(role, c)| (role, c.id)).collect()
            };
            match self.prepare_checks(plan).await {
                Ok(created) => run.created = ids(created),
                Err((created, e)) => {
                    run.created = ids(created);
                    run.failed = Some(Failure::Route53(e));
                }
            }
        }

        let mut by_zone: BTreeMap<&str, batch::Groups<usize>> = BTreeMap::new();
        for (index, (plan, run)) in plans.iter().zip(runs.iter_mut()).enumerate() {
            if run.failed.is_some() || plan.changes.is_empty() {
                continue;
            }
            match resolve_changes(plan, &run.created) {
                Ok(changes) => by_zone
                    .entry(plan.zone_id.as_str())
                    .or_default()
                    .push((index, changes)),
                Err(e) => run.failed = Some(Failure::Route53(e)),
            }
        }
        for (zone_id, groups) in by_zone {
            for (index, result) in self.submit_groups(zone_id, groups).await {
                match result {
                    Ok(info) => runs[index].change = Some(info),
                    Err(e) => runs[index].failed = Some(Failure::Route53(e)),
                }
            }
        }

        for (plan, run) in plans.iter().zip(runs.iter_mut()) {
            if run.failed.is_some() {
                continue;
            }
            match self.delete_checks(plan).await {
                Ok(deleted) => run.deleted = deleted,
                Err((deleted, e)) => {
                    run.deleted = deleted;
                    run.failed = Some(Failure::Route53(e));
                }
            }
        }

        plans
            .iter()
            .zip(runs)
            .map(|(plan, run)| match run.failed {
                Some(Failure::Conflict(c)) => Outcome::Conflict(c),
                Some(Failure::Route53(e)) => Outcome::Failed(e),
                None if plan.is_empty() => Outcome::Unchanged,
                None => Outcome::Changed {
                    change: run.change,
                    created_checks: run.created.into_values().collect(),
                    deleted_checks: run.deleted,
                },
            })
            .collect()
    }

    /// Step 1 of a plan: create, update and re-tag its health checks. Returns
    /// the ids of the checks created by role; on failure, also those created
    /// before it, which stay in Route 53 and are found again next time.
    #[allow(clippy::type_complexity)]
    pub async fn prepare_checks(
        &self,
        plan: &RecordPlan,
    ) -> Result<BTreeMap<Failover, HealthCheck>, (BTreeMap<Failover, HealthCheck>, Route53Error)>
    {
        let mut created = BTreeMap::new();
        for create in &plan.create_checks {
            let check = match self.create_check(&plan.owner, create).await {
                Ok(check) => check,
                Err(e) => return Err((created, e)),
            };
            info!(resource = %plan.owner, role = %create.role, id = %check.id, "health check created");
            let id = check.id.clone();
            created.insert(create.role, check);
            if let Err(e) = self
                .r53
                .change_health_check_tags(&id, &create.tags, &[])
                .await
            {
                return Err((created, e));
            }
        }
        for update in &plan.update_checks {
            if let Err(e) = self
                .r53
                .update_health_check(&update.id, &update.update)
                .await
            {
                return Err((created, e));
            }
            info!(resource = %plan.owner, id = %update.id, changed = ?update.changed, "health check updated");
        }
        for retag in &plan.retag_checks {
            if let Err(e) = self
                .r53
                .change_health_check_tags(&retag.id, &retag.add, &[])
                .await
            {
                return Err((created, e));
            }
        }
        Ok(created)
    }

    /// Step 2: submit record change groups of one zone, packed into as few
    /// batches as the limits allow. Each group gets its batch's result.
    pub async fn submit_groups<T>(
        &self,
        zone_id: &str,
        groups: batch::Groups<T>,
    ) -> Vec<(T, Result<ChangeInfo, Route53Error>)> {
        let (batches, oversized) = batch::pack(groups, self.limits);
        let mut results: Vec<(T, Result<ChangeInfo, Route53Error>)> = oversized
            .into_iter()
            .map(|(tag, err)| {
                let error = Route53Error::new(
                    Operation::ChangeResourceRecordSets,
                    ErrorKind::InvalidChangeBatch,
                    err.to_string(),
                );
                (tag, Err(error))
            })
            .collect();
        for batch in batches {
            self.submit(zone_id, batch, &mut results).await;
        }
        results
    }

    /// Step 3: delete the health checks nothing refers to any more. "Not
    /// found" counts as done.
    pub async fn delete_checks(
        &self,
        plan: &RecordPlan,
    ) -> Result<Vec<String>, (Vec<String>, Route53Error)> {
        let mut deleted = Vec::new();
        for delete in &plan.delete_checks {
            match self.r53.delete_health_check(&delete.id).await {
                Ok(()) => deleted.push(delete.id.clone()),
                Err(e) if e.kind == ErrorKind::NotFound => deleted.push(delete.id.clone()),
                Err(e) => return Err((deleted, e)),
            }
        }
        Ok(deleted)
    }

    /// CreateHealthCheck with the plan's caller reference; if Route 53 says
    /// that reference belonged to a since-deleted check, the next attempt
    /// number gives a fresh, still deterministic one.
    async fn create_check(
        &self,
        owner: &Owner,
        create: &plan::CreateCheck,
    ) -> Result<HealthCheck, Route53Error> {
        let mut reference = create.caller_reference.clone();
        let mut attempt = 0;
        loop {
            match self
                .r53
                .create_health_check(&reference, &create.config)
                .await
            {
                Err(e)
                    if e.kind == ErrorKind::AlreadyExists
                        && attempt + 1 < CALLER_REFERENCE_ATTEMPTS =>
                {
                    attempt += 1;
                    reference =
                        ownership::caller_reference(owner, create.role, &create.config, attempt);
                }
                other => return other,
            }
        }
    }

    /// Submit one batch; if Route 53 rejects a batch holding several records'
    /// groups, split it to find the group at fault and apply the others.
    async fn submit<T>(
        &self,
        zone_id: &str,
        batch: batch::Groups<T>,
        results: &mut Vec<(T, Result<ChangeInfo, Route53Error>)>,
    ) {
        let mut pending = vec![batch];
        while let Some(batch) = pending.pop() {
            let changes: Vec<route53::Change> =
                batch.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
            match self.r53.change_record_sets(zone_id, &changes).await {
                Ok(info) => {
                    results.extend(batch.into_iter().map(|(tag, _)| (tag, Ok(info.clone()))))
                }
                Err(e) if e.kind == ErrorKind::InvalidChangeBatch && batch.len() > 1 => {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                Err(e) => results.extend(batch.into_iter().map(|(tag, _)| (tag, Err(e.clone())))),
            }
        }
    }

    /// Poll GetChange until every change is INSYNC (a terminal state: never
    /// polled again) or `timeout` passes. Returns the final states.
    pub async fn wait_insync(
        &self,
        ids: &BTreeSet<String>,
        timeout: Duration,
    ) -> Result<BTreeMap<String, ChangeState>, Route53Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut states: BTreeMap<String, ChangeState> = ids
            .iter()
            .map(|id| (id.clone(), ChangeState::Pending))
            .collect();
        let mut delay = Duration::from_secs(2);
        loop {
            for (id, state) in states
                .iter_mut()
                .filter(|(_, s)| **s == ChangeState::Pending)
            {
                *state = self.r53.get_change(id).await?.status;
            }
            if states.values().all(|s| *s == ChangeState::InSync)
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(states);
            }
            tokio::time::sleep(
                delay.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
            )
            .await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
    }

    /// Route 53's health of one check.
    pub async fn health_of(&self, check: &HealthCheck) -> Result<HealthSummary, Route53Error> {
        let observations = self.r53.get_health_check_status(&check.id).await?;
        Ok(health::summarize(&observations, &check.config))
    }
}

/// A plan's record changes with the ids of the checks it just created.
pub fn resolve_changes(
    plan: &RecordPlan,
    created: &BTreeMap<Failover, String>,
) -> Result<Vec<route53::Change>, Route53Error> {
    plan.changes
        .iter()
        .map(|c| c.resolve(created))
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

#[derive(Default)]
struct Run {
    created: BTreeMap<Failover, String>,
    deleted: Vec<String>,
    change: Option<ChangeInfo>,
    failed: Option<Failure>,
}

enum Failure {
    Conflict(Vec<Conflict>),
    Route53(Route53Error),
}

/// The record sets and health checks serving a placed record right now, for
/// status: the record set of each side that this owner manages, and its check.
pub fn serving<'a>(
    record: &PlacedRecord,
    observed: Observed<'a>,
) -> BTreeMap<Failover, (Option<&'a RecordSet>, Option<&'a HealthCheck>)> {
    let zone = observed.records;
    let found = zone
        .markers_of(&record.desired.owner)
        .into_iter()
        .find(|m| m.name == record.fqdn && m.rr_type == record.desired.rr_type);
    Failover::BOTH
        .into_iter()
        .map(|role| {
            let record_set = found.and_then(|found| {
                zone.at(&record.fqdn, &record.desired.rr_type)
                    .iter()
                    .find(|r| {
                        r.failover == Some(role) && found.marker.claims(r.set_identifier.as_deref())
                    })
            });
            let check = record_set
                .and_then(|r| r.health_check_id.as_deref())
                .and_then(|id| observed.health_checks.iter().find(|c| c.id == id));
            (role, (record_set, check))
        })
        .collect()
}
