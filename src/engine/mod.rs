//! The reconcile core shared by the CLI and the controller: zone resolution,
//! observation, plan execution ([`execute`]) and the health read-out.
//!
//! Reads are shared: one listing per hosted zone and one listing of health
//! checks serve every record planned together. Writes are coalesced: record
//! changes of several FailoverRecords in one zone share change batches.

mod error;
mod execute;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub use error::ReconcileError;
pub use execute::{Batches, Executor, Job, NoUpkeep, Outcome, Pack, Settle, Upkeep, Wait};

use crate::backoff::Schedule;
use crate::core::desired::{PlacedRecord, ZoneSelector};
use crate::core::health::{self, HealthSummary};
use crate::core::ownership::{self, Owner};
use crate::core::plan::batch::{self, BatchLimits};
use crate::core::plan::{CheckSet, Observed, ZoneRecords};
use crate::core::report::SideReport;
use crate::route53::{
    self, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck, HealthCheckKind, Operation,
    RecordSet, Route53, Route53Error, Tags, Zone,
};

/// What Route 53 holds for a set of zones, read once.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub zones: BTreeMap<String, ZoneRecords>,
    /// Health checks of the FailoverRecords observed (all of this owner id's
    /// for [`Engine::observe`]), with their tags; and every check of other
    /// owners and of nobody, whose tags are not read; indexed by id and by
    /// FailoverRecord. The planner only ever acts on this owner's (by caller
    /// reference, or taken over by its marker entries); the others are read
    /// for the other side of a shared name, and to take over a check with its
    /// records (`adoptExisting`).
    pub health_checks: CheckSet,
    pub tags: BTreeMap<String, Tags>,
    /// This owner id's other health checks, whose tags were not read.
    pub other_checks: Vec<HealthCheck>,
    /// Zones that exist but could not be read, with why.
    pub unreadable: Vec<String>,
}

static NO_RECORDS: std::sync::LazyLock<ZoneRecords> =
    std::sync::LazyLock::new(ZoneRecords::default);

impl Snapshot {
    /// The planner's view of one zone.
    pub fn observed(&self, zone_id: &str) -> Option<Observed<'_>> {
        Some(Observed {
            records: self.zones.get(zone_id)?,
            health_checks: &self.health_checks,
            tags: &self.tags,
        })
    }

    /// The planner's view of one zone; a zone not read holds nothing.
    pub fn observed_or_empty(&self, zone_id: &str) -> Observed<'_> {
        self.observed(zone_id).unwrap_or(Observed {
            records: &NO_RECORDS,
            health_checks: &self.health_checks,
            tags: &self.tags,
        })
    }

    /// Every zone read, for rules that look across zones.
    pub fn all_zones(&self) -> Vec<(&str, &ZoneRecords)> {
        self.zones.iter().map(|(id, z)| (id.as_str(), z)).collect()
    }

    /// Zones the tags of the checks read name, that were not read yet.
    pub fn tagged_zones(&self) -> BTreeSet<String> {
        self.tags
            .values()
            .filter_map(ownership::zone_of)
            .filter(|zone| !self.zones.contains_key(*zone))
            .map(str::to_string)
            .collect()
    }
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

    /// Say where a FailoverRecord's requests go (its zone's account), before
    /// anything of it is resolved or planned: a port over several accounts
    /// needs it, the others ignore it.
    /// True when that adds an account: what was listed before lacks it.
    pub fn route(&self, owner: &Owner, zone: &ZoneSelector, role: Option<&str>) -> bool {
        self.r53.route(&route53::Route {
            zone: zone.key().to_string(),
            resource_prefix: owner.reference_prefix(),
            role: role.map(str::to_string),
        })
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
                        zones: many.to_vec(),
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
        self.observe_for(zone_ids, None).await
    }

    /// [`Self::observe`], reading the tags only of the health checks that
    /// `resources` own (all of this owner id's for `None`): a run's cost must
    /// not grow with the checks of FailoverRecords it is not about. The
    /// others are kept, untagged, in [`Snapshot::other_checks`].
    pub async fn observe_for(
        &self,
        zone_ids: &BTreeSet<String>,
        resources: Option<&[Owner]>,
    ) -> Result<Snapshot, Route53Error> {
        let mut zones = BTreeMap::new();
        for zone_id in zone_ids {
            let records = route53::list_all_record_sets(&self.r53, zone_id).await?;
            zones.insert(zone_id.clone(), ZoneRecords::new(records));
        }
        let prefix = Owner::owner_id_prefix(&self.owner_id);
        let wanted: Option<BTreeSet<String>> =
            resources.map(|owners| owners.iter().map(Owner::reference_prefix).collect());
        let (ours, foreign): (Vec<HealthCheck>, Vec<HealthCheck>) =
            route53::list_all_health_checks(&self.r53)
                .await?
                .into_iter()
                .partition(|c| c.caller_reference.starts_with(&prefix));
        let (mut health_checks, other_checks): (Vec<HealthCheck>, Vec<HealthCheck>) =
            ours.into_iter().partition(|c| match &wanted {
                None => true,
                Some(wanted) => Owner::resource_part(&c.caller_reference)
                    .is_some_and(|part| wanted.contains(part)),
            });
        let ids: Vec<String> = health_checks.iter().map(|c| c.id.clone()).collect();
        health_checks.extend(foreign);
        let tags = route53::list_all_health_check_tags(&self.r53, &ids).await?;
        Ok(Snapshot {
            zones,
            health_checks: CheckSet::new(health_checks),
            tags,
            other_checks,
            unreadable: Vec::new(),
        })
    }

    /// Read more zones into `snapshot`. A zone that no longer exists holds
    /// nothing; one that cannot be read is listed in `unreadable`.
    pub async fn observe_zones(
        &self,
        snapshot: &mut Snapshot,
        zone_ids: &BTreeSet<String>,
    ) -> Result<(), Route53Error> {
        for zone_id in zone_ids {
            if snapshot.zones.contains_key(zone_id) {
                continue;
            }
            match route53::list_all_record_sets(&self.r53, zone_id).await {
                Ok(records) => {
                    snapshot
                        .zones
                        .insert(zone_id.clone(), ZoneRecords::new(records));
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    snapshot
                        .zones
                        .insert(zone_id.clone(), ZoneRecords::default());
                }
                Err(e) if e.kind == ErrorKind::AccessDenied => {
                    snapshot
                        .unreadable
                        .push(format!("{zone_id} ({})", e.message));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Before a health check is deleted: read every zone this owner id has
    /// record sets in (their checks' hosted-zone tags say which), so that a
    /// record set there that uses the check keeps it. Costs the tags of the
    /// owner's other checks and a listing per zone, only in runs that delete.
    pub async fn observe_owner_zones(&self, snapshot: &mut Snapshot) -> Result<(), Route53Error> {
        let ids: Vec<String> = snapshot.other_checks.iter().map(|c| c.id.clone()).collect();
        let tags = route53::list_all_health_check_tags(&self.r53, &ids).await?;
        let zones: BTreeSet<String> = tags
            .values()
            .chain(snapshot.tags.values())
            .filter_map(ownership::zone_of)
            .map(str::to_string)
            .collect();
        self.observe_zones(snapshot, &zones).await
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
            tracing::debug!(zone = zone_id, changes = %describe(&changes), "submitting a change batch");
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
    /// polled again) or `timeout` passes, on the schedule [`Wait`] uses.
    /// Returns the final states.
    pub async fn wait_insync(
        &self,
        ids: &BTreeSet<String>,
        timeout: Duration,
    ) -> Result<BTreeMap<String, ChangeState>, Route53Error> {
        self.wait_insync_on(ids, timeout, Wait::new(self, timeout).schedule)
            .await
    }

    /// [`Self::wait_insync`] with the delays between polls from `schedule`.
    pub async fn wait_insync_on(
        &self,
        ids: &BTreeSet<String>,
        timeout: Duration,
        schedule: Schedule,
    ) -> Result<BTreeMap<String, ChangeState>, Route53Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut states: BTreeMap<String, ChangeState> = ids
            .iter()
            .map(|id| (id.clone(), ChangeState::Pending))
            .collect();
        let mut delays = schedule.delays();
        loop {
            for (id, state) in states
                .iter_mut()
                .filter(|(_, s)| **s == ChangeState::Pending)
            {
                *state = self.r53.get_change(id).await?.status;
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if states.values().all(|s| *s == ChangeState::InSync) || remaining.is_zero() {
                return Ok(states);
            }
            let delay = delays.next().unwrap_or(schedule.cap);
            tokio::time::sleep(delay.min(remaining)).await;
        }
    }

    /// Route 53's health of one check.
    pub async fn health_of(&self, check: &HealthCheck) -> Result<HealthSummary, Route53Error> {
        let observations = self.r53.get_health_check_status(&check.id).await?;
        Ok(health::summarize(&observations, &check.config))
    }
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
            let check = record_set.and_then(|r| endpoint_check(r, observed));
            (role, (record_set, check))
        })
        .collect()
}

/// The check that reads `record_set`'s endpoint. Behind a failback latch
/// (a calculated check) it is the latch's child: that is the side's health,
/// and Route 53 serves GetHealthCheckStatus for it, not for the latch.
fn endpoint_check<'a>(record_set: &RecordSet, observed: Observed<'a>) -> Option<&'a HealthCheck> {
    let check = observed
        .health_checks
        .get(record_set.health_check_id.as_deref()?)?;
    match check.config.kind {
        HealthCheckKind::Calculated => check
            .config
            .children
            .first()
            .and_then(|child| observed.health_checks.get(child)),
        _ => Some(check),
    }
}

/// Whether `record_set` uses a failback latch that holds: Route 53 then
/// counts the side unhealthy whatever its endpoint does.
fn held_by_latch(record_set: &RecordSet, observed: Observed<'_>) -> bool {
    record_set
        .health_check_id
        .as_deref()
        .and_then(|id| observed.health_checks.get(id))
        .is_some_and(|check| check.config.holds())
}

/// The other side of a name and type this FailoverRecord shares with
/// another installation (`spec.manage`), as Route 53 holds it: shown
/// read-only in status.
#[derive(Clone, Debug)]
pub struct Peer<'a> {
    pub record_set: &'a RecordSet,
    pub check: Option<&'a HealthCheck>,
    /// Who holds it: `owner <id>, FailoverRecord <namespace/name>`, or
    /// `outside dnsfailover` when no marker entry holds it.
    pub holder: String,
}

/// The sides of `record`'s name and type that this FailoverRecord does not
/// manage, and what is there now.
pub fn peers<'a>(record: &PlacedRecord, observed: Observed<'a>) -> BTreeMap<Failover, Peer<'a>> {
    let zone = observed.records;
    let entries = zone
        .at(
            &crate::core::ownership::marker_name(&record.fqdn, &record.desired.rr_type),
            &route53::RrType::TXT,
        )
        .first()
        .and_then(crate::core::plan::marker_entries)
        .unwrap_or_default();
    Failover::BOTH
        .into_iter()
        .filter(|role| record.desired.side(*role).is_none())
        .filter_map(|role| {
            let record_set = zone
                .at(&record.fqdn, &record.desired.rr_type)
                .iter()
                .find(|r| r.failover == Some(role))?;
            let holder = entries
                .iter()
                .find(|e| e.claims(record_set.set_identifier.as_deref()))
                .map_or_else(
                    || "outside dnsfailover".to_string(),
                    |e| format!("owner {}, FailoverRecord {}", e.owner_id, e.resource),
                );
            let check = endpoint_check(record_set, observed);
            Some((
                role,
                Peer {
                    record_set,
                    check,
                    holder,
                },
            ))
        })
        .collect()
}

/// What status shows of each side: this FailoverRecord's own, and the
/// sides another installation manages, read-only. `health` gives the last
/// known health of a check.
pub fn side_reports(
    record: &PlacedRecord,
    observed: Observed<'_>,
    health: impl Fn(&HealthCheck) -> Option<HealthSummary>,
) -> BTreeMap<Failover, SideReport> {
    let mut sides = BTreeMap::new();
    for (role, (record_set, check)) in serving(record, observed) {
        if let Some(record_set) = record_set {
            sides.insert(
                role,
                SideReport {
                    set_identifier: record_set.set_identifier.clone(),
                    health_check_id: check.map(|c| c.id.clone()),
                    has_check: check.is_some(),
                    health: check.and_then(&health),
                    held: held_by_latch(record_set, observed),
                    managed_by: None,
                },
            );
        }
    }
    for (role, peer) in peers(record, observed) {
        sides.insert(
            role,
            SideReport {
                set_identifier: peer.record_set.set_identifier.clone(),
                health_check_id: peer.check.map(|c| c.id.clone()),
                has_check: peer.record_set.health_check_id.is_some(),
                health: peer.check.and_then(&health),
                held: held_by_latch(peer.record_set, observed),
                managed_by: Some(peer.holder),
            },
        );
    }
    sides
}

/// The health checks status reads: this FailoverRecord's own, and those of
/// the sides another installation manages.
pub fn watched_checks<'a>(record: &PlacedRecord, observed: Observed<'a>) -> Vec<&'a HealthCheck> {
    serving(record, observed)
        .into_values()
        .filter_map(|(_, check)| check)
        .chain(
            peers(record, observed)
                .into_values()
                .filter_map(|p| p.check),
        )
        .collect()
}

/// The failback latch of `record`: the one its PRIMARY record uses, else
/// (a run cut short before the record was pointed at it) the lowest id.
pub fn latch<'a>(record: &PlacedRecord, observed: Observed<'a>) -> Option<&'a HealthCheck> {
    let latches = observed.health_checks.latches_of(&record.desired.owner);
    let serving = serving_ids(record, observed);
    latches
        .iter()
        .find(|l| serving.contains(&l.id.as_str()))
        .or_else(|| latches.iter().min_by(|a, b| a.id.cmp(&b.id)))
        .copied()
}

/// The health check ids the record's own record sets use.
fn serving_ids<'a>(record: &PlacedRecord, observed: Observed<'a>) -> Vec<&'a str> {
    let Some(found) = observed
        .records
        .markers_of(&record.desired.owner)
        .into_iter()
        .find(|m| m.name == record.fqdn && m.rr_type == record.desired.rr_type)
    else {
        return Vec::new();
    };
    observed
        .records
        .at(&record.fqdn, &record.desired.rr_type)
        .iter()
        .filter(|r| found.marker.claims(r.set_identifier.as_deref()))
        .filter_map(|r| r.health_check_id.as_deref())
        .collect()
}

/// A change batch in one line for the logs: `CREATE www.example.com. A primary, ...`.
fn describe(changes: &[route53::Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {:?} {}",
                c.action.as_route53(),
                c.record.name,
                c.record.rr_type,
                c.record.set_identifier.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
