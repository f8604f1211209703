//! The Route 53 port: the one narrow interface through which everything talks to
//! Route 53, and its implementations.
//!
//! - [`aws::AwsRoute53`]: the AWS SDK adapter (real Route 53 or an emulator).
//! - `fake::FakeRoute53` (with the `testing` feature): in memory, following
//!   Route 53's rules, with faults.
//! - [`resilient::Resilient`]: wraps either one with the shared rate limiter,
//!   retries with backoff and jitter, and per-operation call counts.
//!
//! Calls are page-sized on purpose: every method is exactly one Route 53 request,
//! so rate limiting, retries and call counts all work per request.

pub mod aws;
mod error;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
mod forward;
pub(crate) use forward::forward_route53;
mod limiter;
pub mod names;
pub mod resilient;
pub mod routed;
mod stats;
mod types;

use std::collections::BTreeMap;
use std::future::Future;

pub use error::{ErrorKind, Operation, Route53Error};
pub use limiter::{Backoff, RateBudget};
pub use stats::{CallStats, OperationStats};
pub use types::*;

pub type Result<T, E = Route53Error> = std::result::Result<T, E>;

/// Where the next page of a record listing starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCursor {
    pub name: String,
    pub rr_type: String,
    pub set_identifier: Option<String>,
}

/// One page of a listing and where the next one starts, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// Most resource ids ListTagsForResources accepts in one request.
pub const TAGS_PER_REQUEST: usize = 10;

/// Where a FailoverRecord's requests go, for a port that serves several AWS
/// accounts ([`routed::Routed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Its hosted zone, by id or by name.
    pub zone: String,
    /// The caller-reference prefix of its health checks.
    pub resource_prefix: String,
    /// The role its spec names (`hostedZone.roleArn`), if any.
    pub role: Option<String>,
}

/// Ports that count their requests.
pub trait Counted {
    fn stats(&self) -> &CallStats;
}

/// One Route 53 request per method.
pub trait Route53: Send + Sync {
    /// Learn where a FailoverRecord's requests go, before they are made.
    /// Only a port over several accounts needs to; the others ignore it.
    /// True when the route adds an account the port did not serve before:
    /// listings of the account's checks made earlier are missing its own.
    fn route(&self, _route: &Route) -> bool {
        false
    }

    fn get_hosted_zone(&self, id: &str) -> impl Future<Output = Result<Zone>> + Send;

    /// One page of the account's hosted zones, from `marker`.
    fn list_hosted_zones_page(
        &self,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<Page<Zone, String>>> + Send;

    /// Zones named exactly `name` (normalised), public and private.
    fn list_hosted_zones_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<Zone>>> + Send;

    /// Up to 300 record sets, in Route 53's order, from `start`.
    fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> impl Future<Output = Result<Page<RecordSet, RecordCursor>>> + Send;

    /// Submit one atomic change batch.
    fn change_record_sets(
        &self,
        zone_id: &str,
        changes: &[Change],
    ) -> impl Future<Output = Result<ChangeInfo>> + Send;

    fn get_change(&self, id: &str) -> impl Future<Output = Result<ChangeInfo>> + Send;

    /// One page of the account's health checks, from `marker`.
    fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<Page<HealthCheck, String>>> + Send;

    /// Idempotent per `caller_reference`: the same reference and settings
    /// return the existing check instead of creating another one.
    fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> impl Future<Output = Result<HealthCheck>> + Send;

    fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> impl Future<Output = Result<HealthCheck>> + Send;

    fn delete_health_check(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// The latest report of every health checker.
    fn get_health_check_status(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<HealthObservation>>> + Send;

    /// Tags of up to [`TAGS_PER_REQUEST`] health checks.
    fn list_health_check_tags(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Tags>>> + Send;

    /// Add or overwrite `add`, remove `remove`.
    fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Every record set of a zone, page after page, each once. (A page starts at
/// the cursor's record; an emulator that ignores the set identifier in the
/// cursor repeats records at a page boundary, so repeats are dropped.)
pub async fn list_all_record_sets<R: Route53>(r53: &R, zone_id: &str) -> Result<Vec<RecordSet>> {
    let mut all = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<RecordCursor> = None;
    loop {
        let page = r53.list_record_sets_page(zone_id, cursor.as_ref()).await?;
        all.extend(page.items.into_iter().filter(|r| seen.insert(r.key())));
        match page.next {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            Some(next) => {
                return Err(Route53Error::new(
                    Operation::ListResourceRecordSets,
                    ErrorKind::Other,
                    format!(
                        "listing of zone {zone_id} did not advance past {}",
                        next.name
                    ),
                ));
            }
            None => return Ok(all),
        }
    }
}

/// Every hosted zone of the account, page after page.
pub async fn list_all_hosted_zones<R: Route53>(r53: &R) -> Result<Vec<Zone>> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = r53.list_hosted_zones_page(marker.as_deref()).await?;
        all.extend(page.items);
        match page.next {
            Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
            Some(next) => {
                return Err(Route53Error::new(
                    Operation::ListHostedZones,
                    ErrorKind::Other,
                    format!("hosted zone listing did not advance past marker {next}"),
                ));
            }
            None => return Ok(all),
        }
    }
}

/// Every health check of the account, page after page.
pub async fn list_all_health_checks<R: Route53>(r53: &R) -> Result<Vec<HealthCheck>> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = r53.list_health_checks_page(marker.as_deref()).await?;
        all.extend(page.items);
        match page.next {
            Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
            Some(next) => {
                return Err(Route53Error::new(
                    Operation::ListHealthChecks,
                    ErrorKind::Other,
                    format!("health check listing did not advance past marker {next}"),
                ));
            }
            None => return Ok(all),
        }
    }
}

/// Tags of any number of health checks, [`TAGS_PER_REQUEST`] per request.
pub async fn list_all_health_check_tags<R: Route53>(
    r53: &R,
    ids: &[String],
) -> Result<BTreeMap<String, Tags>> {
    let mut all = BTreeMap::new();
    for chunk in ids.chunks(TAGS_PER_REQUEST) {
        all.extend(r53.list_health_check_tags(chunk).await?);
    }
    Ok(all)
}
