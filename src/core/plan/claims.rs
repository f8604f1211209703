//! Whose records are where: for each side of a name and type, whether this
//! FailoverRecord holds it (by its entry in the ownership marker), takes it
//! over on request (`adoptExisting`), waits for it because another owner
//! holds it, or leaves it to someone else (a side it does not manage).
//!
//! Obstacles outside dnsfailover (records nobody's entry holds, a TXT record
//! at the marker's name, a CNAME clash) are conflicts: nothing is written.
//! Disagreements with another dnsfailover owner at the same name are
//! disputes: each owner keeps what it holds, records what it wants in its
//! own entry of the marker, and both report the dispute.

use std::collections::BTreeMap;

use super::{Conflict, ConflictKind, ZoneRecords};
use crate::core::desired::{PlacedRecord, SideTarget};
use crate::core::ownership::{self, Marker, record_of};
use crate::route53::{Failover, RecordKey, RecordSet, RrType};

/// What this FailoverRecord does with one side.
#[derive(Clone, Debug)]
pub(super) enum Side<'a> {
    /// Make it match the spec. `current`: the record set there now, held by
    /// this FailoverRecord or taken over now.
    Write { current: Option<&'a RecordSet> },
    /// Held, and left exactly as it is while a dispute lasts.
    Keep(Option<&'a RecordSet>),
    /// Held but no longer managed (`manage` changed): removed.
    Release(Option<&'a RecordSet>),
    /// Managed but not held: another owner holds it or it disagrees with
    /// the other side. Recorded as wanted in this FailoverRecord's entry.
    Want,
    /// Not managed here: another installation's, someone else's, or empty.
    Peer,
}

/// The sides of a name and type, and the marker that says who holds them.
pub(super) struct Claims<'a> {
    pub sides: BTreeMap<Failover, Side<'a>>,
    /// The marker record set as read, if there is one.
    pub marker: Option<&'a RecordSet>,
    /// Other owners' entries, as their raw values (kept byte for byte).
    pub others: Vec<String>,
    /// This FailoverRecord's entry as read.
    pub mine: Option<Marker>,
    /// Simple records (not failover) taken over: removed for the pair.
    pub replaced: Vec<&'a RecordSet>,
    /// Disagreements with other dnsfailover owners, reported on both sides.
    pub disputes: Vec<Conflict>,
}

impl Claims<'_> {
    pub fn side(&self, role: Failover) -> &Side<'_> {
        self.sides.get(&role).unwrap_or(&Side::Peer)
    }
}

pub(super) fn ownership_of<'a>(
    record: &PlacedRecord,
    zone: &'a ZoneRecords,
) -> Result<Claims<'a>, Vec<Conflict>> {
    let owner = &record.desired.owner;
    let fqdn = record.fqdn.as_str();
    let rr_type = &record.desired.rr_type;
    let group = zone.at(fqdn, rr_type);
    let marker_name = ownership::marker_name(fqdn, rr_type);

    cname_clashes(record, zone)?;

    let marker = match zone.at(&marker_name, &RrType::TXT) {
        [] => None,
        [marker] if marker.set_identifier.is_none() => Some(marker),
        // Several TXT record sets (routing policies) at the marker's name:
        // none of them is a marker.
        [first, ..] => Some(first),
    };
    let mut mine: Option<Marker> = None;
    let mut others: Vec<(String, Marker)> = Vec::new();
    if let Some(marker) = marker {
        let entries =
            super::zone::marker_entries(marker).filter(|_| marker.set_identifier.is_none());
        let Some(entries) = entries else {
            return Err(vec![Conflict {
                kind: ConflictKind::MarkerNameTaken,
                message: format!(
                    "{marker_name} holds a TXT record that dnsfailover did not write; it needs that name for its ownership marker"
                ),
                records: vec![marker.key()],
            }]);
        };
        for (value, entry) in marker.values.iter().zip(entries) {
            if entry.is_owned_by(owner) && mine.is_none() {
                mine = Some(entry);
            } else {
                others.push((value.clone(), entry));
            }
        }
    }

    // A pair managed from one place never writes into a marker whose other
    // entries each hold a whole pair: that is another FailoverRecord's name
    // and type, as it always was.
    let whole_pairs_only = !others.is_empty()
        && others.iter().all(|(_, e)| {
            e.holds(Failover::Primary).is_some() && e.holds(Failover::Secondary).is_some()
        });
    if record.desired.manages_both() && mine.is_none() && whole_pairs_only {
        let other = &others[0].1;
        return Err(vec![Conflict {
            kind: ConflictKind::OwnedByOther,
            message: format!(
                "{fqdn} {rr_type} is managed by FailoverRecord {} of dnsfailover owner {:?}; only one FailoverRecord may manage a name and type (or one each side, with spec.manage)",
                other.resource, other.owner_id
            ),
            records: group
                .iter()
                .map(RecordSet::key)
                .chain(marker.map(RecordSet::key))
                .collect(),
        }]);
    }

    let held_by_other = |role: Failover| {
        others
            .iter()
            .map(|(_, e)| e)
            .find(|e| e.holds(role).is_some())
    };
    let unclaimed: Vec<&RecordSet> = group
        .iter()
        .filter(|r| {
            !mine
                .as_ref()
                .is_some_and(|m| m.claims(r.set_identifier.as_deref()))
                && !others
                    .iter()
                    .any(|(_, e)| e.claims(r.set_identifier.as_deref()))
        })
        .collect();

    // Record sets nobody's entry holds, in the way of a side managed here:
    // taken over on request, else a conflict. On a side another
    // installation manages they are that installation's business.
    let in_the_way: Vec<&RecordSet> = unclaimed
        .iter()
        .copied()
        .filter(|r| match r.failover {
            Some(role) => record.desired.side(role).is_some(),
            None => true,
        })
        .collect();
    let mut adopted: BTreeMap<Failover, &RecordSet> = BTreeMap::new();
    let mut replaced = Vec::new();
    if !in_the_way.is_empty() {
        if !record.desired.adopt_existing {
            let keys: Vec<RecordKey> = in_the_way.iter().map(|r| r.key()).collect();
            return Err(vec![not_owned(marker.is_some() || mine.is_some(), keys)]);
        }
        if let Some(policy) = in_the_way.iter().find_map(|r| r.other_routing.as_deref()) {
            let keys: Vec<RecordKey> = in_the_way
                .iter()
                .filter(|r| r.other_routing.is_some())
                .map(|r| r.key())
                .collect();
            return Err(vec![Conflict {
                kind: ConflictKind::Unadoptable,
                message: format!(
                    "{} uses {policy} routing, which adoptExisting cannot take over; delete those record sets first (a failover pair then replaces them)",
                    describe_keys(&keys)
                ),
                records: keys,
            }]);
        }
        for r in in_the_way {
            match r.failover {
                Some(role) if held_by_other(role).is_none() => {
                    adopted.insert(role, r);
                }
                Some(_) => {}
                None => replaced.push(r),
            }
        }
    }

    let mut disputes = Vec::new();
    let mut sides = BTreeMap::new();
    for role in Failover::BOTH {
        let current = group.iter().find(|r| {
            r.failover == Some(role)
                && mine
                    .as_ref()
                    .is_some_and(|m| m.holds(role) == r.set_identifier.as_deref())
        });
        let held = mine.as_ref().is_some_and(|m| m.holds(role).is_some());
        let Some(side) = record.desired.side(role) else {
            sides.insert(
                role,
                if held {
                    Side::Release(current)
                } else {
                    Side::Peer
                },
            );
            continue;
        };
        let mut blocked = false;
        if let Some(other) = held_by_other(role) {
            disputes.push(dispute(format!(
                "the {} of {fqdn} {rr_type} is held by FailoverRecord {} of dnsfailover owner {:?}: two owners claim one side. This FailoverRecord waits and writes nothing for it; make one of them manage the other side (spec.manage) or delete one",
                role.as_route53(),
                other.resource,
                other.owner_id
            )));
            blocked = true;
        }
        // The other side as someone else wrote it: not held by this
        // FailoverRecord, and not being taken over by it now.
        let peer = group.iter().find(|r| {
            r.failover == Some(other_side(role))
                && !is_mine(r, mine.as_ref())
                && !adopted.values().any(|a| std::ptr::eq(*a, *r))
        });
        if let Some(peer) = peer {
            if peer.set_identifier.as_deref() == Some(side.set_identifier.as_str()) {
                disputes.push(dispute(format!(
                    "the {} of {fqdn} {rr_type} already uses the set identifier {:?}; Route 53 needs a different one for each side: change spec.{role}.setIdentifier on one of them",
                    other_side(role).as_route53(),
                    side.set_identifier
                )));
                blocked = true;
            }
            if let (SideTarget::Values(_), Some(ttl)) = (&side.target, peer.ttl)
                && ttl != record.desired.ttl
            {
                disputes.push(dispute(format!(
                    "the {} of {fqdn} {rr_type} has TTL {ttl} and this FailoverRecord's {} would have TTL {}: Route 53 keeps one TTL for the record sets of a name and type, so it is left as it is; give both sides the same TTL",
                    other_side(role).as_route53(),
                    role.as_route53(),
                    record.desired.ttl
                )));
                blocked = true;
            }
        }
        let state = match (blocked, held) {
            (false, _) => Side::Write {
                current: current.or(adopted.get(&role).copied()),
            },
            (true, true) => Side::Keep(current),
            (true, false) => Side::Want,
        };
        sides.insert(role, state);
    }

    // Others waiting for a side this FailoverRecord holds, or disagreeing
    // with it, hear about it there; so does this one.
    for (_, other) in &others {
        for role in other.wants.iter().copied() {
            let holds_it = matches!(sides.get(&role), Some(Side::Write { .. } | Side::Keep(_)));
            if holds_it {
                disputes.push(dispute(format!(
                    "FailoverRecord {} of dnsfailover owner {:?} also manages the {} of {fqdn} {rr_type}, which this FailoverRecord holds: two owners claim one side; make one of them manage the other side (spec.manage) or delete one",
                    other.resource,
                    other.owner_id,
                    role.as_route53()
                )));
            }
        }
        // The other owner writes the TTL it wants into its entry while it
        // cannot write its side (or has to leave it as it is) for a TTL
        // that differs from this one's.
        if let Some(ttl) = other.ttl.filter(|t| *t != record.desired.ttl)
            && record
                .desired
                .sides()
                .iter()
                .any(|s| matches!(s.target, SideTarget::Values(_)))
        {
            disputes.push(dispute(format!(
                "FailoverRecord {} of dnsfailover owner {:?} wants TTL {ttl} for its side of {fqdn} {rr_type}, and this FailoverRecord's TTL is {}: Route 53 keeps one TTL for a name and type; give both sides the same TTL",
                other.resource,
                other.owner_id,
                record.desired.ttl
            )));
        }
    }
    disputes.extend(type_mismatch(record, zone, mine.as_ref(), &others));
    disputes.dedup_by(|a, b| a.message == b.message);

    Ok(Claims {
        sides,
        marker,
        others: others.into_iter().map(|(raw, _)| raw).collect(),
        mine,
        replaced,
        disputes,
    })
}

/// The changes that make the marker hold `entry` in place of this
/// FailoverRecord's entry, every other entry kept exactly as it was: none,
/// a CREATE, or the exact DELETE of the marker as read and a CREATE.
pub(super) fn marker_changes(
    name: &str,
    marker: Option<&RecordSet>,
    others: &[String],
    entry: Option<&Marker>,
) -> (Option<RecordSet>, Option<RecordSet>) {
    // Keep this FailoverRecord's entry where it was, so that a marker that
    // did not change for it stays byte for byte the same.
    let mut values = Vec::new();
    let mut placed = false;
    for value in marker.map(|m| m.values.as_slice()).unwrap_or_default() {
        if others.contains(value) {
            values.push(value.clone());
        } else if let Some(entry) = entry.filter(|_| !placed) {
            placed = true;
            values.push(match Marker::parse(value) {
                Some(old) if &old == entry => value.clone(),
                _ => entry.to_txt_value(),
            });
        }
    }
    if let Some(entry) = entry.filter(|_| !placed) {
        values.push(entry.to_txt_value());
    }
    match marker {
        Some(marker) if marker.values == values => (None, None),
        None if values.is_empty() => (None, None),
        _ => (
            marker.cloned(),
            (!values.is_empty()).then(|| record_of(name, values)),
        ),
    }
}

fn is_mine(record: &RecordSet, mine: Option<&Marker>) -> bool {
    mine.is_some_and(|m| m.claims(record.set_identifier.as_deref()))
}

fn other_side(role: Failover) -> Failover {
    match role {
        Failover::Primary => Failover::Secondary,
        Failover::Secondary => Failover::Primary,
    }
}

fn dispute(message: String) -> Conflict {
    Conflict {
        kind: ConflictKind::Disputed,
        records: Vec::new(),
        message,
    }
}

fn not_owned(coordinated: bool, keys: Vec<RecordKey>) -> Conflict {
    if coordinated {
        Conflict {
            kind: ConflictKind::ForeignRecord,
            message: format!(
                "{} exists next to the record sets of this FailoverRecord but no dnsfailover owner holds it; Route 53 allows only one PRIMARY and one SECONDARY per name and type: remove it, rename this FailoverRecord's set identifiers, or set spec.adoptExisting: true to take it over",
                describe_keys(&keys)
            ),
            records: keys,
        }
    } else {
        Conflict {
            kind: ConflictKind::NotOwned,
            message: format!(
                "{} already exists and was not created by this FailoverRecord; it is left untouched. Delete it, or set spec.adoptExisting: true to take it over",
                describe_keys(&keys)
            ),
            records: keys,
        }
    }
}

/// Record sets of another type at this name that this FailoverRecord does
/// not own block a CNAME (and a CNAME blocks everything else).
fn cname_clashes(record: &PlacedRecord, zone: &ZoneRecords) -> Result<(), Vec<Conflict>> {
    let owner = &record.desired.owner;
    let fqdn = record.fqdn.as_str();
    let rr_type = &record.desired.rr_type;
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
    if clash.is_empty() {
        return Ok(());
    }
    Err(vec![Conflict {
        kind: ConflictKind::CnameClash,
        message: format!(
            "{fqdn} already has {} record sets this FailoverRecord does not own, and a CNAME cannot share a name with other record types; remove them or choose another name",
            describe_types(&clash)
        ),
        records: clash,
    }])
}

/// Two installations meaning one pair but writing different types: one
/// side at each type, each alone. Told to both, since both markers show it.
fn type_mismatch(
    record: &PlacedRecord,
    zone: &ZoneRecords,
    mine: Option<&Marker>,
    others: &[(String, Marker)],
) -> Option<Conflict> {
    if record.desired.manages_both() {
        return None;
    }
    let fqdn = record.fqdn.as_str();
    let rr_type = &record.desired.rr_type;
    let role = record.desired.sides().first()?.role;
    let other = other_side(role);
    fn present<'m>(mut entries: impl Iterator<Item = &'m Marker>, side: Failover) -> bool {
        entries.any(|e| e.holds(side).is_some() || e.wants(side))
    }
    if present(mine.into_iter().chain(others.iter().map(|(_, e)| e)), other) {
        return None;
    }
    for elsewhere in [RrType::A, RrType::AAAA, RrType::CNAME]
        .into_iter()
        .filter(|t| t != rr_type)
    {
        let name = ownership::marker_name(fqdn, &elsewhere);
        let Some(entries) = zone
            .at(&name, &RrType::TXT)
            .first()
            .and_then(super::zone::marker_entries)
        else {
            continue;
        };
        let foreign: Vec<&Marker> = entries
            .iter()
            .filter(|e| !e.is_owned_by(&record.desired.owner))
            .collect();
        if present(foreign.iter().copied(), other) && !present(entries.iter(), role) {
            let them = foreign
                .iter()
                .find(|e| e.holds(other).is_some() || e.wants(other))?;
            return Some(dispute(format!(
                "{fqdn} {elsewhere} has a {} (FailoverRecord {} of dnsfailover owner {:?}) and no {}, while this FailoverRecord's {} is of type {rr_type}: the two sides of one failover pair need the same type",
                other.as_route53(),
                them.resource,
                them.owner_id,
                role.as_route53(),
                role.as_route53()
            )));
        }
    }
    None
}

/// Route 53's rule: a CNAME shares its name with no record set of another
/// type. One rule for record sets found in a zone and for FailoverRecords
/// applied together.
pub fn cname_clash(a: &RrType, b: &RrType) -> bool {
    a != b && (*a == RrType::CNAME || *b == RrType::CNAME)
}

pub(super) fn describe_keys(keys: &[RecordKey]) -> String {
    let parts: Vec<String> = keys.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

fn describe_types(keys: &[RecordKey]) -> String {
    let mut types: Vec<&str> = keys.iter().map(|k| k.rr_type.as_str()).collect();
    types.dedup();
    types.join("/")
}
