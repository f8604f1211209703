//! The entries of an ownership marker: who holds which side of a name and
//! type, who would like to, and which health checks were taken over.
//!
//! One marker record set (TXT at `_dnsfailover-<type>.<name>`) holds one
//! entry per owner. An owner only ever changes its own entry, and always by
//! an exact DELETE of the record set as read plus a CREATE in the same batch
//! as its records: an installation that changed the marker in between makes
//! the batch fail instead of being overwritten.

use serde::Serialize;

use super::{HERITAGE, Owner};
use crate::route53::{Failover, RecordSet, RrType};

/// TTL of ownership marker records; nothing resolves them in the hot path.
pub const MARKER_TTL: i64 = 300;
/// A TXT character-string holds at most 255 bytes.
const MAX_TXT_STRING: usize = 255;

/// One owner's entry in an ownership marker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    pub owner_id: String,
    pub resource: String,
    /// Set identifier of the PRIMARY record set this entry holds, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_set_identifier: Option<String>,
    /// Set identifier of the SECONDARY record set this entry holds, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_set_identifier: Option<String>,
    /// Sides the FailoverRecord manages but does not hold, because another
    /// owner holds them or they disagree with the other side. Recorded so
    /// that the other owner reports the conflict too; never written to DNS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wants: Vec<Failover>,
    /// The TTL the wanted sides would have, so that a TTL disagreement can
    /// be told on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// A health check someone else created that this owner took over with
    /// the PRIMARY record set (`adoptExisting`): its caller reference is not
    /// this owner's, so this is how it is known to be this owner's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_check: Option<String>,
    /// The same for the SECONDARY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_check: Option<String>,
}

impl Marker {
    /// An entry holding both sides: the whole pair, managed from one place.
    pub fn new(owner: &Owner, primary: &str, secondary: &str) -> Self {
        Self {
            primary_set_identifier: Some(primary.to_string()),
            secondary_set_identifier: Some(secondary.to_string()),
            ..Self::empty(owner)
        }
    }

    /// An entry of `owner` that holds and wants nothing yet.
    pub fn empty(owner: &Owner) -> Self {
        Self {
            owner_id: owner.owner_id.clone(),
            resource: owner.resource(),
            ..Self::default()
        }
    }

    pub fn is_owned_by(&self, owner: &Owner) -> bool {
        self.owner_id == owner.owner_id && self.resource == owner.resource()
    }

    /// The set identifier of the side this entry holds.
    pub fn holds(&self, role: Failover) -> Option<&str> {
        match role {
            Failover::Primary => self.primary_set_identifier.as_deref(),
            Failover::Secondary => self.secondary_set_identifier.as_deref(),
        }
    }

    pub fn set_holds(&mut self, role: Failover, set_identifier: Option<String>) {
        match role {
            Failover::Primary => self.primary_set_identifier = set_identifier,
            Failover::Secondary => self.secondary_set_identifier = set_identifier,
        }
    }

    /// Whether this entry holds the record set with `set_identifier`.
    pub fn claims(&self, set_identifier: Option<&str>) -> bool {
        set_identifier.is_some_and(|id| {
            Failover::BOTH
                .into_iter()
                .any(|role| self.holds(role) == Some(id))
        })
    }

    /// The side of the record set with `set_identifier`, if this entry holds it.
    pub fn role_of(&self, set_identifier: Option<&str>) -> Option<Failover> {
        let id = set_identifier?;
        Failover::BOTH
            .into_iter()
            .find(|role| self.holds(*role) == Some(id))
    }

    pub fn wants(&self, role: Failover) -> bool {
        self.wants.contains(&role)
    }

    /// The taken-over health check of a side.
    pub fn adopted_check(&self, role: Failover) -> Option<&str> {
        match role {
            Failover::Primary => self.primary_check.as_deref(),
            Failover::Secondary => self.secondary_check.as_deref(),
        }
    }

    pub fn set_adopted_check(&mut self, role: Failover, id: Option<String>) {
        match role {
            Failover::Primary => self.primary_check = id,
            Failover::Secondary => self.secondary_check = id,
        }
    }

    /// Holds and wants nothing: such an entry is removed, not written.
    pub fn is_empty(&self) -> bool {
        self.primary_set_identifier.is_none()
            && self.secondary_set_identifier.is_none()
            && self.wants.is_empty()
    }

    /// The TXT record value: quoted strings of at most 255 bytes. An entry
    /// holding both sides and nothing else reads exactly as markers did
    /// before entries per side, so existing markers are never rewritten.
    pub fn to_txt_value(&self) -> String {
        let mut payload = format!(
            "heritage={HERITAGE},owner={},resource={}",
            escape(&self.owner_id),
            escape(&self.resource),
        );
        let mut field = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                payload.push_str(&format!(",{key}={}", escape(&value)));
            }
        };
        field("primary", self.primary_set_identifier.clone());
        field("secondary", self.secondary_set_identifier.clone());
        field(
            "wants",
            (!self.wants.is_empty()).then(|| {
                self.wants
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            }),
        );
        field("ttl", self.ttl.map(|t| t.to_string()));
        field("primary-check", self.primary_check.clone());
        field("secondary-check", self.secondary_check.clone());
        // The payload is ASCII after escaping, so byte chunks are char chunks.
        payload
            .as_bytes()
            .chunks(MAX_TXT_STRING)
            .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parse a TXT record value; `None` if it is not a dnsfailover marker
    /// entry. Keys a later version may add are ignored.
    pub fn parse(value: &str) -> Option<Self> {
        let payload = unquote_txt(value)?;
        let mut heritage = None;
        let mut entry = Self::default();
        let (mut owner_id, mut resource) = (None, None);
        for field in payload.split(',') {
            let (key, raw) = field.split_once('=')?;
            let value = unescape(raw)?;
            match key {
                "heritage" => heritage = Some(value),
                "owner" => owner_id = Some(value),
                "resource" => resource = Some(value),
                "primary" => entry.primary_set_identifier = Some(value),
                "secondary" => entry.secondary_set_identifier = Some(value),
                "wants" => {
                    for side in value.split('+') {
                        entry.wants.push(match side {
                            "primary" => Failover::Primary,
                            "secondary" => Failover::Secondary,
                            _ => return None,
                        });
                    }
                    entry.wants.sort();
                    entry.wants.dedup();
                }
                "ttl" => entry.ttl = Some(value.parse().ok()?),
                "primary-check" => entry.primary_check = Some(value),
                "secondary-check" => entry.secondary_check = Some(value),
                _ => {}
            }
        }
        (heritage.as_deref() == Some(HERITAGE)).then_some(())?;
        entry.owner_id = owner_id?;
        entry.resource = resource?;
        (!entry.is_empty()).then_some(entry)
    }

    /// This entry alone as a marker record set at `name`.
    pub fn record(&self, name: &str) -> RecordSet {
        record_of(name, vec![self.to_txt_value()])
    }
}

/// A marker record set at `name` with these entry values.
pub fn record_of(name: &str, values: Vec<String>) -> RecordSet {
    RecordSet {
        name: name.to_string(),
        rr_type: RrType::TXT,
        set_identifier: None,
        failover: None,
        ttl: Some(MARKER_TTL),
        values,
        alias: None,
        health_check_id: None,
        other_routing: None,
    }
}

const ESCAPED: [char; 7] = ['%', ',', '=', '"', '\\', ' ', ';'];

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if ESCAPED.contains(&c) || !c.is_ascii() || c.is_ascii_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut iter = s.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hi = (iter.next()? as char).to_digit(16)?;
            let lo = (iter.next()? as char).to_digit(16)?;
            bytes.push((hi * 16 + lo) as u8);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// Concatenate the quoted character-strings of a TXT value.
fn unquote_txt(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = value.trim().chars();
    loop {
        match chars.next() {
            None => return (!out.is_empty()).then_some(out),
            Some(c) if c.is_whitespace() => continue,
            Some('"') => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            },
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_through_txt_including_awkward_characters() {
        let owner = Owner::new("prod", "team-a", "x".repeat(253));
        let marker = Marker::new(&owner, "main, \"A\"=1", "backup;%+");
        let value = marker.to_txt_value();
        assert!(
            value
                .split("\" \"")
                .all(|s| s.trim_matches('"').len() <= 255)
        );
        assert_eq!(Marker::parse(&value), Some(marker.clone()));
        assert!(marker.is_owned_by(&owner));
        assert!(!marker.is_owned_by(&Owner::new("other", "team-a", "x".repeat(253))));
        assert!(marker.claims(Some("main, \"A\"=1")));
        assert!(!marker.claims(None));
    }

    #[test]
    fn an_entry_for_the_whole_pair_reads_as_markers_always_did() {
        let owner = Owner::new("prod", "web", "www");
        assert_eq!(
            Marker::new(&owner, "primary", "secondary").to_txt_value(),
            "\"heritage=dnsfailover,owner=prod,resource=web/www,primary=primary,secondary=secondary\""
        );
    }

    #[test]
    fn entries_for_one_side_a_wanted_side_and_a_taken_over_check_round_trip() {
        let owner = Owner::new("cluster-b", "web", "www");
        let mut entry = Marker::empty(&owner);
        entry.set_holds(Failover::Secondary, Some("secondary".into()));
        entry.wants = vec![Failover::Primary];
        entry.ttl = Some(300);
        entry.set_adopted_check(Failover::Secondary, Some("abc-123".into()));
        let parsed = Marker::parse(&entry.to_txt_value()).expect("parses");
        assert_eq!(parsed, entry);
        assert_eq!(parsed.holds(Failover::Primary), None);
        assert_eq!(parsed.holds(Failover::Secondary), Some("secondary"));
        assert_eq!(parsed.role_of(Some("secondary")), Some(Failover::Secondary));
        assert!(parsed.wants(Failover::Primary));
        assert_eq!(parsed.adopted_check(Failover::Secondary), Some("abc-123"));
    }

    #[test]
    fn foreign_txt_values_are_not_markers() {
        assert_eq!(Marker::parse("\"v=spf1 -all\""), None);
        assert_eq!(
            Marker::parse("\"heritage=external-dns,external-dns/owner=x\""),
            None
        );
        assert_eq!(Marker::parse("unquoted"), None);
        assert_eq!(Marker::parse(""), None);
        assert_eq!(
            Marker::parse("\"heritage=dnsfailover,owner=a,resource=b/c\""),
            None,
            "an entry that holds and wants nothing is not one"
        );
        assert_eq!(
            Marker::parse("\"heritage=dnsfailover,owner=a,resource=b/c,wants=left\""),
            None
        );
    }
}
