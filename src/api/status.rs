//! The `FailoverRecord` status: what Route 53 actually holds and how healthy it is.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a FailoverRecord, written by the controller.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecordStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Fully qualified name of the record sets, with the trailing dot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,

    /// Id of the hosted zone that holds the record sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,

    /// State of the PRIMARY record set and its health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<TargetStatus>,

    /// State of the SECONDARY record set and its health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<TargetStatus>,

    /// Which side DNS answers with: what the zone's name servers answered
    /// (see `activeObservation`), or, without an answer, what Route 53's
    /// health checks imply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<ActiveSide>,

    /// How and since when `active` has been observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_observation: Option<ActiveObservation>,

    /// When `active` last changed between Primary and Secondary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failover_time: Option<Time>,

    /// The failback latch, with `failback: Manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failback: Option<FailbackStatus>,

    /// The last change batch submitted to Route 53 for these record sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeStatus>,

    /// `Ready`, `HealthCheckSynced`, `RecordsSynced` and others, each with a
    /// machine-readable reason and a message saying what to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// State of one side of the pair.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// Set identifier of the record set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,

    /// Id of the Route 53 health check on this side, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,

    /// Route 53's view of the endpoint: Healthy, Unhealthy or Unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,

    /// Health checkers reporting healthy, out of those reporting, such as `15/16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkers_healthy: Option<String>,

    /// When `health` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,

    /// Set when another installation manages this side (`spec.manage`): who
    /// holds it, such as `owner cluster-b, FailoverRecord web/www`, or
    /// `outside dnsfailover`. Shown read-only; this FailoverRecord never
    /// writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

/// Route 53's view of an endpoint.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// More than 18% of checkers report the endpoint healthy (or the check is disabled).
    Healthy,
    /// 18% of checkers or fewer report the endpoint healthy.
    Unhealthy,
    /// No checker has reported yet, or health could not be read.
    Unknown,
}

/// Which side of the pair DNS answers with.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActiveSide {
    Primary,
    Secondary,
    Unknown,
}

/// Where manual failback stands.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailbackStatus {
    /// `Following`: DNS follows the primary's health. `Held`: DNS is held
    /// on the secondary while the primary is not healthy. `WaitingForApproval`:
    /// the primary is healthy again (or a failover was forced) and DNS stays
    /// on the secondary until a person approves failback.
    pub state: FailbackState,
    /// What it means and what to do.
    pub message: String,
    /// Id of the latch: the CALCULATED health check the PRIMARY record uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latch_check_id: Option<String>,
    /// When `state` last changed.
    pub since: Time,
}

/// The states of manual failback.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailbackState {
    Following,
    Held,
    WaitingForApproval,
}

/// How `active` was learnt.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActiveObservation {
    /// `DNSAnswer`: the zone's name servers (or, for a private zone, the
    /// configured resolver) answered with this side's values.
    /// `HealthChecks`: derived from Route 53's health-check status, read in
    /// turn within the GetHealthCheckStatus budget (the DNS watch is off, or
    /// no answer could be had or told apart).
    pub source: ObservationSource,
    /// When `active` was first observed with its current value by this
    /// source; answers that agree later do not move it.
    pub time: Time,
}

/// Where `active` comes from.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObservationSource {
    DNSAnswer,
    HealthChecks,
}

/// A Route 53 change batch and its propagation.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeStatus {
    /// Route 53 change id.
    pub id: String,
    /// PENDING until every Route 53 name server has the change, then INSYNC.
    pub status: String,
}
