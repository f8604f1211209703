//! One hosted zone's record sets, read once and indexed for every record in it.

use std::collections::BTreeMap;

use crate::ownership::{HERITAGE, Marker, Owner};
use crate::route53::{Change, ChangeAction, RecordSet, RrType};

/// An ownership marker found in a zone, with the name and type it guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMarker {
    pub name: String,
    pub rr_type: RrType,
    pub marker: Marker,
    pub record: RecordSet,
}

/// A snapshot of a zone's record sets, indexed by name and type.
#[derive(Clone, Debug, Default)]
pub struct ZoneRecords {
    by_name_type: BTreeMap<(String, RrType), Vec<RecordSet>>,
    markers: Vec<FoundMarker>,
    record_count: usize,
}

impl ZoneRecords {
    pub fn new(records: Vec<RecordSet>) -> Self {
        let mut by_name_type: BTreeMap<(String, RrType), Vec<RecordSet>> = BTreeMap::new();
        let mut markers = Vec::new();
        let record_count = records.len();
        for record in records {
            if record.rr_type == RrType::TXT
                && let Some(found) = parse_marker(&record)
            {
                markers.push(found);
            }
            by_name_type
                .entry((record.name.clone(), record.rr_type.clone()))
                .or_default()
                .push(record);
        }
        Self {
            by_name_type,
            markers,
            record_count,
        }
    }

    /// Bring the snapshot up to date with a change batch Route 53 accepted, so
    /// that a cached snapshot stays true without listing the zone again.
    pub fn apply_changes(&mut self, changes: &[Change]) {
        for change in changes {
            let record = &change.record;
            let key = record.key();
            let slot = self
                .by_name_type
                .entry((record.name.clone(), record.rr_type.clone()))
                .or_default();
            let before = slot.len();
            slot.retain(|r| r.key() != key);
            self.record_count -= before - slot.len();
            self.markers.retain(|m| m.record.key() != key);
            if change.action != ChangeAction::Delete {
                slot.push(record.clone());
                self.record_count += 1;
                if record.rr_type == RrType::TXT
                    && let Some(found) = parse_marker(record)
                {
                    self.markers.push(found);
                }
            }
            if slot.is_empty() {
                self.by_name_type
                    .remove(&(record.name.clone(), record.rr_type.clone()));
            }
        }
    }

    /// Record sets with this name and type.
    pub fn at(&self, name: &str, rr_type: &RrType) -> &[RecordSet] {
        self.by_name_type
            .get(&(name.to_string(), rr_type.clone()))
            .map_or(&[], Vec::as_slice)
    }

    /// Record sets with this name, of any type.
    pub fn at_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RecordSet> + 'a {
        self.by_name_type
            .range((name.to_string(), RrType::A)..)
            .take_while(move |((n, _), _)| n == name)
            .flat_map(|(_, records)| records.iter())
    }

    /// Markers of `owner` anywhere in the zone.
    pub fn markers_of(&self, owner: &Owner) -> Vec<&FoundMarker> {
        self.markers
            .iter()
            .filter(|m| m.marker.is_owned_by(owner))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.record_count
    }

    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }
}

/// Read a TXT record as an ownership marker: the name must be a marker name and
/// the value a marker.
fn parse_marker(record: &RecordSet) -> Option<FoundMarker> {
    let rest = record.name.strip_prefix(&format!("_{HERITAGE}-"))?;
    let (type_label, guarded) = rest.split_once('.')?;
    let rr_type = RrType::parse(&type_label.to_ascii_uppercase());
    if record.values.len() != 1 || record.set_identifier.is_some() {
        return None;
    }
    let marker = Marker::parse(&record.values[0])?;
    Some(FoundMarker {
        name: guarded.to_string(),
        rr_type,
        marker,
        record: record.clone(),
    })
}
