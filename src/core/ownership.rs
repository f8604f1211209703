//! How dnsfailover recognises what it owns in Route 53, across restarts.
//!
//! - **Record sets** cannot carry tags, so every managed name/type has an
//!   ownership marker: a TXT record at `_dnsfailover-<type>.<name>` with one
//!   entry per owner, each naming the owner id, the FailoverRecord and the
//!   sides (by set identifier) it holds ([`Marker`]). A pair managed from one
//!   place has one entry holding both sides; a pair split across two
//!   installations (`spec.manage`) has one entry per side. The marker is
//!   written in the same atomic change batch as the records, so records and
//!   marker always exist together. Record sets no entry holds are never
//!   modified, unless the spec opts into adoption.
//! - **Health checks** are found by their caller reference, which Route 53
//!   stores atomically with the check: `df1-<owner>-<resource>-<role>-<config>`
//!   (hashes). It is deterministic, so a retried CreateHealthCheck returns the
//!   check a lost response already created, and a restarted process finds it by
//!   prefix. Tags (`Name`, owner, resource, role) are for people and audits;
//!   the hosted-zone tag also says where the check's record sets are, so a
//!   run finds what a FailoverRecord left in another zone (after its
//!   `hostedZone` changed) without reading every zone of the account.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::route53::{Failover, HealthCheckConfig, RrType, Tags};

mod marker;

pub use marker::{MARKER_TTL, Marker, record_of};

/// Marker value `heritage` and tag namespace.
pub const HERITAGE: &str = "dnsfailover";
const REFERENCE_VERSION: &str = "df1";
/// Route 53 limits a caller reference to 64 characters.
const MAX_CALLER_REFERENCE: usize = 64;
/// Route 53 limits a tag value to 256 characters.
const MAX_TAG_VALUE: usize = 256;

pub const TAG_NAME: &str = "Name";
pub const TAG_OWNER: &str = "dnsfailover.io/owner";
pub const TAG_RESOURCE: &str = "dnsfailover.io/resource";
pub const TAG_ROLE: &str = "dnsfailover.io/role";
pub const TAG_ZONE: &str = "dnsfailover.io/hosted-zone";

/// Who owns a set of Route 53 objects: an owner id (one per controller
/// installation or CLI user, so that several can share a zone) and the
/// FailoverRecord, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub owner_id: String,
    pub namespace: String,
    pub name: String,
}

impl Owner {
    pub fn new(
        owner_id: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            owner_id: owner_id.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// `namespace/name`.
    pub fn resource(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Caller-reference prefix shared by every health check of this owner id.
    pub fn owner_id_prefix(owner_id: &str) -> String {
        format!("{REFERENCE_VERSION}-{}-", short_hash(owner_id, 8))
    }

    /// Caller-reference prefix shared by the health checks of this resource.
    pub fn reference_prefix(&self) -> String {
        format!(
            "{}{}-",
            Self::owner_id_prefix(&self.owner_id),
            short_hash(&self.resource(), 16)
        )
    }

    /// The part of a caller reference that names owner id and resource (what
    /// [`Self::reference_prefix`] gives), to look checks up by resource.
    pub fn resource_part(caller_reference: &str) -> Option<&str> {
        let mut dashes = caller_reference.match_indices('-').map(|(i, _)| i);
        let third = dashes.nth(2)?;
        Some(&caller_reference[..=third])
    }

    /// The role of a health check if this resource created it.
    pub fn role_of_check(&self, caller_reference: &str) -> Option<Failover> {
        role_after_prefix(caller_reference, &self.reference_prefix())
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

pub(crate) fn role_after_prefix(caller_reference: &str, prefix: &str) -> Option<Failover> {
    let rest = caller_reference.strip_prefix(prefix)?;
    match rest.split('-').next()? {
        "p" => Some(Failover::Primary),
        "s" => Some(Failover::Secondary),
        _ => None,
    }
}

fn short_hash(input: &str, hex_chars: usize) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..hex_chars].to_string()
}

/// The caller reference for creating a health check. `attempt` is 0 normally;
/// Route 53 refuses a reference used by a deleted check for some days, and then
/// the next attempt number gives a fresh one.
pub fn caller_reference(
    owner: &Owner,
    role: Failover,
    config: &HealthCheckConfig,
    attempt: u32,
) -> String {
    let role = match role {
        Failover::Primary => "p",
        Failover::Secondary => "s",
    };
    // Deterministic for given settings, which is all a retried create needs;
    // existing checks are found by the prefix, whatever the suffix.
    let config = serde_json::to_string(config).unwrap_or_default();
    let mut reference = format!(
        "{}{role}-{}",
        owner.reference_prefix(),
        short_hash(&config, 12)
    );
    if attempt > 0 {
        reference.push_str(&format!("-r{attempt}"));
    }
    reference.truncate(MAX_CALLER_REFERENCE);
    reference
}

/// The caller reference of the failback latch: `<resource prefix>l-<child>`.
/// It names the child it is created with (not whether it holds: a latch is
/// always created following and made to hold by an update), so a retried
/// create returns the latch a lost answer already made.
pub fn latch_reference(owner: &Owner, child: &str, attempt: u32) -> String {
    let mut reference = format!("{}l-{}", owner.reference_prefix(), short_hash(child, 12));
    if attempt > 0 {
        reference.push_str(&format!("-r{attempt}"));
    }
    reference.truncate(MAX_CALLER_REFERENCE);
    reference
}

/// Whether a caller reference is a latch of the resource with this prefix.
pub(crate) fn is_latch_after_prefix(caller_reference: &str, prefix: &str) -> bool {
    caller_reference
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with("l-"))
}

/// Tags of the failback latch.
pub fn latch_tags(owner: &Owner, zone_id: &str, fqdn: &str, rr_type: &RrType) -> Tags {
    let mut tags = health_check_tags(owner, zone_id, fqdn, rr_type, Failover::Primary);
    let name = format!("{} {rr_type} failback latch", fqdn.trim_end_matches('.'));
    tags.insert(TAG_NAME.into(), truncate(&name, MAX_TAG_VALUE));
    tags.insert(TAG_ROLE.into(), "latch".into());
    tags
}

/// Tags for a health check, so that people (and audits) can tell what it is,
/// and runs can tell which hosted zone holds the records that use it.
pub fn health_check_tags(
    owner: &Owner,
    zone_id: &str,
    fqdn: &str,
    rr_type: &RrType,
    role: Failover,
) -> Tags {
    let mut tags = Tags::new();
    let name = format!("{} {rr_type} {role}", fqdn.trim_end_matches('.'));
    tags.insert(TAG_NAME.into(), truncate(&name, MAX_TAG_VALUE));
    tags.insert(TAG_OWNER.into(), truncate(&owner.owner_id, MAX_TAG_VALUE));
    tags.insert(
        TAG_RESOURCE.into(),
        truncate(&owner.resource(), MAX_TAG_VALUE),
    );
    tags.insert(TAG_ROLE.into(), role.as_str().into());
    tags.insert(TAG_ZONE.into(), truncate(zone_id, MAX_TAG_VALUE));
    tags
}

/// Whether a check's tags (as [`health_check_tags`] wrote them) say it is
/// `owner`'s: its owner id and its FailoverRecord.
pub fn tagged_for(tags: &Tags, owner: &Owner) -> bool {
    tags.get(TAG_OWNER) == Some(&truncate(&owner.owner_id, MAX_TAG_VALUE))
        && tags.get(TAG_RESOURCE) == Some(&truncate(&owner.resource(), MAX_TAG_VALUE))
}

/// The hosted zone a check's tags say its record sets are in.
pub fn zone_of(tags: &Tags) -> Option<&str> {
    tags.get(TAG_ZONE)
        .map(String::as_str)
        .filter(|z| !z.is_empty())
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Name of the ownership marker of `fqdn`/`rr_type`.
pub fn marker_name(fqdn: &str, rr_type: &RrType) -> String {
    format!(
        "_{HERITAGE}-{}.{fqdn}",
        rr_type.as_str().to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HealthCheckConfig {
        HealthCheckConfig::http("192.0.2.10", 10)
    }

    #[test]
    fn caller_reference_is_deterministic_and_identifies_owner_and_role() {
        let owner = Owner::new("prod", "web", "examplefailover");
        let a = caller_reference(&owner, Failover::Primary, &config(), 0);
        assert_eq!(a, caller_reference(&owner, Failover::Primary, &config(), 0));
        assert!(a.len() <= 64, "{a}");
        assert_eq!(owner.role_of_check(&a), Some(Failover::Primary));
        let s = caller_reference(&owner, Failover::Secondary, &config(), 2);
        assert!(s.ends_with("-r2"));
        assert_eq!(owner.role_of_check(&s), Some(Failover::Secondary));

        let other = Owner::new("prod", "web", "other");
        assert_eq!(other.role_of_check(&a), None);
        let other_install = Owner::new("staging", "web", "examplefailover");
        assert_eq!(other_install.role_of_check(&a), None);
        assert!(a.starts_with(&Owner::owner_id_prefix("prod")));
    }

    #[test]
    fn caller_reference_changes_with_config() {
        let owner = Owner::new("prod", "web", "x");
        let mut changed = config();
        changed.request_interval = 30;
        assert_ne!(
            caller_reference(&owner, Failover::Primary, &config(), 0),
            caller_reference(&owner, Failover::Primary, &changed, 0)
        );
    }

    #[test]
    fn tags_name_the_record_and_owner() {
        let owner = Owner::new("prod", "web", "examplefailover");
        let tags = health_check_tags(
            &owner,
            "Z1",
            "examplefailover.example.com.",
            &RrType::A,
            Failover::Primary,
        );
        assert_eq!(tags[TAG_NAME], "examplefailover.example.com A primary");
        assert_eq!(tags[TAG_RESOURCE], "web/examplefailover");
        assert_eq!(tags[TAG_OWNER], "prod");
        assert!(tagged_for(
            &tags,
            &Owner::new("prod", "web", "examplefailover")
        ));
        assert!(!tagged_for(&tags, &Owner::new("prod", "web", "other")));
        assert!(!tagged_for(
            &tags,
            &Owner::new("staging", "web", "examplefailover")
        ));
        assert_eq!(tags[TAG_ROLE], "primary");
        assert_eq!(zone_of(&tags), Some("Z1"));
        let reference = caller_reference(&owner, Failover::Primary, &config(), 0);
        assert_eq!(
            Owner::resource_part(&reference),
            Some(owner.reference_prefix().as_str())
        );
    }
}
