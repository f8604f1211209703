//! The `FailoverRecord` v1alpha1 spec: what a user writes.
//!
//! Doc comments on fields become `kubectl explain` text, so they are written for
//! the person reading the manifest. Validation that the API server can enforce
//! lives here too, as schema constraints and CEL rules; `crate::core::validate` only
//! adds what needs knowledge the schema cannot have (the hosted zone's name).
//!
//! Long because it is the whole v1alpha1 spec: every field with its
//! `kubectl explain` text and the CEL rules that hold it, in one place.

// Each `printcolumn(...)` repeats `type_ = "string"`; clippy reads the
// derive's attribute list as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use kube::core::{Message, Rule};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::FailoverRecordStatus;

/// Desired DNS failover for one name: a PRIMARY and a SECONDARY Route 53 failover
/// record set, and a health check that decides which one DNS answers with.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dnsfailover.io",
    version = "v1alpha1",
    kind = "FailoverRecord",
    plural = "failoverrecords",
    singular = "failoverrecord",
    shortname = "fr",
    category = "dns",
    namespaced,
    status = "FailoverRecordStatus",
    derive = "PartialEq",
    doc = "FailoverRecord declares a Route 53 DNS failover pair (PRIMARY and SECONDARY record sets) and the health check that drives it.",
    printcolumn(
        name = "FQDN",
        type_ = "string",
        json_path = ".status.fqdn",
        description = "Fully qualified record name"
    ),
    printcolumn(
        name = "Type",
        type_ = "string",
        json_path = ".spec.type",
        description = "Record type"
    ),
    printcolumn(
        name = "Active",
        type_ = "string",
        json_path = ".status.active",
        description = "Which side Route 53 answers with"
    ),
    printcolumn(
        name = "Primary",
        type_ = "string",
        json_path = ".status.primary.health",
        description = "Route 53's view of the primary's health"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Route 53 matches the spec"
    ),
    printcolumn(
        name = "Secondary",
        type_ = "string",
        json_path = ".status.secondary.health",
        description = "Route 53's view of the secondary's health, when it has a check",
        priority = 1
    ),
    printcolumn(
        name = "Failback",
        type_ = "string",
        json_path = ".status.failback.state",
        description = "With failback: Manual, whether the latch follows the primary, holds, or waits for approval",
        priority = 1
    ),
    printcolumn(
        name = "Manage",
        type_ = "string",
        json_path = ".spec.manage",
        description = "The sides this FailoverRecord manages",
        priority = 1
    ),
    printcolumn(
        name = "Zone",
        type_ = "string",
        json_path = ".status.hostedZoneId",
        description = "The hosted zone's id",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.primary) || !has(self.secondary) || (has(self.primary.setIdentifier) ? self.primary.setIdentifier : 'primary') != (has(self.secondary.setIdentifier) ? self.secondary.setIdentifier : 'secondary')")
        .message("primary.setIdentifier and secondary.setIdentifier must differ (they default to 'primary' and 'secondary')")
        .field_path(".secondary.setIdentifier"),
    validation = Rule::new("!has(self.primary) || has(self.primary.healthCheck) || (has(self.primary.alias) && self.primary.alias.evaluateTargetHealth) || has(self.primary.serviceRef) || has(self.primary.ingressRef) || has(self.primary.gatewayRef)")
        .message("primary.healthCheck is required: Route 53 rejects a PRIMARY failover record without a health check unless it is an alias target with evaluateTargetHealth: true")
        .field_path(".primary.healthCheck"),
    validation = managed_side("primary", "Secondary"),
    validation = managed_side("secondary", "Primary"),
    validation = unmanaged_side("primary", "Secondary"),
    validation = unmanaged_side("secondary", "Primary"),
    validation = addresses_match_type("primary"),
    validation = addresses_match_type("secondary"),
    validation = cname_target("primary"),
    validation = cname_target("secondary"),
    validation = Rule::new("!has(self.failback) || self.failback != 'Manual' || (has(self.primary) && has(self.primary.healthCheck))")
        .message("failback: Manual needs primary.healthCheck (so manage Both or Primary): the failback latch follows that check, and approval needs it to tell that the primary is healthy again")
        .field_path(".failback"),
    validation = cname_host_name("primary"),
    validation = cname_host_name("secondary"),
    validation = Rule::new("self.type != 'CNAME' || self.name != '@'")
        .message("a CNAME record cannot be at the zone apex ('@'); use an alias target with type A or AAAA instead")
        .field_path(".name"),
    // A name with a dot is fully qualified and must end in the zone's name;
    // both sides are compared with and without the trailing dot. A zone given
    // by id is only known to the controller, which checks it there.
    validation = Rule::new("!has(self.hostedZone.name) || !self.name.contains('.') || [self.name.lowerAscii(), self.name.lowerAscii() + '.'].exists(n, [self.hostedZone.name.lowerAscii(), self.hostedZone.name.lowerAscii() + '.'].exists(z, n == z || n.endsWith('.' + z)))")
        .message(kube::core::Message::Expression("'name ' + self.name + ' is not inside hostedZone.name ' + self.hostedZone.name + ': use a name relative to the zone (such as www) or a fully qualified name that ends in ' + self.hostedZone.name".into()))
        .field_path(".name")
)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecordSpec {
    /// The Route 53 hosted zone that holds the records. Immutable: to move a
    /// record to another zone, create a new FailoverRecord.
    #[x_kube(validation = Rule::new("self == oldSelf").message("hostedZone is immutable; create a new FailoverRecord for another zone"))]
    pub hosted_zone: HostedZoneRef,

    /// Record name. Either a single label relative to the zone (`www`, `*` for a
    /// wildcard, `@` for the zone apex) or a fully qualified name inside the zone
    /// (`www.example.com` or `www.example.com.`).
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(format!("self.matches('^(@|[*]|([*][.])?{DNS_NAME}[.]?)$')"))
        .message(Message::Expression(format!("'name ' + self + ' is not a record name: use one label relative to the zone (www, * for a wildcard, @ for the apex) or a name inside the zone; {DNS_NAME_WORDS}'"))))]
    pub name: String,

    /// Record type. `A` and `AAAA` take IP addresses, `CNAME` takes one host name.
    /// An alias target works with `A` and `AAAA`.
    #[serde(rename = "type", default)]
    pub record_type: RecordType,

    /// Time to live of the record sets, in seconds. Ignored for alias targets,
    /// whose TTL is the target's. 60 is what AWS recommends for failover.
    #[serde(default = "default_ttl")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub ttl: i64,

    /// Which sides of the pair this FailoverRecord manages. `Both` (the
    /// default): the PRIMARY and the SECONDARY. `Primary` or `Secondary`:
    /// that side only, with its health check, while another installation
    /// (another cluster, with another owner id) manages the other side of
    /// the same name and type; the other side is shown read-only in status.
    #[serde(default)]
    pub manage: Manage,

    /// The endpoint Route 53 answers with while it is healthy. Required
    /// unless `manage` is `Secondary`, and not allowed then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<Target>,

    /// The endpoint Route 53 answers with when the primary is unhealthy.
    /// Required unless `manage` is `Primary`, and not allowed then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<Target>,

    /// What happens in Route 53 when this FailoverRecord is deleted: `Delete`
    /// removes the record sets and then the health checks; `Retain` leaves them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over record sets with this name and type that already exist and were
    /// not created by dnsfailover (for example, made in the console). Without
    /// this, such records are reported as a conflict and left untouched.
    #[serde(default)]
    pub adopt_existing: bool,

    /// What happens when the primary recovers after a failover. `Automatic`
    /// (the default): Route 53 answers with the primary again as soon as its
    /// health check passes. `Manual`: DNS stays on the secondary until a
    /// person approves (`kubectl annotate failoverrecord NAME
    /// dnsfailover.io/request=failback` or `dnsfailover failback -f FILE`), so
    /// a flapping primary does not send users back and forth; and
    /// `dnsfailover.io/request=failover` (or `dnsfailover failover -f FILE`)
    /// holds DNS on the secondary for maintenance. Manual adds one CALCULATED
    /// health check (the latch) that the PRIMARY record uses; it needs
    /// `primary.healthCheck`.
    #[serde(default)]
    pub failback: Failback,
}

/// Whether DNS returns to the primary by itself after a failover.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Failback {
    /// Route 53 answers with the primary as soon as it is healthy again.
    #[default]
    Automatic,
    /// DNS stays on the secondary until failback is approved.
    Manual,
}

fn default_ttl() -> i64 {
    60
}

/// CEL rule: a side the FailoverRecord manages must be described. `other`
/// is the `manage` value under which this side belongs to someone else.
fn managed_side(side: &str, other: &str) -> Rule {
    Rule::new(format!("self.manage == '{other}' || has(self.{side})"))
        .message(format!("{side} is required unless manage is {other}").as_str())
        .field_path(format!(".{side}"))
}

/// CEL rule: a side another installation manages is not described here, so
/// that nobody mistakes it for something this FailoverRecord writes.
fn unmanaged_side(side: &str, other: &str) -> Rule {
    Rule::new(format!("self.manage != '{other}' || !has(self.{side})"))
        .message(
            format!(
                "manage is {other}: the {side} side belongs to another installation and is shown read-only in status; remove spec.{side}"
            )
            .as_str(),
        )
        .field_path(format!(".{side}"))
}

/// Most addresses one side may list (the schema's maxItems).
const MAX_ADDRESSES: usize = 100;

/// One DNS label, as a CEL regular expression (RE2; `[.]` rather than an
/// escaped dot, which would need escaping twice).
const DNS_LABEL: &str = "[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?";
/// Dot-separated labels.
const DNS_NAME: &str = "[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?([.][A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*";
/// What [`DNS_NAME`] allows, in words, for messages (no regular expression
/// reaches a person). No single quotes: it goes inside a CEL string.
const DNS_NAME_WORDS: &str = "labels are letters, digits, hyphens and underscores (no hyphen at either end), at most 63 characters each, separated by dots; use punycode (xn--...) for international names";

/// CEL rule on a host-name field: a DNS name, and the message names the
/// field and the value.
fn dns_name_rule(field: &str) -> Rule {
    debug_assert!(DNS_NAME.starts_with(DNS_LABEL));
    Rule::new(format!("self.matches('^{DNS_NAME}[.]?$')")).message(Message::Expression(format!(
        "'{field} ' + self + ' is not a valid DNS name: {DNS_NAME_WORDS}'"
    )))
}

/// CEL rule: the addresses of one side must be IPs of the family the record type
/// needs. Written once and applied to both sides so the message names the field,
/// and the first wrong address by index and value.
fn addresses_match_type(side: &str) -> Rule {
    let wrong = format!(
        "self.{side}.addresses.filter(a, !isIP(a) || ip(a).family() != (self.type == 'A' ? 4 : 6))[0]"
    );
    // The index is looked up in a literal list of its digits: the
    // apiserver estimates `string(int)` as unbounded and refuses the CRD.
    let digits: Vec<String> = (0..MAX_ADDRESSES).map(|i| format!("'{i}'")).collect();
    let digits = digits.join(",");
    Rule::new(format!(
        "!has(self.{side}) || !has(self.{side}.addresses) || (self.type == 'A' && self.{side}.addresses.all(a, isIP(a) && ip(a).family() == 4)) || (self.type == 'AAAA' && self.{side}.addresses.all(a, isIP(a) && ip(a).family() == 6)) || self.type == 'CNAME'"
    ))
    .message(Message::Expression(format!(
        "'{side}.addresses[' + [{digits}][self.{side}.addresses.indexOf({wrong})] + '] ' + {wrong} + ' is not an ' + (self.type == 'A' ? 'IPv4 address: type A takes IPv4 addresses' : 'IPv6 address: type AAAA takes IPv6 addresses')"
    )))
    .field_path(format!(".{side}.addresses"))
}

/// CEL rule: the host name of a CNAME side is a DNS name.
fn cname_host_name(side: &str) -> Rule {
    let valid = format!("a.matches('^{DNS_NAME}[.]?$')");
    Rule::new(format!(
        "self.type != 'CNAME' || !has(self.{side}) || !has(self.{side}.addresses) || self.{side}.addresses.all(a, isIP(a) || {valid})"
    ))
    .message(Message::Expression(format!(
        "'{side}.addresses[0] ' + self.{side}.addresses.filter(a, !isIP(a) && !{valid})[0] + ' is not a valid host name for type CNAME: {DNS_NAME_WORDS}'"
    )))
    .field_path(format!(".{side}.addresses"))
}

/// CEL rule: a CNAME side holds exactly one host name and no alias.
fn cname_target(side: &str) -> Rule {
    Rule::new(format!(
        "self.type != 'CNAME' || !has(self.{side}) || has(self.{side}.serviceRef) || has(self.{side}.ingressRef) || has(self.{side}.gatewayRef) || (has(self.{side}.addresses) && self.{side}.addresses.size() == 1 && !isIP(self.{side}.addresses[0]))"
    ))
    .message(
        format!(
            "{side}.addresses must hold exactly one host name for type CNAME (an alias target needs type A or AAAA)"
        )
        .as_str(),
    )
    .field_path(format!(".{side}"))
}

/// The hosted zone, selected by id or by name.
#[derive(
    KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[x_kube(
    cel,
    validation = Rule::new("has(self.id) != has(self.name)").message("set exactly one of hostedZone.id or hostedZone.name"),
    validation = Rule::new("!has(self.private) || has(self.name)").message("hostedZone.private only applies when the zone is selected by name")
)]
#[serde(rename_all = "camelCase")]
pub struct HostedZoneRef {
    /// Hosted zone id, such as `Z0123456789ABCDEFGHIJ` (a `/hostedzone/` prefix is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^(/hostedzone/)?[A-Z0-9]+$')")
        .message(Message::Expression("'hostedZone.id ' + self + ' is not a hosted zone id: upper-case letters and digits, such as Z0123456789ABC (a /hostedzone/ prefix is accepted)'".into())))]
    pub id: Option<String>,

    /// Hosted zone name, such as `example.com`. Must match exactly one zone
    /// (of the kind chosen by `private`) in the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = dns_name_rule("hostedZone.name"))]
    pub name: Option<String>,

    /// With `name`: select the private (true) or public (false) zone of that name.
    /// Omit it when only one zone has the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,

    /// An IAM role to assume for this zone, such as
    /// `arn:aws:iam::123456789012:role/dns` in a central DNS account (whose
    /// trust policy lets the controller's own role assume it). The zone and
    /// its health checks live in that role's account, which has its own
    /// Route 53 request budget. Without it, the installation's zone-to-role
    /// map (`--zone-role`, the chart's `aws.zoneRoles`) decides, else the
    /// controller's own credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$')")
        .message(Message::Expression("'hostedZone.roleArn ' + self + ' is not an IAM role ARN, such as arn:aws:iam::123456789012:role/dns'".into())))]
    pub role_arn: Option<String>,
}

/// Which sides of the failover pair a FailoverRecord manages.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Manage {
    /// The PRIMARY and the SECONDARY record sets.
    #[default]
    Both,
    /// The PRIMARY record set and its health check only.
    Primary,
    /// The SECONDARY record set (and its health check, if any) only.
    Secondary,
}

impl Manage {
    /// Whether the side `role` is one of those managed.
    pub fn includes(self, role: crate::route53::Failover) -> bool {
        use crate::route53::Failover;
        matches!(
            (self, role),
            (Manage::Both, _)
                | (Manage::Primary, Failover::Primary)
                | (Manage::Secondary, Failover::Secondary)
        )
    }
}

impl FailoverRecordSpec {
    /// The target of one side, when this FailoverRecord manages it.
    pub fn target(&self, role: crate::route53::Failover) -> Option<&Target> {
        match role {
            crate::route53::Failover::Primary => self.primary.as_ref(),
            crate::route53::Failover::Secondary => self.secondary.as_ref(),
        }
    }

    /// The targets this FailoverRecord manages, with the side's name.
    pub fn targets_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut Target)> {
        [
            ("primary", &mut self.primary),
            ("secondary", &mut self.secondary),
        ]
        .into_iter()
        .filter_map(|(side, target)| target.as_mut().map(|t| (side, t)))
    }
}

/// DNS record type of the failover pair.
#[derive(
    JsonSchema,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
pub enum RecordType {
    /// IPv4 addresses, or an alias to an IPv4 target.
    #[default]
    A,
    /// IPv6 addresses, or an alias to an IPv6 target.
    AAAA,
    /// One canonical host name.
    CNAME,
}

/// One side of the failover pair.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.addresses), has(self.alias), has(self.serviceRef), has(self.ingressRef), has(self.gatewayRef)].filter(x, x).size() == 1")
        .message("set exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef"),
    validation = Rule::new("!has(self.alias) || !has(self.healthCheck) || has(self.healthCheck.ipAddress) || has(self.healthCheck.fqdn)")
        .message("a health check on an alias target needs healthCheck.ipAddress or healthCheck.fqdn: there is no address to default to")
        .field_path(".healthCheck")
)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Route 53 set identifier of this record set, unique among the record sets
    /// with this name and type. Defaults to `primary` or `secondary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub set_identifier: Option<String>,

    /// The values of the record set: IP addresses for `A`/`AAAA`, one host name
    /// for `CNAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_ADDRESSES), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub addresses: Option<Vec<String>>,

    /// An alias to an AWS resource (load balancer, CloudFront distribution, S3
    /// website, or another record in the zone) instead of addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasTarget>,

    /// A Service of type LoadBalancer in this namespace (controller only). Its
    /// load balancer becomes the target: an alias for an AWS load balancer
    /// host name, or the addresses of an IP; changes are followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<LocalRef>,

    /// An Ingress in this namespace (controller only), used like `serviceRef`
    /// through its load balancer status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_ref: Option<LocalRef>,

    /// A Gateway (`gateway.networking.k8s.io/v1`) in this namespace
    /// (controller only, with `--gateway-api`), used like `ingressRef`
    /// through its `status.addresses`: IP addresses become the values, a
    /// host name an alias (AWS load balancer) or the CNAME target. The
    /// addresses belong to the whole Gateway, not to one listener, so there
    /// is no listener to choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_ref: Option<LocalRef>,

    /// A Route 53 health check on this endpoint. Required on the primary unless
    /// it is an alias target that evaluates target health; optional on the
    /// secondary (without one, the secondary is always considered healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
}

/// A reference to an object in the FailoverRecord's own namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LocalRef {
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// An alias target: Route 53 answers with the target's current addresses.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    cel,
    // Route 53's API reference, AliasTarget.EvaluateTargetHealth: "You
    // can't set EvaluateTargetHealth to true when the alias target is a
    // CloudFront distribution."
    validation = Rule::new("self.hostedZoneId != 'Z2FDTNDATAQYW2' || !self.evaluateTargetHealth")
        .message("alias.evaluateTargetHealth must be false for an alias to a CloudFront distribution (hostedZoneId Z2FDTNDATAQYW2): Route 53 documents that EvaluateTargetHealth can't be true when the alias target is a CloudFront distribution (API reference, AliasTarget); set evaluateTargetHealth: false, and give the primary a healthCheck")
        .field_path(".evaluateTargetHealth")
)]
#[serde(rename_all = "camelCase")]
pub struct AliasTarget {
    /// DNS name of the target, such as
    /// `my-lb-1234567890.us-east-1.elb.amazonaws.com`.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = dns_name_rule("alias.dnsName"))]
    pub dns_name: String,

    /// Hosted zone id of the target (for a load balancer: the canonical hosted
    /// zone id of its region and kind, not the id of your zone).
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Z0-9]+$')")
        .message(Message::Expression("'alias.hostedZoneId ' + self + ' is not a hosted zone id: upper-case letters and digits, such as Z35SXDOTRQ7X7K'".into())))]
    pub hosted_zone_id: String,

    /// Let Route 53 use the target's own health (for example, a load balancer
    /// with no healthy targets) to decide failover. Strongly recommended.
    #[serde(default = "default_true")]
    pub evaluate_target_health: bool,
}

fn default_true() -> bool {
    true
}

/// A Route 53 health check on one endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    cel,
    validation = Rule::new("!(has(self.ipAddress) && has(self.fqdn))").message("set at most one of healthCheck.ipAddress or healthCheck.fqdn"),
    validation = Rule::new("!has(self.searchString) || self.protocol != 'TCP'")
        .message("searchString needs protocol HTTP or HTTPS: a TCP check has no response body to search")
        .field_path(".searchString"),
    validation = Rule::new("!has(self.path) || self.protocol != 'TCP'")
        .message("path needs protocol HTTP or HTTPS")
        .field_path(".path"),
    validation = Rule::new("!has(self.hostName) || self.protocol != 'TCP'")
        .message("hostName needs protocol HTTP or HTTPS")
        .field_path(".hostName"),
    validation = Rule::new("!(has(self.hostName) && has(self.fqdn))")
        .message("hostName only applies to a check by IP; with fqdn, the fqdn is the host name")
        .field_path(".hostName"),
    validation = Rule::new("!has(self.enableSNI) || self.protocol == 'HTTPS'")
        .message("enableSNI needs protocol HTTPS")
        .field_path(".enableSNI"),
    validation = Rule::new("self.protocol != 'TCP' || has(self.port)")
        .message("port is required for protocol TCP")
        .field_path(".port")
)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckSpec {
    /// How Route 53 checks the endpoint. HTTP and HTTPS need a 2xx or 3xx answer
    /// (HTTPS does not validate the certificate); TCP needs a connection.
    #[serde(default)]
    pub protocol: Protocol,

    /// IP address to check. Defaults to the first address of the target, in
    /// the order the addresses are written.
    /// Route 53 cannot check private, loopback or documentation ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isIP(self)").message("ipAddress must be an IPv4 or IPv6 address"))]
    pub ip_address: Option<String>,

    /// Domain name to check instead of an IP address; Route 53 resolves it
    /// and uses it as the Host header and SNI name. Defaults to the target's
    /// host name for CNAME records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = dns_name_rule("healthCheck.fqdn"))]
    pub fqdn: Option<String>,

    /// Host header (and SNI name) to send when checking by IP address over
    /// HTTP or HTTPS. Without it, Route 53 sends the IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = dns_name_rule("healthCheck.hostName"))]
    pub host_name: Option<String>,

    /// Port to check. Defaults to 80 for HTTP and 443 for HTTPS; required for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    /// Path to request over HTTP or HTTPS, such as `/index.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.startsWith('/')")
        .message(Message::Expression("'healthCheck.path ' + self + ' must start with /, such as /health'".into())))]
    pub path: Option<String>,

    /// Seconds between two checks from each checker: 10 (fast, costs more) or
    /// 30. Immutable in Route 53: changing it replaces the health check.
    #[serde(default = "default_request_interval")]
    #[x_kube(validation = Rule::new("self == 10 || self == 30").message("requestInterval must be 10 or 30"))]
    pub request_interval: i32,

    /// Consecutive failed (or successful) checks before a checker changes its
    /// view of the endpoint, 1 to 10.
    #[serde(default = "default_failure_threshold")]
    #[schemars(range(min = 1, max = 10))]
    pub failure_threshold: i32,

    /// A string the first 5,120 bytes of the response body must contain for the
    /// endpoint to count as healthy (HTTP/HTTPS only). Immutable in Route 53
    /// whether it is set: adding or removing it replaces the health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub search_string: Option<String>,

    /// Regions Route 53 checks from: at least three, or empty (or left out)
    /// for all of them. Listing every region means the same as none, so
    /// either form matches a check that checks from all regions. The
    /// regions: us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1,
    /// ap-southeast-2, ap-northeast-1, sa-east-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        merge_strategy = kube::core::ListMerge::Set,
        validation = Rule::new("self.size() == 0 || self.size() >= 3").message("list at least 3 regions, or none for all of them")
    )]
    pub regions: Option<Vec<HealthCheckRegion>>,

    /// Report the endpoint healthy when the check fails and unhealthy when it
    /// succeeds. Use it for a failover drill.
    #[serde(default)]
    pub inverted: bool,

    /// Stop checking; Route 53 then treats the endpoint as healthy.
    #[serde(default)]
    pub disabled: bool,

    /// Send the host name in the TLS handshake (HTTPS only). Defaults to true.
    #[serde(default, rename = "enableSNI", skip_serializing_if = "Option::is_none")]
    pub enable_sni: Option<bool>,

    /// Record the latency between checkers and the endpoint in CloudWatch.
    /// Immutable in Route 53: changing it replaces the health check.
    #[serde(default)]
    pub measure_latency: bool,
}

fn default_request_interval() -> i32 {
    30
}

fn default_failure_threshold() -> i32 {
    3
}

/// Protocol of a health check.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// An HTTP request must answer 2xx or 3xx within 2 seconds.
    #[default]
    HTTP,
    /// An HTTPS request must answer 2xx or 3xx within 2 seconds.
    HTTPS,
    /// A TCP connection must be established within 10 seconds.
    TCP,
}

/// A region Route 53 health checkers run in.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum HealthCheckRegion {
    #[serde(rename = "us-east-1")]
    UsEast1,
    #[serde(rename = "us-west-1")]
    UsWest1,
    #[serde(rename = "us-west-2")]
    UsWest2,
    #[serde(rename = "eu-west-1")]
    EuWest1,
    #[serde(rename = "ap-southeast-1")]
    ApSoutheast1,
    #[serde(rename = "ap-southeast-2")]
    ApSoutheast2,
    #[serde(rename = "ap-northeast-1")]
    ApNortheast1,
    #[serde(rename = "sa-east-1")]
    SaEast1,
}

impl HealthCheckRegion {
    pub const ALL: [HealthCheckRegion; 8] = [
        Self::UsEast1,
        Self::UsWest1,
        Self::UsWest2,
        Self::EuWest1,
        Self::ApSoutheast1,
        Self::ApSoutheast2,
        Self::ApNortheast1,
        Self::SaEast1,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsEast1 => "us-east-1",
            Self::UsWest1 => "us-west-1",
            Self::UsWest2 => "us-west-2",
            Self::EuWest1 => "eu-west-1",
            Self::ApSoutheast1 => "ap-southeast-1",
            Self::ApSoutheast2 => "ap-southeast-2",
            Self::ApNortheast1 => "ap-northeast-1",
            Self::SaEast1 => "sa-east-1",
        }
    }
}

/// What happens in Route 53 when the FailoverRecord is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeletionPolicy {
    /// Delete the record sets, then the health checks.
    #[default]
    Delete,
    /// Leave the record sets and health checks in Route 53.
    Retain,
}
