//! Why reconciling one FailoverRecord failed: one error type with a fixed
//! category, shared by the CLI and the controller.

use serde::Serialize;

use crate::core::desired::ZoneSelector;
use crate::core::plan::Conflict;
use crate::core::report::{Category, Problem};
use crate::route53::{ErrorKind, Route53Error, Zone};

/// Why reconciling one FailoverRecord failed, with a fixed category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum ReconcileError {
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] crate::api::InvalidSpec),
    #[error("{selector} not found in this AWS account")]
    ZoneNotFound { selector: ZoneSelector },
    #[error("{}", describe_ambiguous(.name, .zones))]
    ZoneAmbiguous { name: String, zones: Vec<Zone> },
    #[error("spec.name: {0}")]
    NameOutsideZone(String),
    #[error("{}", describe_conflicts(.0))]
    Conflict(Vec<Conflict>),
    #[error("{0}")]
    Route53(#[from] Route53Error),
    #[error("{0}")]
    Oversized(String),
    /// A Service or Ingress the spec refers to has no load balancer address (yet).
    #[error("{0}")]
    TargetNotReady(String),
    /// Record sets were removed and Route 53 has not applied the change
    /// everywhere yet; their health checks go once it has.
    #[error(
        "waiting for Route 53 change {change_id} to be INSYNC before deleting the health checks the removed record sets used"
    )]
    AwaitingChange { change_id: String },
}

/// Which zones share the name, and the hint that tells them apart: private
/// only helps when exactly one of them is of the kind asked for.
fn describe_ambiguous(name: &str, zones: &[Zone]) -> String {
    let kind = |z: &Zone| if z.private { "private" } else { "public" };
    let listed: Vec<String> = zones
        .iter()
        .map(|z| format!("{} ({})", z.id, kind(z)))
        .collect();
    let private = zones.iter().filter(|z| z.private).count();
    let hint = if private == 1 && zones.len() - private == 1 {
        "set hostedZone.private (true or false) to choose one, or select the zone by id (hostedZone.id)"
    } else if private == 1 || zones.len() - private == 1 {
        "select the zone by id (hostedZone.id); hostedZone.private can pick out the only zone of its kind"
    } else {
        "select the zone by id (hostedZone.id)"
    };
    format!(
        "{} hosted zones are named {name}: {}; {hint}",
        zones.len(),
        listed.join(", ")
    )
}

fn describe_conflicts(conflicts: &[Conflict]) -> String {
    let parts: Vec<&str> = conflicts.iter().map(|c| c.message.as_str()).collect();
    parts.join("; ")
}

impl ReconcileError {
    /// A fixed, machine-readable category: used for condition reasons, metric
    /// labels and exit codes, never free text.
    pub fn category(&self) -> Category {
        match self {
            Self::InvalidSpec(_) | Self::NameOutsideZone(_) | Self::Oversized(_) => {
                Category::InvalidSpec
            }
            Self::TargetNotReady(_) => Category::TargetNotReady,
            Self::AwaitingChange { .. } => Category::ChangesPending,
            Self::ZoneNotFound { .. } | Self::ZoneAmbiguous { .. } => Category::HostedZoneNotFound,
            Self::Conflict(_) => Category::RecordConflict,
            Self::Route53(e) => match e.kind {
                ErrorKind::Throttled => Category::Route53Throttled,
                ErrorKind::Timeout | ErrorKind::Network | ErrorKind::ServerError => {
                    Category::Route53Unavailable
                }
                ErrorKind::Credentials => Category::CredentialsMissing,
                ErrorKind::AccessDenied => Category::AccessDenied,
                ErrorKind::LimitExceeded => Category::Route53LimitExceeded,
                ErrorKind::InvalidChangeBatch | ErrorKind::InvalidInput => {
                    Category::Route53Rejected
                }
                _ => Category::Route53Error,
            },
        }
    }

    /// The error as status shows it.
    pub fn problem(&self) -> Problem {
        Problem::new(self.category(), self)
    }

    /// Worth retrying without a spec change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Route53(e) => !matches!(e.kind, ErrorKind::InvalidInput),
            Self::ZoneNotFound { .. }
            | Self::Conflict(_)
            | Self::TargetNotReady(_)
            | Self::AwaitingChange { .. } => true,
            _ => false,
        }
    }

    /// Only a change of the spec can help: retrying the same spec fails the
    /// same way.
    pub fn needs_spec_change(&self) -> bool {
        matches!(
            self,
            Self::InvalidSpec(_) | Self::NameOutsideZone(_) | Self::Oversized(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(id: &str, private: bool) -> Zone {
        Zone {
            id: id.into(),
            name: "example.com.".into(),
            private,
            name_servers: Vec::new(),
        }
    }

    #[test]
    fn an_ambiguous_zone_hint_fits_the_zones_found() {
        let message = |zones: Vec<Zone>| {
            ReconcileError::ZoneAmbiguous {
                name: "example.com.".into(),
                zones,
            }
            .to_string()
        };
        let both_public = message(vec![zone("Z1", false), zone("Z2", false)]);
        assert!(!both_public.contains("private"), "{both_public}");
        assert!(
            both_public.contains("Z1 (public), Z2 (public)"),
            "{both_public}"
        );
        assert!(
            both_public.contains("select the zone by id"),
            "{both_public}"
        );
        let mixed = message(vec![zone("Z1", false), zone("Z2", true)]);
        assert!(mixed.contains("set hostedZone.private"), "{mixed}");
    }
}
