//! Route 53's objects as the planner sees them: plain data, no SDK types.
//!
//! The adapters translate to and from these at the boundary and normalise what
//! Route 53 leaves implicit (absent booleans, name escapes), so comparisons in
//! the planner are exact.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A hosted zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// Bare id, without the `/hostedzone/` prefix.
    pub id: String,
    /// Normalised name with the trailing dot.
    pub name: String,
    pub private: bool,
    /// The zone's authoritative name servers (host names, or `address:port`
    /// in tests), as GetHostedZone returns them; empty for a private zone and
    /// wherever the zone was found by name only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name_servers: Vec<String>,
}

/// Strip the `/hostedzone/` prefix Route 53 puts on zone ids in some answers.
pub fn bare_zone_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_string()
}

/// A record type. Types this tool never writes are kept verbatim so that
/// conflicts with them can be reported.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RrType {
    A,
    AAAA,
    CNAME,
    TXT,
    Other(String),
}

impl RrType {
    pub fn parse(s: &str) -> Self {
        match s {
            "A" => Self::A,
            "AAAA" => Self::AAAA,
            "CNAME" => Self::CNAME,
            "TXT" => Self::TXT,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::A => "A",
            Self::AAAA => "AAAA",
            Self::CNAME => "CNAME",
            Self::TXT => "TXT",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for RrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two roles of a failover pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Failover {
    Primary,
    Secondary,
}

impl Failover {
    pub const BOTH: [Failover; 2] = [Failover::Primary, Failover::Secondary];

    /// Route 53's spelling.
    pub fn as_route53(self) -> &'static str {
        match self {
            Self::Primary => "PRIMARY",
            Self::Secondary => "SECONDARY",
        }
    }

    /// Lower-case word used in tags, references and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

impl fmt::Display for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alias target of a record set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasTarget {
    /// Normalised host name, without the trailing dot.
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

/// A resource record set as Route 53 holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSet {
    /// Normalised fully qualified name.
    pub name: String,
    pub rr_type: RrType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<Failover>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    /// Set when the record uses a routing policy other than simple or failover
    /// (weighted, latency, geolocation, ...). This tool never writes those.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_routing: Option<String>,
}

/// What identifies a record set within a zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordKey {
    pub name: String,
    pub rr_type: RrType,
    pub set_identifier: Option<String>,
}

impl RecordSet {
    pub fn key(&self) -> RecordKey {
        RecordKey {
            name: self.name.clone(),
            rr_type: self.rr_type.clone(),
            set_identifier: self.set_identifier.clone(),
        }
    }

    /// Number of resource record values Route 53 counts against the 1,000 limit.
    /// An alias has none; it is counted as one so every change has a cost.
    pub fn value_count(&self) -> usize {
        self.values.len().max(1)
    }

    /// Characters Route 53 counts against the 32,000 limit.
    pub fn value_chars(&self) -> usize {
        let values: usize = self.values.iter().map(String::len).sum();
        values + self.alias.as_ref().map_or(0, |a| a.dns_name.len())
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.rr_type)?;
        if let Some(id) = &self.set_identifier {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// Action of one change in a change batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ChangeAction {
    Create,
    Delete,
    Upsert,
}

impl ChangeAction {
    pub fn as_route53(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Delete => "DELETE",
            Self::Upsert => "UPSERT",
        }
    }

    /// Route 53 counts the values and characters of an UPSERT twice.
    pub fn weight(self) -> usize {
        match self {
            Self::Upsert => 2,
            Self::Create | Self::Delete => 1,
        }
    }
}

/// One change of a change batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub action: ChangeAction,
    pub record: RecordSet,
}

/// Status of a submitted change batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "UPPERCASE")]
pub enum ChangeState {
    Pending,
    InSync,
}

impl ChangeState {
    /// Route 53's spelling: `PENDING`, `INSYNC`.
    pub fn as_route53(self) -> &'static str {
        self.into()
    }

    pub fn from_route53(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A submitted change batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInfo {
    /// Bare id, without the `/change/` prefix.
    pub id: String,
    pub status: ChangeState,
}

/// Type of a health check. Route 53 folds string matching into the type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum HealthCheckKind {
    Http,
    Https,
    HttpStrMatch,
    HttpsStrMatch,
    Tcp,
    /// Healthy while at least `health_threshold` of its child checks are:
    /// the failback latch (see `HealthCheckConfig::latch`).
    Calculated,
    /// CloudWatch and other kinds this tool never creates.
    Other(String),
}

impl HealthCheckKind {
    pub fn parse(s: &str) -> Self {
        match s {
            "HTTP" => Self::Http,
            "HTTPS" => Self::Https,
            "HTTP_STR_MATCH" => Self::HttpStrMatch,
            "HTTPS_STR_MATCH" => Self::HttpsStrMatch,
            "TCP" => Self::Tcp,
            "CALCULATED" => Self::Calculated,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_route53(&self) -> &str {
        match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
            Self::HttpStrMatch => "HTTP_STR_MATCH",
            Self::HttpsStrMatch => "HTTPS_STR_MATCH",
            Self::Tcp => "TCP",
            Self::Calculated => "CALCULATED",
            Self::Other(s) => s,
        }
    }

    pub fn is_https(&self) -> bool {
        matches!(self, Self::Https | Self::HttpsStrMatch)
    }

    pub fn is_http_family(&self) -> bool {
        matches!(
            self,
            Self::Http | Self::Https | Self::HttpStrMatch | Self::HttpsStrMatch
        )
    }
}

/// The settings of a health check, normalised: every optional Route 53 setting
/// this tool manages is explicit, so "absent" and "default" never differ.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckConfig {
    pub kind: HealthCheckKind,
    pub ip_address: Option<String>,
    /// Domain name: the endpoint when `ip_address` is unset, else the Host header.
    pub fqdn: Option<String>,
    pub port: i32,
    /// Set for HTTP(S) checks, unset for TCP.
    pub resource_path: Option<String>,
    /// Set exactly for the `*_STR_MATCH` kinds.
    pub search_string: Option<String>,
    pub request_interval: i32,
    pub failure_threshold: i32,
    pub measure_latency: bool,
    pub inverted: bool,
    pub disabled: bool,
    /// Meaningful for HTTPS kinds only; false otherwise.
    pub enable_sni: bool,
    /// Sorted region names; empty means Route 53's default (all regions).
    pub regions: Vec<String>,
    /// CALCULATED checks only: the checks counted, and how many of them must
    /// be healthy. Empty and 0 for every other kind.
    pub children: Vec<String>,
    pub health_threshold: i32,
}

impl HealthCheckConfig {
    /// The failback latch: a CALCULATED check on the primary's own check.
    /// Following, it needs its one child healthy, so it is exactly as healthy
    /// as the primary; holding, it needs two of its one child, which Route 53
    /// documents as "always unhealthy", so DNS answers with the secondary
    /// whatever the primary does. Both are one UpdateHealthCheck apart, and
    /// the state lives in Route 53, not in the controller.
    pub fn latch(child: &str, hold: bool) -> Self {
        Self {
            kind: HealthCheckKind::Calculated,
            ip_address: None,
            fqdn: None,
            port: 0,
            resource_path: None,
            search_string: None,
            request_interval: 0,
            failure_threshold: 0,
            measure_latency: false,
            inverted: false,
            disabled: false,
            enable_sni: false,
            regions: Vec::new(),
            children: vec![child.to_string()],
            health_threshold: if hold { 2 } else { 1 },
        }
    }

    /// A latch that holds: more healthy children needed than there are.
    pub fn holds(&self) -> bool {
        self.kind == HealthCheckKind::Calculated
            && usize::try_from(self.health_threshold).unwrap_or(0) > self.children.len()
    }

    /// The settings Route 53 cannot change on an existing check. A difference
    /// in any of them means create a new check, repoint the record, delete the old.
    pub fn immutable_part(&self) -> (&HealthCheckKind, bool, i32, bool) {
        (
            &self.kind,
            self.ip_address.is_some(),
            self.request_interval,
            self.measure_latency,
        )
    }

    /// Human summary, such as `HTTP 192.0.2.10:80/index.html every 10s, 3 failures`.
    pub fn summary(&self) -> String {
        if self.kind == HealthCheckKind::Calculated {
            return format!(
                "CALCULATED: {} of [{}] healthy{}",
                self.health_threshold,
                self.children.join(", "),
                if self.holds() {
                    " (holds: always unhealthy)"
                } else {
                    ""
                }
            );
        }
        let endpoint = match (&self.ip_address, &self.fqdn) {
            (Some(ip), Some(host)) => format!("{} (Host: {host})", bracketed(ip)),
            (Some(ip), None) => bracketed(ip),
            (None, Some(host)) => host.clone(),
            (None, None) => "?".to_string(),
        };
        let mut s = format!(
            "{} {endpoint}:{}{} every {}s, {} failures",
            self.kind.as_route53(),
            self.port,
            self.resource_path.as_deref().unwrap_or(""),
            self.request_interval,
            self.failure_threshold
        );
        if let Some(search) = &self.search_string {
            s.push_str(&format!(", expects {search:?}"));
        }
        if self.inverted {
            s.push_str(", inverted");
        }
        if self.disabled {
            s.push_str(", disabled");
        }
        s
    }
}

/// An IPv6 address in brackets, so that a port can follow it unambiguously
/// (`[2001:db8::a]:80`, as in URLs); anything else as it is.
fn bracketed(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

#[cfg(any(test, feature = "testing"))]
impl HealthCheckConfig {
    /// A plain HTTP check of `ip` (port 80, path `/`, every `interval`
    /// seconds, 3 failures), for tests to start from.
    pub fn http(ip: &str, interval: i32) -> Self {
        Self {
            kind: HealthCheckKind::Http,
            ip_address: Some(ip.into()),
            fqdn: None,
            port: 80,
            resource_path: Some("/".into()),
            search_string: None,
            request_interval: interval,
            failure_threshold: 3,
            measure_latency: false,
            inverted: false,
            disabled: false,
            enable_sni: false,
            regions: vec![],
            children: vec![],
            health_threshold: 0,
        }
    }
}

/// A health check as Route 53 holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub id: String,
    pub caller_reference: String,
    /// Incremented by Route 53 on every update; used for optimistic concurrency.
    pub version: i64,
    pub config: HealthCheckConfig,
}

/// Settings an update can remove (reset to Route 53's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ResettableElement {
    FullyQualifiedDomainName,
    Regions,
    ResourcePath,
}

impl ResettableElement {
    pub fn as_route53(self) -> &'static str {
        match self {
            Self::FullyQualifiedDomainName => "FullyQualifiedDomainName",
            Self::Regions => "Regions",
            Self::ResourcePath => "ResourcePath",
        }
    }
}

/// An in-place update of the mutable settings of a health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckUpdate {
    /// The version the update was planned against; Route 53 rejects the
    /// update if the check changed since.
    pub version: i64,
    /// The complete desired settings; the immutable part equals the current one.
    pub config: HealthCheckConfig,
    pub reset: Vec<ResettableElement>,
}

/// The regions Route 53's health checkers run in.
pub const HEALTH_CHECK_REGIONS: [&str; 8] = [
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-west-1",
    "sa-east-1",
    "us-east-1",
    "us-west-1",
    "us-west-2",
];

/// Sorted regions, or none when they hold every one of Route 53's regions:
/// listing all of them and listing none mean the same check, and Route 53
/// answers with the full list for a check created with none. "Every one"
/// rather than "exactly these": a region Route 53 adds later, answered for
/// a check created with none, must not make that check differ from a spec
/// that asks for all.
pub fn normalize_regions(mut regions: Vec<String>) -> Vec<String> {
    regions.sort();
    regions.dedup();
    if HEALTH_CHECK_REGIONS
        .iter()
        .all(|r| regions.iter().any(|have| have == r))
    {
        Vec::new()
    } else {
        regions
    }
}

/// Tags of a Route 53 resource.
pub type Tags = BTreeMap<String, String>;

/// One health checker's latest report on an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthObservation {
    pub region: String,
    pub healthy: bool,
    /// The checker's own words, such as `Success: HTTP Status Code 200, OK`.
    pub report: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_endpoint_is_bracketed_before_its_port() {
        let mut config = HealthCheckConfig::http("2001:db8::a", 10);
        assert!(
            config.summary().starts_with("HTTP [2001:db8::a]:80/ "),
            "{}",
            config.summary()
        );
        config.ip_address = Some("192.0.2.1".into());
        assert!(
            config.summary().starts_with("HTTP 192.0.2.1:80/ "),
            "{}",
            config.summary()
        );
    }

    #[test]
    fn all_regions_mean_the_default() {
        let all: Vec<String> = HEALTH_CHECK_REGIONS
            .iter()
            .rev()
            .map(|r| r.to_string())
            .collect();
        assert!(normalize_regions(all.clone()).is_empty());
        let mut more = all;
        more.push("ap-south-1".into());
        assert!(
            normalize_regions(more).is_empty(),
            "a region Route 53 adds later still means all"
        );
        assert!(normalize_regions(Vec::new()).is_empty());
        assert_eq!(
            normalize_regions(vec![
                "us-west-2".into(),
                "eu-west-1".into(),
                "us-east-1".into()
            ]),
            vec!["eu-west-1", "us-east-1", "us-west-2"]
        );
    }
}
