//! Which side DNS answers with, how that was observed, and the `DNSAnswer`
//! condition: the DNS watch's answer when there is one that can be told
//! apart, else what the health checks imply.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::ConditionStatus;
use crate::api::{ActiveObservation, ActiveSide, FailoverRecordStatus, ObservationSource};
use crate::core::answer::AnswerSide;

/// What the DNS watch last saw for a record.
#[derive(Clone, Debug, PartialEq)]
pub enum DnsSeen {
    /// An answer, and since when answers have stood for this side.
    Answer {
        side: AnswerSide,
        /// The values answered, for the message when they fit neither side.
        answer: Vec<String>,
        /// Each side's expected values, for the same message.
        primary: String,
        secondary: String,
        since: Time,
    },
    /// No answer: the name servers (or the private zone's resolver) did
    /// not answer, refused, or do not know the name.
    Unreachable {
        private: bool,
        servers: String,
        error: String,
    },
}

/// Reasons of the `DNSAnswer` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
pub enum DnsReason {
    AnswerMatchesPrimary,
    AnswerMatchesSecondary,
    AnswerMatchesNeitherSide,
    AnswerAmbiguous,
    NameServersUnreachable,
    ResolverUnreachable,
}

/// The `DNSAnswer` condition, before it gets its times.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsCondition {
    pub status: ConditionStatus,
    pub reason: DnsReason,
    pub message: String,
}

pub(super) struct Decided {
    pub active: Option<ActiveSide>,
    pub observation: Option<ActiveObservation>,
    pub condition: Option<DnsCondition>,
    /// Keep the previous `DNSAnswer` condition as it is.
    pub keep_condition: bool,
}

const FALLBACK: &str = "status.active comes from Route 53's health checks alone, read in turn within the GetHealthCheckStatus budget, until an answer comes";

/// Decide `active`. `from_health` is what the health checks imply;
/// `changes_pending`: a change of the records is not INSYNC yet, so an
/// answer that fits neither side may be the old values.
pub(super) fn decide(
    from_health: Option<ActiveSide>,
    dns: Option<&DnsSeen>,
    changes_pending: bool,
    previous: Option<&FailoverRecordStatus>,
    now: &Time,
) -> Decided {
    let by_health = |condition: Option<DnsCondition>, keep_condition: bool| Decided {
        active: from_health,
        observation: from_health
            .map(|active| observation(previous, active, ObservationSource::HealthChecks, now)),
        condition,
        keep_condition,
    };
    let Some(dns) = dns else {
        return by_health(None, false);
    };
    match dns {
        DnsSeen::Answer {
            side: AnswerSide::Neither,
            ..
        } if changes_pending => by_health(None, true),
        DnsSeen::Answer {
            side,
            answer,
            primary,
            secondary,
            since,
        } => {
            let (active, status, reason, message) = match side {
                AnswerSide::Primary => (
                    ActiveSide::Primary,
                    ConditionStatus::True,
                    DnsReason::AnswerMatchesPrimary,
                    "the zone's name servers answer with the primary's values".to_string(),
                ),
                AnswerSide::Secondary => (
                    ActiveSide::Secondary,
                    ConditionStatus::True,
                    DnsReason::AnswerMatchesSecondary,
                    "the zone's name servers answer with the secondary's values".to_string(),
                ),
                AnswerSide::Neither => (
                    ActiveSide::Unknown,
                    ConditionStatus::False,
                    DnsReason::AnswerMatchesNeitherSide,
                    format!(
                        "the zone's name servers answer with {}, which is neither the primary's ({primary}) nor the secondary's ({secondary}): the record sets were changed outside dnsfailover (the next resync restores them), or something between rewrites answers; status.active is Unknown until an answer fits a side",
                        if answer.is_empty() {
                            "no records".to_string()
                        } else {
                            answer.join(", ")
                        }
                    ),
                ),
                AnswerSide::Ambiguous => {
                    return by_health(
                        Some(DnsCondition {
                            status: ConditionStatus::Unknown,
                            reason: DnsReason::AnswerAmbiguous,
                            message: format!(
                                "the answer cannot be told apart: both sides answer with the same values, or an alias target could not be resolved (primary {primary}, secondary {secondary}); {FALLBACK}"
                            ),
                        }),
                        false,
                    );
                }
            };
            let mut observed = observation(previous, active, ObservationSource::DNSAnswer, since);
            // The watch knows when the answer first stood for this side; a
            // status written later must not claim a later time.
            if previous.and_then(|p| p.active) != Some(active) {
                observed.time = since.clone();
            }
            Decided {
                active: Some(active),
                observation: Some(observed),
                condition: Some(DnsCondition {
                    status,
                    reason,
                    message,
                }),
                keep_condition: false,
            }
        }
        DnsSeen::Unreachable {
            private,
            servers,
            error,
        } => {
            let (reason, what) = if *private {
                (
                    DnsReason::ResolverUnreachable,
                    format!(
                        "this is a private hosted zone, and the resolver {servers} gave no answer for it ({error}): set --dns-resolver to a resolver inside the VPC (the VPC resolver, 169.254.169.253)"
                    ),
                )
            } else {
                (
                    DnsReason::NameServersUnreachable,
                    format!(
                        "the zone's name servers {servers} gave no answer ({error}): check that the NetworkPolicy allows DNS egress (UDP and TCP port 53)"
                    ),
                )
            };
            by_health(
                Some(DnsCondition {
                    status: ConditionStatus::Unknown,
                    reason,
                    message: format!("{what}; {FALLBACK}"),
                }),
                false,
            )
        }
    }
}

/// How `active` was observed: since when, carried over while neither the
/// side nor the source changes.
fn observation(
    previous: Option<&FailoverRecordStatus>,
    active: ActiveSide,
    source: ObservationSource,
    now: &Time,
) -> ActiveObservation {
    let time = match previous.and_then(|p| p.active_observation.as_ref()) {
        Some(o) if previous.and_then(|p| p.active) == Some(active) && o.source == source => {
            o.time.clone()
        }
        _ => now.clone(),
    };
    ActiveObservation { source, time }
}
