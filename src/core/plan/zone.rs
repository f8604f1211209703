//! One hosted zone's record sets, read once and indexed for every record in it.
//!
//! Every lookup a plan makes is a hash lookup, so the planner's cost per
//! record does not grow with the zone (BENCHMARKS.md: 1,000 and 10,000
//! records in one zone).

use std::collections::{BTreeMap, HashMap};

use crate::core::ownership::{HERITAGE, Marker, Owner};
use crate::route53::{Change, ChangeAction, RecordSet, RrType};

/// One entry of an ownership marker found in a zone, with the name and type
/// it guards and the whole marker record set it is part of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMarker {
    pub name: String,
    pub rr_type: RrType,
    pub marker: Marker,
    pub record: RecordSet,
}

/// A snapshot of a zone's record sets, indexed by name and type, and its
/// ownership markers indexed by owner.
#[derive(Clone, Debug, Default)]
pub struct ZoneRecords {
    /// Name → type → the record sets (types in order, for `at_name`).
    by_name: HashMap<String, BTreeMap<RrType, Vec<RecordSet>>>,
    /// (owner id, resource) → that owner's markers.
    markers: HashMap<(String, String), Vec<FoundMarker>>,
    /// Health check id → how many record sets refer to it.
    check_references: HashMap<String, usize>,
    record_count: usize,
}

fn owner_key(marker: &Marker) -> (String, String) {
    (marker.owner_id.clone(), marker.resource.clone())
}

impl ZoneRecords {
    pub fn new(records: Vec<RecordSet>) -> Self {
        let mut by_name: HashMap<String, BTreeMap<RrType, Vec<RecordSet>>> = HashMap::new();
        let mut markers: HashMap<(String, String), Vec<FoundMarker>> = HashMap::new();
        let mut check_references: HashMap<String, usize> = HashMap::new();
        let record_count = records.len();
        for record in records {
            if let Some(id) = &record.health_check_id {
                *check_references.entry(id.clone()).or_default() += 1;
            }
            for found in parse_marker(&record) {
                markers
                    .entry(owner_key(&found.marker))
                    .or_default()
                    .push(found);
            }
            by_name
                .entry(record.name.clone())
                .or_default()
                .entry(record.rr_type.clone())
                .or_default()
                .push(record);
        }
        Self {
            by_name,
            markers,
            check_references,
            record_count,
        }
    }

    /// How many record sets in the zone refer to this health check.
    pub fn references_to(&self, check_id: &str) -> usize {
        self.check_references.get(check_id).copied().unwrap_or(0)
    }

    /// The record sets that refer to this health check.
    pub fn referring_to(&self, check_id: &str) -> Vec<&RecordSet> {
        if self.references_to(check_id) == 0 {
            return Vec::new();
        }
        let mut found: Vec<&RecordSet> = self
            .by_name
            .values()
            .flat_map(BTreeMap::values)
            .flatten()
            .filter(|r| r.health_check_id.as_deref() == Some(check_id))
            .collect();
        // In a stable order: the list goes into messages.
        found.sort_by_key(|r| r.key());
        found
    }

    /// Bring the snapshot up to date with a change batch Route 53 accepted, so
    /// that a cached snapshot stays true without listing the zone again.
    pub fn apply_changes(&mut self, changes: &[Change]) {
        for change in changes {
            let record = &change.record;
            let key = record.key();
            let slot = self
                .by_name
                .entry(record.name.clone())
                .or_default()
                .entry(record.rr_type.clone())
                .or_default();
            let (removed, kept): (Vec<RecordSet>, Vec<RecordSet>) = std::mem::take(slot)
                .into_iter()
                .partition(|r| r.key() == key);
            *slot = kept;
            self.record_count -= removed.len();
            for old in &removed {
                count_reference(&mut self.check_references, old, -1);
            }
            for old in removed.iter().flat_map(parse_marker) {
                let owner = owner_key(&old.marker);
                if let Some(list) = self.markers.get_mut(&owner) {
                    list.retain(|m| m.record.key() != key);
                    if list.is_empty() {
                        self.markers.remove(&owner);
                    }
                }
            }
            if change.action != ChangeAction::Delete {
                slot.push(record.clone());
                self.record_count += 1;
                count_reference(&mut self.check_references, record, 1);
                for found in parse_marker(record) {
                    self.markers
                        .entry(owner_key(&found.marker))
                        .or_default()
                        .push(found);
                }
            }
            if slot.is_empty()
                && let Some(types) = self.by_name.get_mut(&record.name)
            {
                types.remove(&record.rr_type);
                if types.is_empty() {
                    self.by_name.remove(&record.name);
                }
            }
        }
    }

    /// Record sets with this name and type.
    pub fn at(&self, name: &str, rr_type: &RrType) -> &[RecordSet] {
        self.by_name
            .get(name)
            .and_then(|types| types.get(rr_type))
            .map_or(&[], Vec::as_slice)
    }

    /// Record sets with this name, of any type.
    pub fn at_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RecordSet> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flat_map(|types| types.values().flatten())
    }

    /// Markers of `owner` anywhere in the zone.
    pub fn markers_of(&self, owner: &Owner) -> Vec<&FoundMarker> {
        self.markers
            .get(&(owner.owner_id.clone(), owner.resource()))
            .map(|list| list.iter().collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.record_count
    }

    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }
}

fn count_reference(references: &mut HashMap<String, usize>, record: &RecordSet, delta: isize) {
    let Some(id) = &record.health_check_id else {
        return;
    };
    let count = references.entry(id.clone()).or_default();
    *count = count.saturating_add_signed(delta);
    if *count == 0 {
        references.remove(id);
    }
}

/// Read a TXT record as an ownership marker: the name must be a marker name
/// and every value an entry (one value that is not makes the record set
/// someone else's TXT record, not a marker).
fn parse_marker(record: &RecordSet) -> Vec<FoundMarker> {
    let Some((name, rr_type)) = guarded(record) else {
        return Vec::new();
    };
    let entries: Option<Vec<Marker>> = record.values.iter().map(|v| Marker::parse(v)).collect();
    entries
        .unwrap_or_default()
        .into_iter()
        .map(|marker| FoundMarker {
            name: name.clone(),
            rr_type: rr_type.clone(),
            marker,
            record: record.clone(),
        })
        .collect()
}

/// The name and type a record at a marker's name would guard.
fn guarded(record: &RecordSet) -> Option<(String, RrType)> {
    if record.rr_type != RrType::TXT || record.set_identifier.is_some() {
        return None;
    }
    let rest = record.name.strip_prefix(&format!("_{HERITAGE}-"))?;
    let (type_label, guarded) = rest.split_once('.')?;
    Some((
        guarded.to_string(),
        RrType::parse(&type_label.to_ascii_uppercase()),
    ))
}

/// The entries of a marker record set, if every value is one.
pub fn marker_entries(record: &RecordSet) -> Option<Vec<Marker>> {
    record.values.iter().map(|v| Marker::parse(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ownership::marker_name;

    fn a(name: &str, set: &str, ip: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            rr_type: RrType::A,
            set_identifier: Some(set.into()),
            failover: None,
            ttl: Some(60),
            values: vec![ip.into()],
            alias: None,
            health_check_id: None,
            other_routing: None,
        }
    }

    fn change(action: ChangeAction, record: RecordSet) -> Change {
        Change { action, record }
    }

    #[test]
    fn applying_changes_gives_the_same_snapshot_as_listing_again() {
        let owner = Owner::new("o", "ns", "web");
        let marker = Marker::new(&owner, "primary", "secondary")
            .record(&marker_name("www.example.com.", &RrType::A));
        let first = a("www.example.com.", "primary", "198.51.100.1");
        let second = a("www.example.com.", "secondary", "198.51.100.2");
        let mut zone = ZoneRecords::new(vec![first.clone()]);
        zone.apply_changes(&[
            change(ChangeAction::Create, second.clone()),
            change(ChangeAction::Create, marker.clone()),
        ]);
        assert_eq!(zone.len(), 3);
        assert_eq!(zone.markers_of(&owner).len(), 1);
        assert_eq!(zone.at("www.example.com.", &RrType::A).len(), 2);

        let moved = a("www.example.com.", "primary", "198.51.100.9");
        zone.apply_changes(&[
            change(ChangeAction::Delete, first),
            change(ChangeAction::Create, moved.clone()),
        ]);
        let mut listed = ZoneRecords::new(vec![moved, second.clone(), marker.clone()]);
        assert_eq!(zone.len(), listed.len());
        assert_eq!(
            zone.at("www.example.com.", &RrType::A).len(),
            listed.at("www.example.com.", &RrType::A).len()
        );

        zone.apply_changes(&[change(ChangeAction::Delete, marker.clone())]);
        listed.apply_changes(&[change(ChangeAction::Delete, marker)]);
        assert!(zone.markers_of(&owner).is_empty());
        assert!(listed.markers_of(&owner).is_empty());
        assert_eq!(zone.len(), 2);
        zone.apply_changes(&[change(ChangeAction::Delete, second)]);
        assert_eq!(zone.at("www.example.com.", &RrType::A).len(), 1);
    }
}
