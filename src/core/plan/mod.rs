//! The planner: desired state × a Route 53 snapshot → the changes that make
//! Route 53 match, in a safe order. Pure: no I/O, no clock, no randomness.
//!
//! Every plan for one FailoverRecord has the same shape, executed in order:
//!
//! 1. create health checks (new ones, and replacements for checks whose
//!    immutable settings changed), then update and re-tag kept checks;
//! 2. one atomic group of record changes: PRIMARY, SECONDARY and the ownership
//!    marker together, deletes before creates;
//! 3. delete health checks nothing refers to any more.
//!
//! The planner only deletes record sets it can prove it owns (see
//! [`crate::core::ownership`]) and only creates record sets where none exists, so
//! Route 53 itself refuses any race with a concurrent writer. Updates are a
//! DELETE of the exact observed record and a CREATE in the same batch: they fail
//! instead of overwriting a record someone changed since it was read.
//!
//! Long because it holds the plan's whole vocabulary (every step a plan can
//! hold) next to the two functions that make plans.

pub mod batch;
mod checks;
mod checkset;
mod claims;
pub use claims::cname_clash;
mod zone;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

pub use checkset::CheckSet;
pub use zone::{FoundMarker, ZoneRecords, marker_entries};

pub use checks::keep_checks_in_use;
use checks::{keep_latch_children, keep_referenced_checks, plan_latch, plan_side_check};
use claims::{Side, ownership_of};

use crate::core::desired::PlacedRecord;
use crate::core::ownership::{self, Marker, Owner};
use crate::route53::names;
use crate::route53::{
    Change, ChangeAction, Failover, HealthCheck, HealthCheckConfig, HealthCheckUpdate, RecordKey,
    RecordSet, RrType, Tags,
};

/// What the planner knows about Route 53 for one zone.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    pub records: &'a ZoneRecords,
    /// Health checks of this owner id (any resource); others are ignored.
    pub health_checks: &'a CheckSet,
    /// Tags of those health checks, where they were read.
    pub tags: &'a BTreeMap<String, Tags>,
}

/// The health check a planned record set refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CheckRef {
    /// A check that exists now.
    Existing(String),
    /// The check this plan creates for that role.
    Created(Failover),
    /// The failback latch this plan creates.
    Latch,
}

impl CheckRef {
    /// The id this refers to, once the plan's creates are known.
    pub fn resolve(
        &self,
        created: &BTreeMap<Failover, String>,
        latch: Option<&str>,
    ) -> Option<String> {
        match self {
            Self::Existing(id) => Some(id.clone()),
            Self::Created(role) => created.get(role).cloned(),
            Self::Latch => latch.map(str::to_string),
        }
    }
}

/// The failback latch's step: after the side checks exist (it counts the
/// primary's), before the record batch (the PRIMARY record uses it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LatchStep {
    /// Create the latch on `child` (following), tag it, and make it hold if
    /// `hold`.
    Create {
        child: CheckRef,
        hold: bool,
        tags: Tags,
    },
    /// Point the latch at `child`, holding or following.
    Update {
        id: String,
        version: i64,
        child: CheckRef,
        hold: bool,
    },
}

impl LatchStep {
    fn write_count(&self) -> usize {
        match self {
            Self::Create { hold, .. } => 2 + usize::from(*hold),
            Self::Update { .. } => 1,
        }
    }
}

/// A record change whose health check may not exist yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub action: ChangeAction,
    /// The record set; its `health_check_id` is filled from `health_check`.
    pub record: RecordSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<CheckRef>,
}

impl PlannedChange {
    /// Whether this changes an ownership marker rather than a record set
    /// that answers queries.
    pub fn is_marker(&self) -> bool {
        self.record.rr_type == RrType::TXT
            && self
                .record
                .name
                .starts_with(&format!("_{}-", ownership::HERITAGE))
    }

    /// The change with its health check id resolved by `created` (and the
    /// latch this plan created, if it did).
    pub fn resolve(
        &self,
        created: &BTreeMap<Failover, String>,
        latch: Option<&str>,
    ) -> Option<Change> {
        let mut record = self.record.clone();
        record.health_check_id = match &self.health_check {
            None => None,
            Some(reference) => Some(reference.resolve(created, latch)?),
        };
        Some(Change {
            action: self.action,
            record,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCheck {
    pub role: Failover,
    pub caller_reference: String,
    pub config: HealthCheckConfig,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCheck {
    pub id: String,
    pub role: Failover,
    pub update: HealthCheckUpdate,
    /// Names of the settings that change, for people.
    pub changed: Vec<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetagCheck {
    pub id: String,
    pub role: Failover,
    pub add: Tags,
}

/// Why a health check goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeleteReason {
    /// An immutable setting changed; a new check replaces this one.
    Replaced,
    /// The spec no longer asks for a check on this side.
    NoLongerWanted,
    /// A second check for the same side, left by an interrupted run.
    Duplicate,
    /// The FailoverRecord is being deleted.
    ResourceDeleted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteCheck {
    pub id: String,
    pub role: Failover,
    pub reason: DeleteReason,
}

/// A health check this owner no longer needs but leaves in Route 53.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptCheck {
    pub id: String,
    /// Why, for people: which record sets still use it, and where.
    pub reason: String,
}

impl std::fmt::Display for KeptCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.id, self.reason)
    }
}

/// Why the planner will not touch a record set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ConflictKind {
    /// Record sets with this name and type exist and no marker says they are ours.
    NotOwned,
    /// The marker names another owner or FailoverRecord.
    OwnedByOther,
    /// The marker's name holds a TXT record that is not a dnsfailover marker.
    MarkerNameTaken,
    /// A CNAME cannot share its name with any other record type.
    CnameClash,
    /// Next to our record sets is one our marker does not claim.
    ForeignRecord,
    /// `adoptExisting` asks to take over record sets of another routing
    /// policy (weighted, latency, ...), which dnsfailover does not model.
    Unadoptable,
    /// Another dnsfailover owner of the same name holds a side this one
    /// manages, or its side disagrees (TTL, type, set identifier). Not a
    /// conflict that stops the plan: see [`RecordPlan::disputes`].
    Disputed,
    /// The FailoverRecord's record sets are in another hosted zone than the
    /// one its spec names now.
    ZoneChanged,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOwned => "NotOwned",
            Self::OwnedByOther => "OwnedByOther",
            Self::MarkerNameTaken => "MarkerNameTaken",
            Self::CnameClash => "CnameClash",
            Self::ForeignRecord => "ForeignRecord",
            Self::Unadoptable => "Unadoptable",
            Self::Disputed => "Disputed",
            Self::ZoneChanged => "ZoneChanged",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub kind: ConflictKind,
    /// The record sets in the way.
    pub records: Vec<RecordKey>,
    /// What is wrong and what to do, for people.
    pub message: String,
}

/// Everything to do for one FailoverRecord, in execution order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordPlan {
    pub owner: Owner,
    pub zone_id: String,
    /// Name and type of the record sets, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rr_type: Option<RrType>,
    pub create_checks: Vec<CreateCheck>,
    pub update_checks: Vec<UpdateCheck>,
    pub retag_checks: Vec<RetagCheck>,
    /// The failback latch's create or update (`failback: Manual`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latch: Option<LatchStep>,
    /// One atomic group: deletes first, then creates.
    pub changes: Vec<PlannedChange>,
    pub delete_checks: Vec<DeleteCheck>,
    /// Checks this owner no longer needs but leaves in Route 53, because a
    /// record set it does not own refers to them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_checks: Vec<KeptCheck>,
    /// Present: nothing else was planned, because writing would touch record
    /// sets this tool does not own.
    pub conflicts: Vec<Conflict>,
    /// Disagreements with another dnsfailover owner of the same name (split
    /// ownership): the plan still keeps what this FailoverRecord holds and
    /// records what it waits for; both owners report them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<Conflict>,
}

impl RecordPlan {
    /// A plan that does nothing, to fill in.
    pub fn new(owner: &Owner, zone_id: &str) -> Self {
        Self {
            owner: owner.clone(),
            zone_id: zone_id.to_string(),
            fqdn: None,
            rr_type: None,
            create_checks: Vec::new(),
            update_checks: Vec::new(),
            retag_checks: Vec::new(),
            latch: None,
            changes: Vec::new(),
            delete_checks: Vec::new(),
            kept_checks: Vec::new(),
            conflicts: Vec::new(),
            disputes: Vec::new(),
        }
    }

    /// Nothing to write (conflicts do not count: they are reported, not acted on).
    pub fn is_empty(&self) -> bool {
        self.write_count() == 0
    }

    /// The plan without its health-check deletions: the part that does not
    /// wait for Route 53 to apply a change everywhere.
    pub fn without_check_deletes(&self) -> Self {
        Self {
            delete_checks: Vec::new(),
            kept_checks: Vec::new(),
            ..self.clone()
        }
    }

    /// The health-check deletions alone.
    pub fn only_check_deletes(&self) -> Self {
        Self {
            create_checks: Vec::new(),
            update_checks: Vec::new(),
            retag_checks: Vec::new(),
            latch: None,
            changes: Vec::new(),
            ..self.clone()
        }
    }

    /// A one-line description, for events and logs: "create 1 health
    /// check(s), apply 3 record change(s)".
    pub fn summary(&self) -> String {
        let counted = [
            (self.create_checks.len(), "create", "health check(s)"),
            (self.update_checks.len(), "update", "health check(s)"),
            (self.changes.len(), "apply", "record change(s)"),
            (self.delete_checks.len(), "delete", "health check(s)"),
        ];
        let mut parts: Vec<String> = counted
            .into_iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, verb, what)| format!("{verb} {n} {what}"))
            .collect();
        match &self.latch {
            Some(LatchStep::Create { hold, .. }) => parts.push(format!(
                "create the failback latch{}",
                if *hold { " (holding)" } else { "" }
            )),
            Some(LatchStep::Update { hold: true, .. }) => {
                parts.push("make the failback latch hold the secondary".to_string())
            }
            Some(LatchStep::Update { hold: false, .. }) => {
                parts.push("make the failback latch follow the primary".to_string())
            }
            None => {}
        }
        if !self.conflicts.is_empty() {
            parts.push("leave conflicting record sets alone".to_string());
        }
        if !self.disputes.is_empty() {
            parts.push("report a dispute with another owner".to_string());
        }
        parts.join(", ")
    }

    /// Record changes other than to ownership markers: what a user means
    /// by "records changed".
    pub fn record_change_count(&self) -> usize {
        self.changes.iter().filter(|c| !c.is_marker()).count()
    }

    /// Changes to ownership markers (written with the records they guard).
    pub fn marker_change_count(&self) -> usize {
        self.changes.iter().filter(|c| c.is_marker()).count()
    }

    /// Route 53 write requests this plan needs on its own (before batching
    /// with other plans): each create is a create plus a tagging request.
    pub fn write_count(&self) -> usize {
        self.create_checks.len() * 2
            + self.update_checks.len()
            + self.retag_checks.len()
            + self.latch.as_ref().map_or(0, LatchStep::write_count)
            + usize::from(!self.changes.is_empty())
            + self.delete_checks.len()
    }
}

/// Plan bringing Route 53 to `record`.
pub fn plan_apply(record: &PlacedRecord, observed: Observed<'_>) -> RecordPlan {
    let owner = &record.desired.owner;
    let rr_type = &record.desired.rr_type;
    let fqdn = record.fqdn.as_str();
    let mut plan = RecordPlan::new(owner, &record.zone.id);
    plan.fqdn = Some(fqdn.to_string());
    plan.rr_type = Some(rr_type.clone());

    let claims = match ownership_of(record, observed.records) {
        Ok(claims) => claims,
        Err(conflicts) => {
            plan.conflicts = conflicts;
            return plan;
        }
    };
    plan.disputes = claims.disputes.clone();

    // Health checks first: the records below refer to them.
    let mut owned_checks: Vec<(&HealthCheck, Failover)> = observed.health_checks.of(owner);
    owned_checks.extend(adopted_checks(
        claims.mine.as_ref(),
        observed,
        &owned_checks,
    ));
    let mut check_refs: BTreeMap<Failover, Option<CheckRef>> = BTreeMap::new();
    let mut taken_over: BTreeMap<Failover, String> = BTreeMap::new();
    for role in Failover::BOTH {
        let mut candidates: Vec<&HealthCheck> = owned_checks
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(c, _)| *c)
            .collect();
        let (want, serving) = match (claims.side(role), record.desired.side(role)) {
            (Side::Keep(_), _) => continue,
            (Side::Write { current }, Some(side)) => {
                let serving = current.and_then(|r| r.health_check_id.as_deref());
                // A record taken over now keeps the check it uses when the
                // spec describes that check (its immutable settings at least).
                if let (Some(id), Some(want)) = (serving, side.health_check.as_ref())
                    && !candidates.iter().any(|c| c.id == id)
                    && let Some(found) = observed.health_checks.get(id)
                    && found.config.immutable_part() == want.immutable_part()
                {
                    candidates.push(found);
                    taken_over.insert(role, id.to_string());
                }
                (side.health_check.as_ref(), serving)
            }
            _ => (None, None),
        };
        let check_ref = plan_side_check(
            &mut plan,
            record,
            role,
            want,
            serving,
            &candidates,
            observed.tags,
        );
        check_refs.insert(role, check_ref);
    }
    retag_taken_over(&mut plan, record, &check_refs, &taken_over);
    // Checks of someone else's this entry uses (taken over with the
    // records), noted before the failback latch steps in front of PRIMARY's.
    let adopted: BTreeMap<Failover, String> = check_refs
        .iter()
        .filter_map(|(role, check_ref)| match check_ref {
            Some(CheckRef::Existing(id))
                if owner.role_of_check(
                    &observed
                        .health_checks
                        .get(id)
                        .map(|c| c.caller_reference.clone())
                        .unwrap_or_default(),
                ) != Some(*role) =>
            {
                Some((*role, id.clone()))
            }
            _ => None,
        })
        .collect();
    // While a dispute keeps PRIMARY as it is, so does its latch.
    if !matches!(claims.side(Failover::Primary), Side::Keep(_)) {
        let ours_here: Vec<&RecordSet> = Failover::BOTH
            .into_iter()
            .filter_map(|role| match claims.side(role) {
                Side::Write { current } | Side::Keep(current) => *current,
                _ => None,
            })
            .collect();
        plan_latch(&mut plan, record, &ours_here, observed, &mut check_refs);
    }

    // Then the record sets: PRIMARY, SECONDARY and the marker, as one group.
    let mut entry = Marker::empty(owner);
    let mut wanted: Vec<(RecordSet, Option<CheckRef>)> = Vec::new();
    let mut current: Vec<&RecordSet> = claims.replaced.clone();
    for role in Failover::BOTH {
        match (claims.side(role), record.desired.side(role)) {
            (Side::Write { current: have }, Some(side)) => {
                let check_ref = check_refs.get(&role).cloned().flatten();
                if let Some(id) = adopted.get(&role) {
                    entry.set_adopted_check(role, Some(id.clone()));
                }
                entry.set_holds(role, Some(side.set_identifier.clone()));
                current.extend(*have);
                wanted.push((record.record_set(side), check_ref));
            }
            (Side::Keep(have), _) => {
                let held = claims.mine.as_ref().and_then(|m| m.holds(role));
                entry.set_holds(role, held.map(str::to_string));
                entry.set_adopted_check(
                    role,
                    claims
                        .mine
                        .as_ref()
                        .and_then(|m| m.adopted_check(role))
                        .map(str::to_string),
                );
                // Left exactly as it is: neither deleted nor rewritten.
                let _ = have;
            }
            (Side::Release(have), _) => current.extend(*have),
            (Side::Want, _) => entry.wants.push(role),
            _ => {}
        }
    }
    // A check taken over earlier stays named in the entry while it exists
    // and this plan deletes it (replaced, no longer wanted, its side handed
    // over): the controller deletes checks only once the record change is
    // INSYNC, often in a later reconcile, which knows the check as this
    // owner's only through the entry.
    if let Some(mine) = claims.mine.as_ref() {
        for role in Failover::BOTH {
            if entry.adopted_check(role).is_none()
                && let Some(id) = mine.adopted_check(role)
                && observed.health_checks.get(id).is_some()
                && plan.delete_checks.iter().any(|d| d.id == id)
            {
                entry.set_adopted_check(role, Some(id.to_string()));
            }
        }
    }
    // A side this FailoverRecord waits for, or holds but has to leave as it
    // is, tells the other owners its TTL, so that a TTL dispute is reported
    // on both sides.
    let blocked = Failover::BOTH
        .into_iter()
        .any(|role| matches!(claims.side(role), Side::Keep(_)));
    if (!entry.wants.is_empty() || blocked) && record.desired.ttl_applies() {
        entry.ttl = Some(record.desired.ttl);
    }
    let entry = (!entry.is_empty()).then_some(entry);
    let (old_marker, new_marker) = claims::marker_changes(
        &ownership::marker_name(fqdn, rr_type),
        claims.marker,
        &claims.others,
        entry.as_ref(),
    );

    // Groups this resource holds under another name or type (after a rename
    // or a type change) go in the same batch.
    let mut elsewhere: Vec<(Option<RecordSet>, Option<RecordSet>)> = Vec::new();
    for found in observed.records.markers_of(owner) {
        if (found.name.as_str(), &found.rr_type) == (fqdn, rr_type) {
            continue;
        }
        current.extend(held_records(observed.records, found));
        elsewhere.push(leave_marker(found, owner));
    }

    let mut deletes: Vec<PlannedChange> = Vec::new();
    let mut creates: Vec<PlannedChange> = Vec::new();
    for (want, check_ref) in &wanted {
        match current.iter().find(|r| r.key() == want.key()) {
            Some(have) if equivalent(have, want, check_ref.as_ref()) => {}
            Some(have) => {
                deletes.push(delete_of(have));
                creates.push(create_of(want, check_ref));
            }
            None => creates.push(create_of(want, check_ref)),
        }
    }
    for have in &current {
        if !wanted.iter().any(|(want, _)| want.key() == have.key()) {
            deletes.push(delete_of(have));
        }
    }
    for (old, new) in std::iter::once((old_marker, new_marker)).chain(elsewhere) {
        deletes.extend(old.as_ref().map(delete_of));
        creates.extend(new.as_ref().map(|n| create_of(n, &None)));
    }
    deletes.sort_by_key(|c| c.record.key());
    plan.changes = deletes;
    plan.changes.extend(creates);
    keep_referenced_checks(&mut plan, observed.records);
    keep_latch_children(&mut plan, owner, observed.health_checks);
    plan
}

/// Plan removing everything `owner` has in this zone and among `health_checks`:
/// record sets first (and its entries from the markers, every other owner's
/// entry kept), then the checks no record set refers to any more.
pub fn plan_delete(owner: &Owner, zone_id: &str, observed: Observed<'_>) -> RecordPlan {
    let mut plan = RecordPlan::new(owner, zone_id);
    let mut deletes: Vec<PlannedChange> = Vec::new();
    let mut creates: Vec<PlannedChange> = Vec::new();
    let mut adopted: Vec<(&HealthCheck, Failover)> = Vec::new();
    let owned = observed.health_checks.of(owner);
    for found in observed.records.markers_of(owner) {
        if plan.fqdn.is_none() {
            plan.fqdn = Some(found.name.clone());
            plan.rr_type = Some(found.rr_type.clone());
        }
        deletes.extend(held_records(observed.records, found).map(delete_of));
        let (old, new) = leave_marker(found, owner);
        deletes.extend(old.as_ref().map(delete_of));
        creates.extend(new.as_ref().map(|n| create_of(n, &None)));
        adopted.extend(adopted_checks(Some(&found.marker), observed, &owned));
    }
    deletes.sort_by_key(|c| c.record.key());
    plan.changes = deletes;
    plan.changes.extend(creates);
    plan.delete_checks = owned
        .into_iter()
        .chain(adopted)
        .map(|(c, role)| DeleteCheck {
            id: c.id.clone(),
            role,
            reason: DeleteReason::ResourceDeleted,
        })
        .collect();
    // A latch goes before the check it counts: Route 53 refuses to delete
    // a calculated check's child.
    let latches: Vec<String> = observed
        .health_checks
        .latches_of(owner)
        .iter()
        .map(|c| c.id.clone())
        .collect();
    plan.delete_checks
        .extend(latches.iter().map(|id| DeleteCheck {
            id: id.clone(),
            role: Failover::Primary,
            reason: DeleteReason::ResourceDeleted,
        }));
    plan.delete_checks
        .sort_by_key(|d| (!latches.contains(&d.id), d.id.clone()));
    plan.delete_checks.dedup_by(|a, b| a.id == b.id);
    keep_referenced_checks(&mut plan, observed.records);
    // A latch kept because a record set it does not own still uses it keeps
    // its child too: Route 53 refuses to delete a check a calculated check
    // counts.
    keep_latch_children(&mut plan, owner, observed.health_checks);
    plan
}

/// The record sets an entry of a marker holds.
fn held_records<'a>(
    zone: &'a ZoneRecords,
    found: &'a FoundMarker,
) -> impl Iterator<Item = &'a RecordSet> + 'a {
    zone.at(&found.name, &found.rr_type)
        .iter()
        .filter(|r| found.marker.claims(r.set_identifier.as_deref()))
}

/// The marker changes that take `owner`'s entry out of a marker, every
/// other entry kept as it was.
fn leave_marker(found: &FoundMarker, owner: &Owner) -> (Option<RecordSet>, Option<RecordSet>) {
    let others: Vec<String> = found
        .record
        .values
        .iter()
        .filter(|v| !Marker::parse(v).is_some_and(|m| m.is_owned_by(owner)))
        .cloned()
        .collect();
    claims::marker_changes(&found.record.name, Some(&found.record), &others, None)
}

/// Checks someone else created that `entry` says were taken over with the
/// records, and are not among `owned` already.
fn adopted_checks<'a>(
    entry: Option<&Marker>,
    observed: Observed<'a>,
    owned: &[(&HealthCheck, Failover)],
) -> Vec<(&'a HealthCheck, Failover)> {
    let Some(entry) = entry else {
        return Vec::new();
    };
    Failover::BOTH
        .into_iter()
        .filter_map(|role| {
            let id = entry.adopted_check(role)?;
            let check = observed.health_checks.get(id)?;
            (!owned.iter().any(|(c, _)| c.id == id)).then_some((check, role))
        })
        .collect()
}

/// A check taken over now has none of this owner's tags yet: all of them.
fn retag_taken_over(
    plan: &mut RecordPlan,
    record: &PlacedRecord,
    check_refs: &BTreeMap<Failover, Option<CheckRef>>,
    taken_over: &BTreeMap<Failover, String>,
) {
    for (role, id) in taken_over {
        let kept = matches!(check_refs.get(role), Some(Some(CheckRef::Existing(k))) if k == id);
        if kept && !plan.retag_checks.iter().any(|r| &r.id == id) {
            plan.retag_checks.push(RetagCheck {
                id: id.clone(),
                role: *role,
                add: ownership::health_check_tags(
                    &record.desired.owner,
                    &record.zone.id,
                    &record.fqdn,
                    &record.desired.rr_type,
                    *role,
                ),
            });
        }
    }
}

fn delete_of(have: &RecordSet) -> PlannedChange {
    // A DELETE must repeat the record exactly as Route 53 holds it.
    PlannedChange {
        action: ChangeAction::Delete,
        record: have.clone(),
        health_check: have.health_check_id.clone().map(CheckRef::Existing),
    }
}

fn create_of(want: &RecordSet, check_ref: &Option<CheckRef>) -> PlannedChange {
    PlannedChange {
        action: ChangeAction::Create,
        record: want.clone(),
        health_check: check_ref.clone(),
    }
}

/// Whether the observed record set already is the wanted one.
fn equivalent(have: &RecordSet, want: &RecordSet, check_ref: Option<&CheckRef>) -> bool {
    let check_matches = match check_ref {
        None => have.health_check_id.is_none(),
        Some(CheckRef::Existing(id)) => have.health_check_id.as_deref() == Some(id.as_str()),
        Some(CheckRef::Created(_) | CheckRef::Latch) => false,
    };
    let values_match = if want.rr_type == RrType::TXT {
        have.values.len() == want.values.len()
            && have.values.iter().zip(&want.values).all(|(h, w)| {
                h == w || (Marker::parse(h).is_some() && Marker::parse(h) == Marker::parse(w))
            })
    } else {
        canonical_values(&have.rr_type, &have.values)
            == canonical_values(&want.rr_type, &want.values)
    };
    let alias_matches = match (&have.alias, &want.alias) {
        (None, None) => true,
        (Some(h), Some(w)) => {
            names::normalize_host(&h.dns_name) == w.dns_name
                && h.hosted_zone_id == w.hosted_zone_id
                && h.evaluate_target_health == w.evaluate_target_health
        }
        _ => false,
    };
    check_matches
        && values_match
        && alias_matches
        && have.failover == want.failover
        && have.other_routing.is_none()
        && (want.alias.is_some() || have.ttl == want.ttl)
}

fn canonical_values(rr_type: &RrType, values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = values
        .iter()
        .map(|v| match rr_type {
            RrType::A | RrType::AAAA => v
                .parse::<IpAddr>()
                .map_or_else(|_| v.clone(), |ip| ip.to_string()),
            RrType::CNAME => names::normalize_host(v),
            _ => v.clone(),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod scenarios;
#[cfg(test)]
mod tables;
