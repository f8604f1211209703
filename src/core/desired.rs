//! The desired state: a FailoverRecord spec, validated and normalised into the
//! exact Route 53 objects it stands for. No kube or AWS types in here.

use serde::Serialize;

use crate::core::ownership::{self, Owner};
use crate::route53::names;
use crate::route53::{AliasTarget, Failover, HealthCheckConfig, RecordSet, RrType, Zone};

/// How the spec selects its hosted zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ZoneSelector {
    Id(String),
    Name { name: String, private: Option<bool> },
}

impl ZoneSelector {
    /// The zone's id or name, as the request routing knows it.
    pub fn key(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Name { name, .. } => name,
        }
    }
}

impl std::fmt::Display for ZoneSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "hosted zone {id}"),
            Self::Name {
                name,
                private: None,
            } => write!(f, "hosted zone {name}"),
            Self::Name {
                name,
                private: Some(true),
            } => write!(f, "private hosted zone {name}"),
            Self::Name {
                name,
                private: Some(false),
            } => write!(f, "public hosted zone {name}"),
        }
    }
}

/// The record name as written, before the zone is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RecordName {
    /// `@`: the zone apex.
    Apex,
    /// One label (or `*`) below the zone.
    Relative(String),
    /// A normalised fully qualified name.
    Absolute(String),
}

impl RecordName {
    /// The fully qualified name in the zone `zone_name`, or why the name does
    /// not fit that zone.
    pub fn fqdn_in(&self, zone_name: &str) -> Result<String, String> {
        match self {
            Self::Apex => Ok(zone_name.to_string()),
            Self::Relative(label) => Ok(format!("{label}.{zone_name}")),
            Self::Absolute(fqdn) if names::is_within(fqdn, zone_name) => Ok(fqdn.clone()),
            Self::Absolute(fqdn) => Err(format!(
                "{fqdn} is not inside hosted zone {zone_name}; use a name relative to the zone (such as 'www') or a name ending in {}",
                zone_name.trim_end_matches('.')
            )),
        }
    }
}

/// What one side of the pair answers with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum SideTarget {
    /// Canonical, sorted values: IP addresses or one host name.
    Values(Vec<String>),
    Alias(AliasTarget),
}

/// One side of the failover pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredSide {
    pub role: Failover,
    pub set_identifier: String,
    pub target: SideTarget,
    pub health_check: Option<HealthCheckConfig>,
}

/// What the failback latch should do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum LatchWant {
    /// Leave it as Route 53 holds it (a new latch follows).
    #[default]
    Keep,
    /// Hold DNS on the secondary.
    Hold,
    /// Follow the primary's health again.
    Release,
}

/// A validated FailoverRecord, not yet placed in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredRecord {
    pub owner: Owner,
    pub zone: ZoneSelector,
    /// The role to assume for the zone, when the spec names one.
    pub zone_role: Option<String>,
    pub name: RecordName,
    pub rr_type: RrType,
    pub ttl: i64,
    /// The sides this FailoverRecord manages; `None` for a side another
    /// installation manages (`spec.manage`).
    pub primary: Option<DesiredSide>,
    pub secondary: Option<DesiredSide>,
    pub retain_on_delete: bool,
    pub adopt_existing: bool,
    /// `failback: Manual`: the PRIMARY record uses the failback latch (a
    /// CALCULATED check on the primary's check) instead of the check itself.
    pub manual_failback: bool,
    /// What to do with the latch now; decided at run time (by the controller
    /// from health and requests, by `dnsfailover failover/failback`), never
    /// by the spec.
    pub latch: LatchWant,
    /// Things that are valid but will probably not do what the user wants.
    pub warnings: Vec<String>,
}

impl DesiredRecord {
    /// The sides this FailoverRecord manages, primary first.
    pub fn sides(&self) -> Vec<&DesiredSide> {
        [&self.primary, &self.secondary]
            .into_iter()
            .flatten()
            .collect()
    }

    /// One side, when this FailoverRecord manages it.
    pub fn side(&self, role: Failover) -> Option<&DesiredSide> {
        match role {
            Failover::Primary => self.primary.as_ref(),
            Failover::Secondary => self.secondary.as_ref(),
        }
    }

    /// Whether the TTL means anything: a managed side has values, not an alias.
    pub fn ttl_applies(&self) -> bool {
        self.sides()
            .iter()
            .any(|s| matches!(s.target, SideTarget::Values(_)))
    }

    /// Whether it manages both sides (the whole pair, as before `manage`).
    pub fn manages_both(&self) -> bool {
        self.primary.is_some() && self.secondary.is_some()
    }

    /// Place the record in its resolved zone.
    pub fn place(mut self, zone: Zone) -> Result<PlacedRecord, String> {
        let fqdn = self.name.fqdn_in(&zone.name)?;
        for side in [&self.primary, &self.secondary].into_iter().flatten() {
            let SideTarget::Alias(alias) = &side.target else {
                continue;
            };
            if alias.hosted_zone_id == crate::core::validate::CLOUDFRONT_ZONE_ID && zone.private {
                return Err(format!(
                    "spec.{}.alias: {} is a private hosted zone, and Route 53 documents that alias records for a CloudFront distribution can't be created in a private zone (API reference, AliasTarget)",
                    side.role, zone.name
                ));
            }
            if names::normalize(&alias.dns_name) == fqdn {
                self.warnings.push(format!(
                    "spec.{}.alias.dnsName: {} is this record's own name; an alias to itself never resolves to an address",
                    side.role, alias.dns_name
                ));
            }
        }
        // The ownership marker lives at a longer name than the record; a
        // name that fits while its marker does not could never be applied.
        let marker = ownership::marker_name(&fqdn, &self.rr_type);
        for (what, name) in [("the name", &fqdn), ("its ownership marker", &marker)] {
            let length = name.trim_end_matches('.').len();
            if length > names::MAX_NAME_LENGTH {
                return Err(format!(
                    "{what} {name} is {length} characters long and DNS allows {}; dnsfailover needs names of at most {} characters here, because the marker adds {} to the name",
                    names::MAX_NAME_LENGTH,
                    names::MAX_NAME_LENGTH + fqdn.len() - marker.len(),
                    marker.len() - fqdn.len(),
                ));
            }
        }
        Ok(PlacedRecord {
            desired: self,
            zone,
            fqdn,
        })
    }
}

/// A desired record in a known zone: everything the planner needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacedRecord {
    pub desired: DesiredRecord,
    pub zone: Zone,
    pub fqdn: String,
}

impl PlacedRecord {
    /// The record set of one side, without its health check id (which the
    /// planner fills in once it knows the check).
    pub fn record_set(&self, side: &DesiredSide) -> RecordSet {
        let (ttl, values, alias) = match &side.target {
            SideTarget::Values(values) => (Some(self.desired.ttl), values.clone(), None),
            SideTarget::Alias(alias) => (None, Vec::new(), Some(alias.clone())),
        };
        RecordSet {
            name: self.fqdn.clone(),
            rr_type: self.desired.rr_type.clone(),
            set_identifier: Some(side.set_identifier.clone()),
            failover: Some(side.role),
            ttl,
            values,
            alias,
            health_check_id: None,
            other_routing: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::plan::scenarios::{BASE, spec};
    use crate::core::validate::desired_from_spec;
    use crate::route53::Zone;

    use super::*;

    fn place(name: &str) -> Result<PlacedRecord, String> {
        let mut s = spec(BASE);
        s.name = format!("{name}.example.com");
        let zone = Zone {
            id: "Z1".into(),
            name: "example.com.".into(),
            private: false,
            name_servers: Vec::new(),
        };
        desired_from_spec(Owner::new("test", "default", "web"), &s)
            .map_err(|e| e.to_string())?
            .place(zone)
    }

    #[test]
    fn a_name_whose_marker_would_not_fit_is_refused_before_any_write() {
        // 4 labels of 59 characters: 251 characters with the zone, valid in
        // DNS, but the marker name would be 266.
        let label = "a".repeat(59);
        let long = [label.as_str(); 4].join(".");
        let error = place(&long).expect_err("too long");
        assert!(error.contains("ownership marker"), "{error}");
        assert!(error.contains("at most 238 characters"), "{error}");

        let fits = [
            label.as_str(),
            label.as_str(),
            label.as_str(),
            "a".repeat(46).as_str(),
        ]
        .join(".");
        let placed = place(&fits).expect("fits");
        assert_eq!(placed.fqdn.trim_end_matches('.').len(), 238);
    }
}
