//! Whose record sets are at a name and type: ours (by our marker), free,
//! taken over on request (`adoptExisting`), or someone else's, which is a
//! conflict and never written.

use super::{Conflict, ConflictKind, FoundMarker, ZoneRecords};
use crate::core::desired::PlacedRecord;
use crate::core::ownership::{self, Marker};
use crate::route53::{RecordKey, RecordSet, RrType};

pub(super) enum Ownership<'a> {
    /// Nothing exists at the name and type.
    Free,
    /// Our marker, and the record sets it claims.
    Owned(&'a FoundMarker, Vec<&'a RecordSet>),
    /// Unowned record sets the spec asks to take over.
    Adopt(Vec<&'a RecordSet>),
}

pub(super) fn ownership_of<'a>(
    record: &PlacedRecord,
    zone: &'a ZoneRecords,
) -> Result<Ownership<'a>, Vec<Conflict>> {
    let owner = &record.desired.owner;
    let fqdn = record.fqdn.as_str();
    let rr_type = &record.desired.rr_type;
    let group = zone.at(fqdn, rr_type);
    let marker_name = ownership::marker_name(fqdn, rr_type);
    let marker_records = zone.at(&marker_name, &RrType::TXT);
    let found = zone
        .markers_of(owner)
        .into_iter()
        .find(|m| m.name == fqdn && &m.rr_type == rr_type);

    // Record sets of another type at this name that we do not own block a
    // CNAME (and a CNAME blocks everything else).
    let clash: Vec<RecordKey> = zone
        .at_name(fqdn)
        .filter(|r| cname_clash(&r.rr_type, rr_type))
        .filter(|r| {
            !zone.markers_of(owner).iter().any(|m| {
                m.name == r.name
                    && m.rr_type == r.rr_type
                    && m.marker.claims(r.set_identifier.as_deref())
            })
        })
        .map(RecordSet::key)
        .collect();
    if !clash.is_empty() {
        return Err(vec![Conflict {
            kind: ConflictKind::CnameClash,
            message: format!(
                "{fqdn} already has {} record sets this FailoverRecord does not own, and a CNAME cannot share a name with other record types; remove them or choose another name",
                describe_types(&clash)
            ),
            records: clash,
        }]);
    }

    match (found, marker_records) {
        (Some(found), _) => {
            let foreign: Vec<RecordKey> = group
                .iter()
                .filter(|r| !found.marker.claims(r.set_identifier.as_deref()))
                .map(RecordSet::key)
                .collect();
            if !foreign.is_empty() {
                return Err(vec![Conflict {
                    kind: ConflictKind::ForeignRecord,
                    message: format!(
                        "{} exists next to the record sets of this FailoverRecord but was not created by it; Route 53 allows only one PRIMARY and one SECONDARY per name and type: remove it, or rename this FailoverRecord's set identifiers",
                        describe_keys(&foreign)
                    ),
                    records: foreign,
                }]);
            }
            Ok(Ownership::Owned(found, group.iter().collect()))
        }
        (None, [_, ..]) => {
            let keys: Vec<RecordKey> = marker_records.iter().map(RecordSet::key).collect();
            let other = marker_records
                .iter()
                .flat_map(|r| r.values.iter())
                .find_map(|v| Marker::parse(v));
            match other {
                Some(other) => Err(vec![Conflict {
                    kind: ConflictKind::OwnedByOther,
                    message: format!(
                        "{fqdn} {rr_type} is managed by FailoverRecord {} of dnsfailover owner {:?}; only one FailoverRecord may manage a name and type",
                        other.resource, other.owner_id
                    ),
                    records: group.iter().map(RecordSet::key).chain(keys).collect(),
                }]),
                None => Err(vec![Conflict {
                    kind: ConflictKind::MarkerNameTaken,
                    message: format!(
                        "{marker_name} holds a TXT record that dnsfailover did not write; it needs that name for its ownership marker"
                    ),
                    records: keys,
                }]),
            }
        }
        (None, []) if group.is_empty() => Ok(Ownership::Free),
        (None, []) if record.desired.adopt_existing => {
            // Deleting such a record set needs its routing settings, which
            // are not kept; Route 53 would refuse the batch on every apply.
            let unadoptable: Vec<&RecordSet> =
                group.iter().filter(|r| r.other_routing.is_some()).collect();
            match unadoptable.first().and_then(|r| r.other_routing.as_deref()) {
                Some(policy) => Err(vec![Conflict {
                    kind: ConflictKind::Unadoptable,
                    message: format!(
                        "{} uses {policy} routing, which adoptExisting cannot take over; delete those record sets first (a failover pair then replaces them)",
                        describe_keys(&unadoptable.iter().map(|r| r.key()).collect::<Vec<_>>())
                    ),
                    records: unadoptable.iter().map(|r| r.key()).collect(),
                }]),
                None => Ok(Ownership::Adopt(group.iter().collect())),
            }
        }
        (None, []) => {
            let keys: Vec<RecordKey> = group.iter().map(RecordSet::key).collect();
            Err(vec![Conflict {
                kind: ConflictKind::NotOwned,
                message: format!(
                    "{} already exists and was not created by this FailoverRecord; it is left untouched. Delete it, or set spec.adoptExisting: true to take it over",
                    describe_keys(&keys)
                ),
                records: keys,
            }])
        }
    }
}

/// Route 53's rule: a CNAME shares its name with no record set of another
/// type. One rule for record sets found in a zone and for FailoverRecords
/// applied together.
pub fn cname_clash(a: &RrType, b: &RrType) -> bool {
    a != b && (*a == RrType::CNAME || *b == RrType::CNAME)
}

fn describe_keys(keys: &[RecordKey]) -> String {
    let parts: Vec<String> = keys.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

fn describe_types(keys: &[RecordKey]) -> String {
    let mut types: Vec<&str> = keys.iter().map(|k| k.rr_type.as_str()).collect();
    types.dedup();
    types.join("/")
}
