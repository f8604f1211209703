//! Status from what reconciling found: the same read-out for `dnsfailover
//! status` and the controller's `.status`.
//!
//! Conditions follow the Kubernetes conventions: `status` True/False/Unknown, a
//! fixed CamelCase `reason` that scripts and alerts can match, a `message` that
//! says what to do, and a `lastTransitionTime` that only moves when `status`
//! flips.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use serde::Serialize;

mod active;

pub use active::{DnsCondition, DnsReason, DnsSeen};

use crate::api::{ActiveSide, ChangeStatus, FailoverRecordStatus, Health, TargetStatus};
use crate::core::health::{self, HealthSummary};
use crate::core::plan::RecordPlan;
use crate::route53::{ChangeInfo, ChangeState, Failover};

/// The conditions dnsfailover writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
pub enum ConditionType {
    Ready,
    HealthCheckSynced,
    RecordsSynced,
    /// Whether the zone's name servers answer with one side's values (only
    /// while the DNS watch runs).
    DNSAnswer,
}

/// A condition's `status`, as Kubernetes spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The status of `condition`; anything unreadable counts as Unknown.
    pub fn of(condition: &Condition) -> Self {
        condition.status.parse().unwrap_or(Self::Unknown)
    }
}

/// Why something failed, from a fixed set: the condition reason, the Event
/// reason, the metric label and (through it) the CLI's exit code. Never free
/// text, so alerts and scripts can match it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
)]
pub enum Category {
    InvalidSpec,
    TargetNotReady,
    /// Not a failure: Route 53 is still applying a change.
    ChangesPending,
    HostedZoneNotFound,
    RecordConflict,
    Route53Throttled,
    Route53Unavailable,
    CredentialsMissing,
    AccessDenied,
    Route53LimitExceeded,
    Route53Rejected,
    NotLeader,
    Route53Error,
    KubernetesApi,
}

impl Category {
    /// What to do about it, for people.
    pub fn advice(self) -> &'static str {
        match self {
            Self::InvalidSpec => "fix the spec; nothing was written to Route 53",
            Self::TargetNotReady => {
                "retrying until the Service or Ingress has a load balancer address, or the Gateway an address"
            }
            Self::ChangesPending => "this finishes by itself, usually within a minute",
            Self::NotLeader => "another replica holds the leader lease and does the work",
            Self::HostedZoneNotFound => {
                "check spec.hostedZone and that the credentials can see the zone"
            }
            Self::RecordConflict => "nothing was written for this record",
            Self::Route53Throttled => {
                "retrying with backoff; other tools in the account share the request budget"
            }
            Self::Route53Unavailable => "retrying with backoff",
            Self::CredentialsMissing => {
                "provide AWS credentials (IRSA role, environment or profile); retrying"
            }
            Self::AccessDenied => {
                "grant the IAM permissions listed in docs/iam-policy.json; retrying"
            }
            Self::Route53LimitExceeded => {
                "raise the account quota in Service Quotas, or remove unused health checks"
            }
            Self::Route53Rejected => "Route 53 refused the change; see the message",
            Self::Route53Error | Self::KubernetesApi => "retrying",
        }
    }
}

/// Reasons of conditions that are True.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
enum Synced {
    Reconciled,
    HealthChecksMatch,
    RecordsMatch,
}

/// A failure as status shows it: its category and a message that says what
/// went wrong, then what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub category: Category,
    pub message: String,
}

impl Problem {
    pub fn new(category: Category, what: impl std::fmt::Display) -> Self {
        Self {
            category,
            message: format!("{what} ({})", category.advice()),
        }
    }
}

/// What is known about one side after reconciling.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SideReport {
    pub set_identifier: Option<String>,
    pub health_check_id: Option<String>,
    /// Health as Route 53 reports it; `None` when the side has no check or it
    /// was not read.
    pub health: Option<HealthSummary>,
    pub has_check: bool,
    /// Its record set uses a failback latch that holds: Route 53 counts the
    /// side unhealthy, and answers with the other, whatever the endpoint does.
    pub held: bool,
    /// Who manages the side, when another installation does.
    pub managed_by: Option<String>,
}

/// Everything status is made from.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub generation: Option<i64>,
    pub fqdn: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub sides: BTreeMap<Failover, SideReport>,
    /// The plan still to apply (for a read-only status) or `None` once
    /// applied successfully.
    pub remaining: Option<RecordPlan>,
    pub error: Option<Problem>,
    pub change: Option<ChangeInfo>,
    /// Disagreements with another owner of the name (split ownership).
    pub disputes: Vec<String>,
    /// What the DNS watch last saw; `None` while it is off or has not
    /// queried the record yet.
    pub dns: Option<DnsSeen>,
}

/// Build status, carrying over transition times (and the last failover time)
/// from the previous status where nothing flipped.
pub fn build(
    report: &Report,
    previous: Option<&FailoverRecordStatus>,
    now: Time,
) -> FailoverRecordStatus {
    let side = |role: Failover| {
        let before = previous.and_then(|p| match role {
            Failover::Primary => p.primary.as_ref(),
            Failover::Secondary => p.secondary.as_ref(),
        });
        report.sides.get(&role).map(|s| {
            let health = s
                .health
                .as_ref()
                .map(|h| h.health)
                .or(s.has_check.then_some(Health::Unknown));
            // Moves only when health itself changes, so an unchanged status
            // is not written again (and does not trigger another reconcile).
            let last_transition_time = match before {
                Some(b) if b.health == health => b.last_transition_time.clone(),
                _ => health.map(|_| now.clone()),
            };
            TargetStatus {
                set_identifier: s.set_identifier.clone(),
                health_check_id: s.health_check_id.clone(),
                health,
                checkers_healthy: s.health.as_ref().map(HealthSummary::checkers),
                last_transition_time,
                managed_by: s.managed_by.clone(),
            }
        })
    };
    let primary = side(Failover::Primary);
    let secondary = side(Failover::Secondary);
    // Which side DNS answers with is Route 53's view: a held latch makes the
    // primary unhealthy to it while the endpoint itself is healthy.
    let health_of = |s: &Option<TargetStatus>, role: Failover| {
        let has_check = report.sides.get(&role).is_some_and(|s| s.has_check);
        if report.sides.get(&role).is_some_and(|s| s.held) {
            Some(Health::Unhealthy)
        } else if has_check {
            Some(s.as_ref().and_then(|t| t.health).unwrap_or(Health::Unknown))
        } else {
            None
        }
    };
    let from_health = if report.sides.is_empty() {
        None
    } else {
        Some(health::active_side(
            health_of(&primary, Failover::Primary),
            health_of(&secondary, Failover::Secondary),
        ))
    };
    let changes_pending = report
        .change
        .as_ref()
        .is_some_and(|c| c.status == ChangeState::Pending);
    let decided = active::decide(
        from_health,
        report.dns.as_ref().filter(|_| !report.sides.is_empty()),
        changes_pending,
        previous,
        &now,
    );
    let active = decided.active;
    let previous_active = previous.and_then(|p| p.active);
    let last_failover_time = match (previous_active, active) {
        (Some(before), Some(after))
            if before != after && before != ActiveSide::Unknown && after != ActiveSide::Unknown =>
        {
            Some(now.clone())
        }
        _ => previous.and_then(|p| p.last_failover_time.clone()),
    };

    let previous_conditions = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let mut conditions = conditions(report, previous_conditions, &now);
    if decided.keep_condition {
        conditions.extend(find(previous_conditions, ConditionType::DNSAnswer).cloned());
    } else if let Some(dns) = &decided.condition {
        conditions.push(condition(
            ConditionType::DNSAnswer,
            dns.status,
            dns.reason.into(),
            dns.message.clone(),
            report.generation,
            previous_conditions,
            &now,
        ));
    }
    FailoverRecordStatus {
        observed_generation: report.generation,
        fqdn: report.fqdn.clone(),
        hosted_zone_id: report.hosted_zone_id.clone(),
        primary,
        secondary,
        active,
        active_observation: decided.observation,
        last_failover_time,
        failback: previous.and_then(|p| p.failback.clone()),
        change: report.change.as_ref().map(change_status),
        conditions,
    }
}

/// A condition whose transition time moves only when its status flips.
fn condition(
    type_: ConditionType,
    status: ConditionStatus,
    reason: &'static str,
    message: String,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Condition {
    let last_transition_time = find(previous, type_)
        .filter(|c| ConditionStatus::of(c) == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: <&str>::from(type_).to_string(),
        status: <&str>::from(status).to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

fn conditions(report: &Report, previous: &[Condition], now: &Time) -> Vec<Condition> {
    let make = |type_: ConditionType, ok: bool, reason: &'static str, message: String| {
        let status = if ok {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        condition(
            type_,
            status,
            reason,
            message,
            report.generation,
            previous,
            now,
        )
    };
    let disputes: Vec<String> = report
        .disputes
        .iter()
        .cloned()
        .chain(
            report
                .remaining
                .iter()
                .flat_map(|p| p.disputes.iter().map(|d| d.message.clone())),
        )
        .collect();
    let (checks_ok, records_ok) = match (&report.error, &report.remaining) {
        (Some(_), _) => (false, false),
        (None, Some(plan)) => (
            plan.create_checks.is_empty()
                && plan.update_checks.is_empty()
                && plan.retag_checks.is_empty()
                && plan.delete_checks.is_empty(),
            plan.changes.is_empty() && plan.conflicts.is_empty() && disputes.is_empty(),
        ),
        (None, None) => (true, disputes.is_empty()),
    };
    let (reason, message): (&'static str, String) = match (&report.error, &report.remaining) {
        (Some(problem), _) => (problem.category.into(), problem.message.clone()),
        (None, Some(plan)) if !plan.conflicts.is_empty() => (
            Category::RecordConflict.into(),
            plan.conflicts
                .iter()
                .map(|c| c.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (None, _) if !disputes.is_empty() => (
            Category::RecordConflict.into(),
            format!(
                "{} ({})",
                disputes.join("; "),
                "what this FailoverRecord holds is kept; the other owner reports the same conflict"
            ),
        ),
        (None, Some(plan)) if !plan.is_empty() => (
            Category::ChangesPending.into(),
            format!(
                "{} Route 53 writes would bring the record sets and health checks in line with the spec",
                plan.write_count()
            ),
        ),
        _ => (
            Synced::Reconciled.into(),
            "Route 53 matches the spec".to_string(),
        ),
    };
    vec![
        make(
            ConditionType::Ready,
            checks_ok && records_ok,
            reason,
            message.clone(),
        ),
        if checks_ok {
            make(
                ConditionType::HealthCheckSynced,
                true,
                Synced::HealthChecksMatch.into(),
                "the health checks match the spec".to_string(),
            )
        } else {
            make(
                ConditionType::HealthCheckSynced,
                false,
                reason,
                message.clone(),
            )
        },
        if records_ok {
            make(
                ConditionType::RecordsSynced,
                true,
                Synced::RecordsMatch.into(),
                "the record sets this FailoverRecord manages match the spec".to_string(),
            )
        } else {
            make(ConditionType::RecordsSynced, false, reason, message)
        },
    ]
}

/// Status after a failed reconcile: what was known stays, the conditions say
/// what went wrong and what to do.
pub fn with_error(
    previous: Option<&FailoverRecordStatus>,
    problem: &Problem,
    generation: Option<i64>,
    now: Time,
) -> FailoverRecordStatus {
    let report = Report {
        generation,
        error: Some(problem.clone()),
        ..Report::default()
    };
    let mut status = previous.cloned().unwrap_or_default();
    let dns = find(&status.conditions, ConditionType::DNSAnswer).cloned();
    status.conditions = conditions(&report, &status.conditions, &now);
    // What DNS answers does not depend on this failure.
    status.conditions.extend(dns);
    // The conditions describe this generation's attempt; tools that wait on
    // observedGeneration should see it too.
    status.observed_generation = generation;
    status
}

/// A change batch as the status shows it.
pub fn change_status(change: &ChangeInfo) -> ChangeStatus {
    ChangeStatus {
        id: change.id.clone(),
        status: change.status.as_route53().to_string(),
    }
}

/// A change batch as the status recorded it: anything not INSYNC is still
/// PENDING (INSYNC is terminal).
pub fn recorded_change(change: &ChangeStatus) -> ChangeInfo {
    ChangeInfo {
        id: change.id.clone(),
        status: ChangeState::from_route53(&change.status).unwrap_or(ChangeState::Pending),
    }
}

/// The condition of this type, if any.
pub fn find(conditions: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conditions
        .iter()
        .find(|c| c.type_.parse::<ConditionType>() == Ok(type_))
}

/// The Ready condition, if any.
pub fn ready(status: Option<&FailoverRecordStatus>) -> Option<&Condition> {
    find(&status?.conditions, ConditionType::Ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(health: Health, held: bool) -> SideReport {
        SideReport {
            set_identifier: None,
            health_check_id: Some("hc".into()),
            health: Some(HealthSummary {
                health,
                healthy_checkers: 8,
                reporting_checkers: 8,
            }),
            has_check: true,
            held,
            managed_by: None,
        }
    }

    fn active(primary: SideReport) -> Option<ActiveSide> {
        let mut secondary = side(Health::Healthy, false);
        secondary.has_check = false;
        secondary.health = None;
        let report = Report {
            sides: BTreeMap::from([
                (Failover::Primary, primary),
                (Failover::Secondary, secondary),
            ]),
            ..Report::default()
        };
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        build(&report, None, now).active
    }

    #[test]
    fn a_held_latch_puts_dns_on_the_secondary_whatever_the_primary_endpoint_does() {
        assert_eq!(
            active(side(Health::Healthy, false)),
            Some(ActiveSide::Primary)
        );
        assert_eq!(
            active(side(Health::Healthy, true)),
            Some(ActiveSide::Secondary)
        );
        assert_eq!(
            active(side(Health::Unhealthy, true)),
            Some(ActiveSide::Secondary)
        );
    }
}
