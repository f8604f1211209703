//! Garbage health checks: checks this owner made (or took over) that no
//! FailoverRecord and no record set uses any more. They cost money every
//! month and nothing removes them: a FailoverRecord deleted while its
//! finalizer was removed by hand, a Route 53 zone deleted under it, a run
//! stopped between creating a check and writing the records of a spec that
//! was then withdrawn.
//!
//! A check is this owner's by its caller reference (which carries the owner
//! id) or by its owner tag (checks taken over with `adoptExisting`). It is
//! garbage only when all of these hold: no record set in any hosted zone of
//! the account refers to it, no calculated check in use counts it (the
//! failback latch counts the primary's check, and the PRIMARY record refers
//! to the latch only), no calculated check of someone else counts it, and it
//! belongs to no FailoverRecord that still exists (by its resource tag, or by
//! the resource hash in its reference).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::core::cost::{self, CheckCost};
use crate::core::ownership::{Owner, TAG_NAME, TAG_OWNER, TAG_RESOURCE};
use crate::route53::{HealthCheck, HealthCheckKind, Tags};

/// A check nothing uses.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Garbage {
    pub id: String,
    /// The FailoverRecord it was made for, when its tags say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Its `Name` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cost: CheckCost,
}

/// The checks of `owner_id` among `checks` that are garbage. `tags`: the
/// tags of the checks (at least of those that may be this owner's);
/// `referenced`: every check id a record set in the account refers to;
/// `live`: the FailoverRecords that exist, as owners with this owner id.
pub fn garbage(
    owner_id: &str,
    checks: &[HealthCheck],
    tags: &BTreeMap<String, Tags>,
    referenced: &BTreeSet<String>,
    live: &[Owner],
) -> Vec<Garbage> {
    let prefix = Owner::owner_id_prefix(owner_id);
    let ours = |check: &HealthCheck| {
        check.caller_reference.starts_with(&prefix)
            || tags
                .get(&check.id)
                .and_then(|t| t.get(TAG_OWNER))
                .is_some_and(|o| o == owner_id)
    };
    let in_use = in_use(checks, referenced, &ours);
    let live_resources: BTreeSet<String> = live.iter().map(Owner::resource).collect();
    let live_prefixes: Vec<String> = live.iter().map(Owner::reference_prefix).collect();
    let mut found: Vec<Garbage> = checks
        .iter()
        .filter_map(|check| {
            let tags = tags.get(&check.id);
            let tag = |key: &str| tags.and_then(|t| t.get(key)).cloned();
            if !ours(check) || in_use.contains(check.id.as_str()) {
                return None;
            }
            let resource = tag(TAG_RESOURCE);
            let belongs_to_live = resource
                .as_ref()
                .is_some_and(|r| live_resources.contains(r))
                || live_prefixes
                    .iter()
                    .any(|p| check.caller_reference.starts_with(p.as_str()));
            (!belongs_to_live).then(|| Garbage {
                id: check.id.clone(),
                resource,
                name: tag(TAG_NAME),
                cost: cost::of(&check.config),
            })
        })
        .collect();
    // A calculated check goes before the checks it counts: Route 53 refuses
    // to delete a check that a calculated check still counts.
    let calculated: BTreeSet<&str> = checks
        .iter()
        .filter(|c| c.config.kind == HealthCheckKind::Calculated)
        .map(|c| c.id.as_str())
        .collect();
    found.sort_by(|a, b| {
        (!calculated.contains(a.id.as_str()), &a.id)
            .cmp(&(!calculated.contains(b.id.as_str()), &b.id))
    });
    found
}

/// The checks in use: those a record set refers to, those a calculated check
/// in use counts (transitively), and those any calculated check that is not
/// this owner's counts (someone else depends on them, and Route 53 would
/// refuse to delete them anyway).
fn in_use<'a>(
    checks: &'a [HealthCheck],
    referenced: &'a BTreeSet<String>,
    ours: &impl Fn(&HealthCheck) -> bool,
) -> BTreeSet<&'a str> {
    let by_id: BTreeMap<&str, &HealthCheck> = checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut used: BTreeSet<&str> = referenced.iter().map(String::as_str).collect();
    let mut pending: Vec<&str> = used.iter().copied().collect();
    pending.extend(
        checks
            .iter()
            .filter(|c| c.config.kind == HealthCheckKind::Calculated && !ours(c))
            .map(|c| c.id.as_str()),
    );
    while let Some(id) = pending.pop() {
        let Some(check) = by_id.get(id) else { continue };
        for child in &check.config.children {
            if used.insert(child.as_str()) {
                pending.push(child.as_str());
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ownership::{caller_reference, health_check_tags};
    use crate::route53::{Failover, HealthCheckConfig, RrType};

    fn check(id: &str, reference: &str) -> HealthCheck {
        HealthCheck {
            id: id.into(),
            caller_reference: reference.into(),
            version: 1,
            config: HealthCheckConfig::http("52.94.236.10", 10),
        }
    }

    #[test]
    fn only_this_owners_checks_that_nothing_uses_are_garbage() {
        let config = HealthCheckConfig::http("52.94.236.10", 10);
        let live = Owner::new("prod", "web", "www");
        let gone = Owner::new("prod", "web", "old");
        let reference = |owner: &Owner| caller_reference(owner, Failover::Primary, &config, 0);
        let checks = vec![
            check("live-used", &reference(&live)),
            check("live-unused", &reference(&live)),
            check("gone-used", &reference(&gone)),
            check("gone-unused", &reference(&gone)),
            check("gone-untagged", &reference(&gone)),
            check("taken-over", "made-in-the-console"),
            check("someone-elses", "made-in-the-console-too"),
            check(
                "other-owner",
                &reference(&Owner::new("staging", "web", "old")),
            ),
        ];
        let mut tags = BTreeMap::new();
        for id in ["live-used", "live-unused"] {
            tags.insert(
                id.to_string(),
                health_check_tags(
                    &live,
                    "Z1",
                    "www.example.com.",
                    &RrType::A,
                    Failover::Primary,
                ),
            );
        }
        for id in ["gone-used", "gone-unused", "taken-over"] {
            tags.insert(
                id.to_string(),
                health_check_tags(
                    &gone,
                    "Z1",
                    "old.example.com.",
                    &RrType::A,
                    Failover::Primary,
                ),
            );
        }
        let referenced: BTreeSet<String> = ["live-used", "gone-used"]
            .into_iter()
            .map(String::from)
            .collect();
        let found = garbage("prod", &checks, &tags, &referenced, &[live]);
        let ids: Vec<&str> = found.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, vec!["gone-untagged", "gone-unused", "taken-over"]);
        assert_eq!(found[0].resource, None, "untagged: known by its reference");
        assert_eq!(found[1].resource.as_deref(), Some("web/old"));
        assert_eq!(found[1].name.as_deref(), Some("old.example.com A primary"));
        assert_eq!(found[1].cost.monthly, 2.75);
    }

    #[test]
    fn a_check_a_calculated_check_in_use_counts_is_in_use_and_latches_go_first() {
        let config = HealthCheckConfig::http("52.94.236.10", 10);
        let gone = Owner::new("prod", "web", "gone");
        let reference = caller_reference(&gone, Failover::Primary, &config, 0);
        let latch = |id: &str, child: &str, reference: &str| HealthCheck {
            id: id.into(),
            caller_reference: reference.into(),
            version: 1,
            config: HealthCheckConfig::latch(child, false),
        };
        let checks = vec![
            // The PRIMARY record uses the latch; the latch counts the check.
            check("behind-a-used-latch", &reference),
            latch(
                "used-latch",
                "behind-a-used-latch",
                &format!("{reference}-l"),
            ),
            // Someone else's calculated check counts one of ours.
            check("counted-by-another", &reference),
            latch("anothers", "counted-by-another", "made-by-hand"),
            // Nothing uses this latch: both go, the latch first.
            check("behind-an-unused-latch", &reference),
            latch(
                "unused-latch",
                "behind-an-unused-latch",
                &format!("{reference}-m"),
            ),
        ];
        let referenced = BTreeSet::from(["used-latch".to_string()]);
        let found = garbage("prod", &checks, &BTreeMap::new(), &referenced, &[]);
        let ids: Vec<&str> = found.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, vec!["unused-latch", "behind-an-unused-latch"]);
    }
}
