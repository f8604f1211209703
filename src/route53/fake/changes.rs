//! ChangeResourceRecordSets as Route 53 applies it: limits counted the way
//! Route 53 counts them, every rule checked against the zone as it would be
//! after the whole batch, and nothing applied unless all of it is.

use std::collections::HashSet;

use super::{MAX_BATCH_CHARS, MAX_BATCH_VALUES, State, sort_key};
use crate::route53::{
    Change, ChangeAction, ChangeInfo, ChangeState, ErrorKind, Failover, Operation, RecordKey,
    RecordSet, Result, Route53Error, RrType, names,
};

pub(super) fn invalid_batch(message: impl Into<String>) -> Route53Error {
    Route53Error::new(
        Operation::ChangeResourceRecordSets,
        ErrorKind::InvalidChangeBatch,
        message,
    )
    .with_code("InvalidChangeBatch")
}

pub(super) fn describe(key: &RecordKey) -> String {
    format!(
        "[name='{}', type='{}'{}]",
        key.name,
        key.rr_type,
        key.set_identifier
            .as_ref()
            .map(|s| format!(", set-identifier='{s}'"))
            .unwrap_or_default()
    )
}

/// Record sets as Route 53 stores them compare equal even when values are in
/// another order.
fn same_record(a: &RecordSet, b: &RecordSet) -> bool {
    let sorted = |r: &RecordSet| {
        let mut v = r.values.clone();
        v.sort();
        v
    };
    a.key() == b.key()
        && a.failover == b.failover
        && a.ttl == b.ttl
        && sorted(a) == sorted(b)
        && a.alias == b.alias
        && a.health_check_id == b.health_check_id
}

/// The ResourceRecord values of a batch and their characters, as Route 53
/// counts them: an UPSERT twice, an alias target (no values) not at all.
fn batch_size(changes: &[Change]) -> (usize, usize) {
    changes.iter().fold((0, 0), |(values, chars), change| {
        let times = match change.action {
            ChangeAction::Upsert => 2,
            ChangeAction::Create | ChangeAction::Delete => 1,
        };
        let record = &change.record;
        let record_chars: usize = record.values.iter().map(String::len).sum();
        (
            values + times * record.values.len(),
            chars + times * record_chars,
        )
    })
}

pub(super) fn apply_batch(
    state: &mut State,
    zone_id: &str,
    changes: &[Change],
) -> Result<ChangeInfo> {
    let (values, chars) = batch_size(changes);
    if values > MAX_BATCH_VALUES {
        return Err(invalid_batch(format!(
            "[Number of records limit of {MAX_BATCH_VALUES} exceeded.]"
        )));
    }
    if chars > MAX_BATCH_CHARS {
        return Err(invalid_batch(format!(
            "[Number of characters limit of {MAX_BATCH_CHARS} exceeded.]"
        )));
    }
    if changes.is_empty() {
        return Err(Route53Error::new(
            Operation::ChangeResourceRecordSets,
            ErrorKind::InvalidInput,
            "a change batch needs at least one change",
        ));
    }
    let checks: HashSet<String> = state.checks.keys().cloned().collect();
    let zone = state.zones.get(zone_id).ok_or_else(|| {
        Route53Error::new(
            Operation::ChangeResourceRecordSets,
            ErrorKind::NotFound,
            format!("No hosted zone found with ID: {zone_id}"),
        )
        .with_code("NoSuchHostedZone")
    })?;
    let zone_name = zone.zone.name.clone();
    // Work on a copy so the batch applies all or nothing.
    let mut records = zone.records.clone();
    let mut touched: Vec<(String, RrType)> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for change in changes {
        let record = &change.record;
        let key = record.key();
        if !names::is_within(&record.name, &zone_name) {
            errors.push(format!(
                "RRSet with DNS name {} is not permitted in zone {zone_name}",
                record.name
            ));
            continue;
        }
        if record.values.is_empty() == record.alias.is_none() {
            errors.push(format!(
                "{} needs either values or an alias target",
                describe(&key)
            ));
            continue;
        }
        if let Some(id) = &record.health_check_id
            && change.action != ChangeAction::Delete
            && !checks.contains(id)
        {
            errors.push(format!("The health check {id} does not exist"));
            continue;
        }
        let slot = sort_key(&key);
        match change.action {
            ChangeAction::Create => {
                if records.contains_key(&slot) {
                    errors.push(format!(
                        "Tried to create resource record set {} but it already exists",
                        describe(&key)
                    ));
                    continue;
                }
                records.insert(slot, record.clone());
            }
            ChangeAction::Delete => match records.get(&slot) {
                None => {
                    errors.push(format!(
                        "Tried to delete resource record set {} but it was not found",
                        describe(&key)
                    ));
                    continue;
                }
                Some(existing) if !same_record(existing, record) => {
                    errors.push(format!("Tried to delete resource record set {} but the values provided do not match the current values", describe(&key)));
                    continue;
                }
                Some(_) => {
                    records.remove(&slot);
                }
            },
            ChangeAction::Upsert => {
                records.insert(slot, record.clone());
            }
        }
        touched.push((record.name.clone(), record.rr_type.clone()));
    }
    for (name, rr_type) in &touched {
        let group: Vec<&RecordSet> = records
            .values()
            .filter(|r| &r.name == name && &r.rr_type == rr_type)
            .collect();
        let primaries = group
            .iter()
            .filter(|r| r.failover == Some(Failover::Primary))
            .count();
        let secondaries = group
            .iter()
            .filter(|r| r.failover == Some(Failover::Secondary))
            .count();
        if primaries > 1 || secondaries > 1 {
            errors.push(format!(
                "More than one {} failover record set for {name} {rr_type}",
                if primaries > 1 {
                    "PRIMARY"
                } else {
                    "SECONDARY"
                }
            ));
        }
        let simple = group.iter().any(|r| r.set_identifier.is_none());
        if simple && group.len() > 1 {
            errors.push(format!("RRSet of type {rr_type} with DNS name {name} is not permitted because a conflicting RRSet of type {rr_type} with the same DNS name already exists"));
        }
        if group.iter().any(|r| {
            r.failover == Some(Failover::Primary)
                && r.alias.is_none()
                && r.health_check_id.is_none()
        }) {
            errors.push(
                "A non-alias primary ResourceRecordSet must have an associated health check"
                    .to_string(),
            );
        }
        let types_here: HashSet<&RrType> = records
            .values()
            .filter(|r| &r.name == name)
            .map(|r| &r.rr_type)
            .collect();
        if types_here.contains(&RrType::CNAME) && types_here.len() > 1 {
            errors.push(format!("RRSet of type CNAME with DNS name {name} is not permitted because a conflicting RRSet of another type with the same DNS name already exists"));
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(invalid_batch(format!("[{}]", errors.join(", "))));
    }
    if let Some(zone) = state.zones.get_mut(zone_id) {
        zone.records = records;
    }
    let id = format!("C{:010}", state.next_id);
    state.next_id += 1;
    let polls = state.polls_until_insync;
    state.changes.insert(id.clone(), polls);
    Ok(ChangeInfo {
        id,
        status: ChangeState::Pending,
    })
}
