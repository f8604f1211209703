//! Which Events a reconcile publishes: chosen by pure functions of what it
//! saw and did (the status before and after, the plan it applied, whether
//! that plan corrected drift), then published in one place. Events mark
//! transitions only, never a steady state, so a quiet FailoverRecord stays
//! quiet.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;
use kube::runtime::events::{Event, EventType};
use tracing::warn;

use super::cleanup::Removal;
use super::context::Context;
use crate::api::{
    ActiveSide, FailbackState, FailoverRecord, FailoverRecordStatus, ObservationSource,
};
use crate::core::failback;
use crate::core::plan::{DeleteReason, RecordPlan};
use crate::core::report::{self, Category, ConditionStatus, ConditionType, DnsReason};
use crate::route53::Route53;

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Normal,
    Warning,
}

/// The reason of an Event: a fixed set, as for conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Reason {
    /// The first write of a FailoverRecord: its health check and records,
    /// told in one Event rather than two (one request per record less to the
    /// apiserver when a thousand are applied at once).
    Created,
    HealthCheckCreated,
    HealthCheckReplaced,
    HealthCheckUpdated,
    RecordsCreated,
    /// Existing record sets taken over (`adoptExisting`, `dnsfailover
    /// import`): only the ownership marker was written.
    TakenOver,
    RecordsUpdated,
    DriftCorrected,
    RecordsMoved,
    ConflictDetected,
    FailoverToSecondary,
    FailbackToPrimary,
    /// The name servers answer with neither side's values.
    AnswerMatchesNeitherSide,
    /// No answer from the name servers (or a private zone's resolver):
    /// status.active falls back to health-check polling.
    NameServersUnreachable,
    ResolverUnreachable,
    /// Answers fit a side again after one of the above.
    DNSAnswerRestored,
    /// `failback: Manual`: the primary failed, the latch holds DNS on the secondary.
    FailbackHeld,
    /// A person forced DNS onto the secondary (`dnsfailover.io/request=failover`).
    FailoverForced,
    /// A person approved failback: DNS follows the primary's health again.
    FailbackApproved,
    /// The primary is healthy again; failback waits for a person.
    FailbackWaitingForApproval,
    /// A request that could not be carried out.
    RequestRefused,
    CleanupDone,
    Retained,
    DryRun,
    /// A failure, with its category as the reason.
    Failed(Category),
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed(category) => category.into(),
            other => other.into(),
        }
    }
}

/// One Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub severity: Severity,
    pub reason: Reason,
    pub message: String,
}

impl Note {
    fn new(severity: Severity, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            severity,
            reason,
            message: message.into(),
        }
    }
}

/// A plan that was applied, and whether it put back what someone changed
/// outside dnsfailover (rather than following a new spec or target).
#[derive(Clone, Copy, Debug)]
pub struct Applied<'a> {
    pub plan: &'a RecordPlan,
    pub drift: bool,
}

/// What one reconcile saw and did.
#[derive(Clone, Copy, Debug)]
pub struct Reconciled<'a> {
    pub before: Option<&'a FailoverRecordStatus>,
    pub after: &'a FailoverRecordStatus,
    pub applied: Option<Applied<'a>>,
    /// The hosted zone the records were moved out of.
    pub left_zone: Option<&'a str>,
}

/// The Events of one reconcile, in the order they happened: what was
/// written, then what changed in the status.
pub fn choose(seen: Reconciled<'_>) -> Vec<Note> {
    let mut notes = Vec::new();
    if let Some(applied) = seen.applied {
        notes.extend(written(applied, seen.before));
    }
    if let Some(zone) = seen.left_zone {
        notes.push(Note::new(
            Severity::Normal,
            Reason::RecordsMoved,
            format!("the hosted zone changed: removed the record sets from the previous hosted zone {zone}"),
        ));
    }
    notes.extend(transitions(seen.before, seen.after));
    notes
}

/// The record sets a plan creates, by side: `the PRIMARY and SECONDARY
/// record sets`, `the PRIMARY record set`.
fn created_sides(plan: &RecordPlan) -> String {
    let sides: Vec<&str> = crate::route53::Failover::BOTH
        .into_iter()
        .filter(|role| {
            plan.changes.iter().any(|c| {
                c.action == crate::route53::ChangeAction::Create && c.record.failover == Some(*role)
            })
        })
        .map(|role| role.as_route53())
        .collect();
    match sides.as_slice() {
        [one] => format!("the {one} record set"),
        [] => "the record sets".to_string(),
        many => format!("the {} record sets", many.join(" and ")),
    }
}

/// Events for what a successful plan wrote.
fn written(applied: Applied<'_>, before: Option<&FailoverRecordStatus>) -> Vec<Note> {
    let plan = applied.plan;
    let mut notes = Vec::new();
    let first_time = before.and_then(|s| s.fqdn.as_ref()).is_none();
    if first_time && !plan.changes.is_empty() && plan.record_change_count() == 0 {
        notes.push(Note::new(
            Severity::Normal,
            Reason::TakenOver,
            "took over the existing record sets as they are: only the ownership marker was written (no record set changed)",
        ));
    } else if first_time
        && !plan.changes.is_empty()
        && !plan.create_checks.is_empty()
        && plan.delete_checks.is_empty()
        && plan.update_checks.is_empty()
    {
        notes.push(Note::new(
            Severity::Normal,
            Reason::Created,
            format!(
                "created the Route 53 health check, then {}",
                created_sides(plan)
            ),
        ));
        return notes;
    }
    if !plan.create_checks.is_empty() {
        let replaced = plan
            .delete_checks
            .iter()
            .any(|d| d.reason == DeleteReason::Replaced);
        notes.push(if replaced {
            Note::new(
                Severity::Normal,
                Reason::HealthCheckReplaced,
                "an immutable health check setting changed: created a new check, repointed the record, deleted the old check",
            )
        } else {
            Note::new(
                Severity::Normal,
                Reason::HealthCheckCreated,
                "created the Route 53 health check",
            )
        });
    }
    if !plan.update_checks.is_empty() {
        let changed: Vec<&str> = plan
            .update_checks
            .iter()
            .flat_map(|u| u.changed.iter().copied())
            .collect();
        notes.push(Note::new(
            Severity::Normal,
            Reason::HealthCheckUpdated,
            format!("updated the health check: {}", changed.join(", ")),
        ));
    }
    let taken_over = first_time && plan.record_change_count() == 0;
    if !plan.changes.is_empty() && !taken_over {
        notes.push(if first_time {
            Note::new(
                Severity::Normal,
                Reason::RecordsCreated,
                format!("created {}", created_sides(plan)),
            )
        } else if applied.drift {
            Note::new(
                Severity::Warning,
                Reason::DriftCorrected,
                "the record sets in Route 53 no longer matched the spec (changed outside dnsfailover); restored them",
            )
        } else {
            Note::new(
                Severity::Normal,
                Reason::RecordsUpdated,
                "updated the record sets to the new spec",
            )
        });
    }
    notes
}

/// Events for status transitions: a new failure (its category as the
/// reason; waiting for Route 53 is not one), failover and failback.
fn transitions(before: Option<&FailoverRecordStatus>, after: &FailoverRecordStatus) -> Vec<Note> {
    let mut notes = Vec::new();
    let was = report::ready(before);
    if let Some(now) = report::ready(Some(after))
        && let Some(category) = failure(now)
        && category != Category::ChangesPending
        && was.is_none_or(|w| failure(w) != Some(category))
    {
        let reason = match category {
            Category::RecordConflict => Reason::ConflictDetected,
            other => Reason::Failed(other),
        };
        notes.push(Note::new(Severity::Warning, reason, now.message.clone()));
    }
    let by_dns = after
        .active_observation
        .as_ref()
        .is_some_and(|o| o.source == ObservationSource::DNSAnswer);
    // A held failback latch with a healthy primary endpoint: the failover
    // was forced (or the latch holds after a recovery), not a failure.
    let held_while_healthy = after
        .failback
        .as_ref()
        .is_some_and(|f| f.state == FailbackState::WaitingForApproval)
        && after
            .primary
            .as_ref()
            .is_some_and(|p| p.health == Some(crate::api::Health::Healthy));
    match (before.and_then(|s| s.active), after.active) {
        (Some(ActiveSide::Primary), Some(ActiveSide::Secondary)) => notes.push(Note::new(
            Severity::Warning,
            Reason::FailoverToSecondary,
            if held_while_healthy {
                "the failback latch holds DNS on the secondary while the primary is healthy (failover forced): approve failback to return"
            } else if by_dns {
                "the zone's name servers now answer with the secondary: Route 53 failed over"
            } else {
                "Route 53 sees the primary as unhealthy: DNS now answers with the secondary"
            },
        )),
        (Some(ActiveSide::Secondary), Some(ActiveSide::Primary)) => notes.push(Note::new(
            Severity::Normal,
            Reason::FailbackToPrimary,
            if by_dns {
                "the zone's name servers answer with the primary again"
            } else {
                "the primary is healthy again: DNS answers with the primary"
            },
        )),
        _ => {}
    }
    notes.extend(dns_transition(before, after));
    let waiting = |s: Option<&FailoverRecordStatus>| {
        s.and_then(|s| s.failback.as_ref())
            .is_some_and(|f| f.state == FailbackState::WaitingForApproval)
    };
    if waiting(Some(after)) && !waiting(before) {
        notes.push(Note::new(
            Severity::Normal,
            Reason::FailbackWaitingForApproval,
            after
                .failback
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        ));
    }
    notes
}

/// Events for the `DNSAnswer` condition: each way of not seeing a side when
/// it starts, and the end of it.
fn dns_transition(
    before: Option<&FailoverRecordStatus>,
    after: &FailoverRecordStatus,
) -> Option<Note> {
    let reason = |status: Option<&FailoverRecordStatus>| {
        report::find(&status?.conditions, ConditionType::DNSAnswer)
            .and_then(|c| c.reason.parse::<DnsReason>().ok())
    };
    let was = reason(before);
    let now = reason(Some(after))?;
    if was == Some(now) {
        return None;
    }
    let message = || {
        report::find(&after.conditions, ConditionType::DNSAnswer)
            .map(|c| c.message.clone())
            .unwrap_or_default()
    };
    let failing = |r: Option<DnsReason>| {
        matches!(
            r,
            Some(
                DnsReason::AnswerMatchesNeitherSide
                    | DnsReason::NameServersUnreachable
                    | DnsReason::ResolverUnreachable
            )
        )
    };
    match now {
        DnsReason::AnswerMatchesNeitherSide => Some(Note::new(
            Severity::Warning,
            Reason::AnswerMatchesNeitherSide,
            message(),
        )),
        DnsReason::NameServersUnreachable => Some(Note::new(
            Severity::Warning,
            Reason::NameServersUnreachable,
            message(),
        )),
        DnsReason::ResolverUnreachable => Some(Note::new(
            Severity::Warning,
            Reason::ResolverUnreachable,
            message(),
        )),
        DnsReason::AnswerMatchesPrimary | DnsReason::AnswerMatchesSecondary if failing(was) => {
            Some(Note::new(
                Severity::Normal,
                Reason::DNSAnswerRestored,
                format!("{}; status.active follows the answers again", message()),
            ))
        }
        _ => None,
    }
}

/// The Event of what was done with the failback latch, or refused.
pub fn failback(told: &failback::Told) -> Note {
    match told {
        failback::Told::Held => Note::new(
            Severity::Warning,
            Reason::FailbackHeld,
            "the primary is unhealthy: the failback latch holds DNS on the secondary until failback is approved",
        ),
        failback::Told::Forced => Note::new(
            Severity::Warning,
            Reason::FailoverForced,
            "failover requested: the failback latch holds DNS on the secondary until failback is approved",
        ),
        failback::Told::Approved => Note::new(
            Severity::Normal,
            Reason::FailbackApproved,
            "failback approved: DNS follows the primary's health again",
        ),
        failback::Told::Refused(why) => Note::new(
            Severity::Warning,
            Reason::RequestRefused,
            format!("request not carried out: {why}"),
        ),
    }
}

/// The category of a False condition; `None` for True or Unknown, or a
/// reason this version does not know.
fn failure(condition: &Condition) -> Option<Category> {
    (ConditionStatus::of(condition) == ConditionStatus::False)
        .then(|| condition.reason.parse().ok())
        .flatten()
}

/// The Event of a finished cleanup.
pub fn cleanup_done(removal: &Removal) -> Note {
    let mut message = if removal.removed {
        "removed the record sets, then the health checks, from Route 53".to_string()
    } else {
        "nothing of this FailoverRecord was left in Route 53".to_string()
    };
    if removal.kept.is_empty() {
        return Note::new(Severity::Normal, Reason::CleanupDone, message);
    }
    message = format!(
        "{message}; left health check(s) {} in Route 53 because record sets this FailoverRecord does not own still use them: delete them once nothing does",
        removal.kept.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    Note::new(Severity::Warning, Reason::CleanupDone, message)
}

/// The Event of a deletion that leaves Route 53 alone.
pub fn retained() -> Note {
    Note::new(
        Severity::Normal,
        Reason::Retained,
        "deletionPolicy is Retain: the record sets and health checks stay in Route 53",
    )
}

/// The Event of a dry run, when there is anything to say.
pub fn dry_run(plan: &RecordPlan) -> Option<Note> {
    (!plan.is_empty() || !plan.conflicts.is_empty()).then(|| {
        Note::new(
            Severity::Normal,
            Reason::DryRun,
            format!("dry run, nothing written: would {}", plan.summary()),
        )
    })
}

/// Publish notes while this replica leads; a failure to publish is logged,
/// never a reason to fail the reconcile.
pub async fn publish<R: Route53>(obj: &FailoverRecord, ctx: &Context<R>, notes: &[Note]) {
    for note in notes {
        if !ctx.gate.is_open() {
            return;
        }
        let event = Event {
            type_: match note.severity {
                Severity::Normal => EventType::Normal,
                Severity::Warning => EventType::Warning,
            },
            reason: note.reason.as_str().to_string(),
            note: Some(note.message.chars().take(1000).collect()),
            action: action_of(&note.message),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
            warn!(reason = note.reason.as_str(), error = %e, "cannot publish event");
        }
    }
}

/// The event's `action`. kube's recorder counts an event again (and keeps
/// its first message) when type, reason and action repeat, so the action
/// carries a digest of the message: the same message is counted, a new one
/// (another refusal, another invalid field) is shown.
fn action_of(message: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(message.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("Reconcile-{hex}")
}

#[cfg(test)]
mod tests;
