//! The reconcile core shared by the CLI and the controller:
//! observe → (validate, plan: pure) → apply, and the health read-out.
//!
//! Reads are shared: one listing per hosted zone and one listing of health
//! checks serve every record planned together. Writes are coalesced: record
//! changes of several FailoverRecords in one zone share change batches.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tracing::{info, warn};

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
                _ => "Route53Error",
            },
        }
    }

    /// Worth retrying without a spec change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Route53(e) => !matches!(e.kind, ErrorKind::InvalidInput),
            Self::ZoneNotFound { .. } | Self::Conflict(_) => true,
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
            if let Err(e) = self.prepare_checks(plan, run).await {
                run.failed = Some(Failure::Route53(e));
            }
        }

        let mut by_zone: BTreeMap<&str, Vec<(usize, Vec<route53::Change>)>> = BTreeMap::new();
        for (index, (plan, run)) in plans.iter().zip(runs.iter()).enumerate() {
            if run.failed.is_some() || plan.changes.is_empty() {
                continue;
            }
            let resolved: Option<Vec<route53::Change>> = plan
                .changes
                .iter()
                .map(|c| c.resolve(&run.created))
                .collect();
            match resolved {
                Some(changes) => by_zone
                    .entry(plan.zone_id.as_str())
                    .or_default()
                    .push((index, changes)),
                None => {
                    warn!(resource = %plan.owner, "a planned health check was not created; skipping its record changes")
                }
            }
        }
        for (zone_id, groups) in by_zone {
            let (batches, oversized) = batch::pack(groups, self.limits);
            for (index, err) in oversized {
                runs[index].failed = Some(Failure::Route53(Route53Error::new(
                    Operation::ChangeResourceRecordSets,
                    ErrorKind::InvalidChangeBatch,
                    err.to_string(),
                )));
            }
            for batch in batches {
                self.submit(zone_id, batch, &mut runs).await;
            }
        }

        for (plan, run) in plans.iter().zip(runs.iter_mut()) {
            if run.failed.is_some() {
                continue;
            }
            for delete in &plan.delete_checks {
                match self.r53.delete_health_check(&delete.id).await {
                    Ok(()) => run.deleted.push(delete.id.clone()),
                    Err(e) if e.kind == ErrorKind::NotFound => run.deleted.push(delete.id.clone()),
                    Err(e) => {
                        run.failed = Some(Failure::Route53(e));
                        break;
                    }
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

    async fn prepare_checks(&self, plan: &RecordPlan, run: &mut Run) -> Result<(), Route53Error> {
        for create in &plan.create_checks {
            let check = self.create_check(&plan.owner, create).await?;
            info!(resource = %plan.owner, role = %create.role, id = %check.id, "health check created");
            run.created.insert(create.role, check.id.clone());
            self.r53
                .change_health_check_tags(&check.id, &create.tags, &[])
                .await?;
        }
        for update in &plan.update_checks {
            self.r53
                .update_health_check(&update.id, &update.update)
                .await?;
            info!(resource = %plan.owner, id = %update.id, changed = ?update.changed, "health check updated");
        }
        for retag in &plan.retag_checks {
            self.r53
                .change_health_check_tags(&retag.id, &retag.add, &[])
                .await?;
        }
        Ok(())
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
    async fn submit(
        &self,
        zone_id: &str,
        batch: Vec<(usize, Vec<route53::Change>)>,
        runs: &mut [Run],
    ) {
        let mut pending = vec![batch];
        while let Some(batch) = pending.pop() {
            let changes: Vec<route53::Change> =
                batch.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
            match self.r53.change_record_sets(zone_id, &changes).await {
                Ok(info) => {
                    for (index, _) in &batch {
                        runs[*index].change = Some(info.clone());
                    }
                }
                Err(e) if e.kind == ErrorKind::InvalidChangeBatch && batch.len() > 1 => {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                Err(e) => {
                    for (index, _) in &batch {
                        runs[*index].failed = Some(Failure::Route53(e.clone()));
                    }
                }
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
    snapshot: &'a Snapshot,
) -> BTreeMap<Failover, (Option<&'a RecordSet>, Option<&'a HealthCheck>)> {
    let mut out = BTreeMap::new();
    let owner = &record.desired.owner;
    let zone = snapshot.zones.get(&record.zone.id);
    let found = zone.and_then(|z| {
        z.markers_of(owner)
            .into_iter()
            .find(|m| m.name == record.fqdn && m.rr_type == record.desired.rr_type)
    });
    for role in Failover::BOTH {
        let record_set = match (zone, found) {
            (Some(zone), Some(found)) => zone
                .at(&record.fqdn, &record.desired.rr_type)
                .iter()
                .find(|r| {
                    r.failover == Some(role) && found.marker.claims(r.set_identifier.as_deref())
                }),
            _ => None,
        };
        let check = record_set
            .and_then(|r| r.health_check_id.as_deref())
            .and_then(|id| snapshot.health_checks.iter().find(|c| c.id == id));
        out.insert(role, (record_set, check));
    }
    out
}
