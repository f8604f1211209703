//! Which Events a reconcile publishes, as plain table tests: no cluster, no
//! Route 53, only statuses and plans.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::*;
use crate::core::ownership::Owner;
use crate::core::plan::{CreateCheck, DeleteCheck, PlannedChange, UpdateCheck};
use crate::route53::{
    ChangeAction, Failover, HealthCheckConfig, HealthCheckUpdate, RecordSet, RrType,
};

fn time() -> Time {
    Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

/// A status with a Ready condition (`True`, or `False` with a reason), the
/// active side, and whether records were ever written (`fqdn`).
fn status(ready: Option<&str>, active: Option<ActiveSide>, written: bool) -> FailoverRecordStatus {
    let conditions = ready
        .map(|reason| {
            let (status, reason) = match reason {
                "Reconciled" => ("True", reason),
                other => ("False", other),
            };
            vec![Condition {
                type_: "Ready".into(),
                status: status.into(),
                reason: reason.into(),
                message: format!("{reason} happened"),
                observed_generation: Some(1),
                last_transition_time: time(),
            }]
        })
        .unwrap_or_default();
    FailoverRecordStatus {
        fqdn: written.then(|| "www.example.com.".to_string()),
        active,
        conditions,
        ..FailoverRecordStatus::default()
    }
}

fn config(interval: i32) -> HealthCheckConfig {
    HealthCheckConfig::http("198.51.100.10", interval)
}

/// What a plan does, in the terms that decide its Events.
#[derive(Clone, Copy)]
enum Does {
    CreateCheck,
    ReplaceCheck,
    UpdateCheck,
    WriteRecords,
}

fn plan(does: &[Does]) -> RecordPlan {
    let mut plan = RecordPlan::new(&Owner::new("test", "web", "www"), "Z1");
    for step in does {
        match step {
            Does::CreateCheck | Does::ReplaceCheck => plan.create_checks.push(CreateCheck {
                role: Failover::Primary,
                caller_reference: "ref".into(),
                config: config(30),
                tags: Default::default(),
            }),
            Does::UpdateCheck => plan.update_checks.push(UpdateCheck {
                id: "hc-1".into(),
                role: Failover::Primary,
                update: HealthCheckUpdate {
                    version: 1,
                    config: config(10),
                    reset: vec![],
                },
                changed: vec!["path", "failureThreshold"],
            }),
            Does::WriteRecords => plan.changes.push(PlannedChange {
                action: ChangeAction::Create,
                record: RecordSet {
                    name: "www.example.com.".into(),
                    rr_type: RrType::A,
                    set_identifier: Some("secondary".into()),
                    failover: Some(Failover::Secondary),
                    ttl: Some(60),
                    values: vec!["198.51.100.20".into()],
                    alias: None,
                    health_check_id: None,
                    other_routing: None,
                },
                health_check: None,
            }),
        }
        if let Does::ReplaceCheck = step {
            plan.delete_checks.push(DeleteCheck {
                id: "hc-old".into(),
                role: Failover::Primary,
                reason: DeleteReason::Replaced,
            });
        }
    }
    plan
}

fn reasons(notes: &[Note]) -> Vec<(Severity, &'static str)> {
    notes
        .iter()
        .map(|n| (n.severity, n.reason.as_str()))
        .collect()
}

use Severity::{Normal, Warning};

#[test]
fn events_follow_what_was_written_and_what_changed_in_the_status() {
    let ready = |active| status(Some("Reconciled"), active, true);
    let failing = |reason| status(Some(reason), Some(ActiveSide::Primary), true);
    let never_written = status(None, None, false);
    let primary = Some(ActiveSide::Primary);
    let secondary = Some(ActiveSide::Secondary);

    // (case, before, after, plan applied (steps, drift), zone left, expected)
    #[allow(clippy::type_complexity)]
    let table: Vec<(
        &str,
        Option<FailoverRecordStatus>,
        FailoverRecordStatus,
        Option<(&[Does], bool)>,
        Option<&str>,
        Vec<(Severity, &str)>,
    )> = vec![
        (
            "first apply",
            None,
            ready(primary),
            Some((&[Does::CreateCheck, Does::WriteRecords], false)),
            None,
            vec![(Normal, "Created")],
        ),
        (
            "first apply after a failed one",
            Some(never_written.clone()),
            ready(primary),
            Some((&[Does::WriteRecords], false)),
            None,
            vec![(Normal, "RecordsCreated")],
        ),
        (
            "a mutable setting",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::UpdateCheck], false)),
            None,
            vec![(Normal, "HealthCheckUpdated")],
        ),
        (
            "an immutable setting",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::ReplaceCheck, Does::WriteRecords], false)),
            None,
            vec![(Normal, "HealthCheckReplaced"), (Normal, "RecordsUpdated")],
        ),
        (
            "a check deleted behind our back",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::CreateCheck, Does::WriteRecords], true)),
            None,
            vec![(Normal, "HealthCheckCreated"), (Warning, "DriftCorrected")],
        ),
        (
            "records changed behind our back",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::WriteRecords], true)),
            None,
            vec![(Warning, "DriftCorrected")],
        ),
        (
            "a new spec",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::WriteRecords], false)),
            None,
            vec![(Normal, "RecordsUpdated")],
        ),
        (
            "a zone move",
            Some(ready(primary)),
            ready(primary),
            Some((&[Does::WriteRecords], false)),
            Some("Z0"),
            vec![(Normal, "RecordsUpdated"), (Normal, "RecordsMoved")],
        ),
        (
            "nothing to do",
            Some(ready(primary)),
            ready(primary),
            None,
            None,
            vec![],
        ),
        (
            "a new failure",
            Some(ready(primary)),
            failing("Route53Throttled"),
            None,
            None,
            vec![(Warning, "Route53Throttled")],
        ),
        (
            "the same failure again",
            Some(failing("Route53Throttled")),
            failing("Route53Throttled"),
            None,
            None,
            vec![],
        ),
        (
            "another failure",
            Some(failing("Route53Throttled")),
            failing("CredentialsMissing"),
            None,
            None,
            vec![(Warning, "CredentialsMissing")],
        ),
        (
            "a conflict",
            None,
            failing("RecordConflict"),
            None,
            None,
            vec![(Warning, "ConflictDetected")],
        ),
        (
            "waiting for Route 53 is not a failure",
            Some(ready(primary)),
            failing("ChangesPending"),
            None,
            None,
            vec![],
        ),
        (
            "recovery",
            Some(failing("Route53Throttled")),
            ready(primary),
            None,
            None,
            vec![],
        ),
        (
            "failover",
            Some(ready(primary)),
            ready(secondary),
            None,
            None,
            vec![(Warning, "FailoverToSecondary")],
        ),
        (
            "failback",
            Some(ready(secondary)),
            ready(primary),
            None,
            None,
            vec![(Normal, "FailbackToPrimary")],
        ),
        (
            "health first known",
            Some(ready(None)),
            ready(secondary),
            None,
            None,
            vec![],
        ),
        (
            "unknown is not a failover",
            Some(ready(primary)),
            ready(Some(ActiveSide::Unknown)),
            None,
            None,
            vec![],
        ),
    ];
    for (case, before, after, applied, left_zone, expected) in table {
        let plan = applied.map(|(does, drift)| (plan(does), drift));
        let notes = choose(Reconciled {
            before: before.as_ref(),
            after: &after,
            applied: plan.as_ref().map(|(plan, drift)| Applied {
                plan,
                drift: *drift,
            }),
            left_zone,
        });
        assert_eq!(reasons(&notes), expected, "{case}");
    }
}

#[test]
fn a_failure_event_carries_the_conditions_message() {
    let notes = choose(Reconciled {
        before: None,
        after: &status(Some("InvalidSpec"), None, false),
        applied: None,
        left_zone: None,
    });
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].message, "InvalidSpec happened");
}

#[test]
fn an_update_names_the_settings_it_changed() {
    let plan = plan(&[Does::UpdateCheck]);
    let notes = choose(Reconciled {
        before: None,
        after: &status(Some("Reconciled"), None, true),
        applied: Some(Applied {
            plan: &plan,
            drift: false,
        }),
        left_zone: None,
    });
    assert_eq!(
        notes[0].message,
        "updated the health check: path, failureThreshold"
    );
}

#[test]
fn cleanup_warns_when_it_leaves_a_check_in_use() {
    let clean = cleanup_done(&Removal {
        removed: true,
        kept: Default::default(),
    });
    assert_eq!(
        (clean.severity, clean.reason),
        (Normal, Reason::CleanupDone)
    );
    let kept = cleanup_done(&Removal {
        removed: true,
        kept: ["hc-1".to_string()].into(),
    });
    assert_eq!((kept.severity, kept.reason), (Warning, Reason::CleanupDone));
    assert!(kept.message.contains("hc-1"), "{}", kept.message);
    let nothing = cleanup_done(&Removal::default());
    assert!(
        nothing.message.starts_with("nothing"),
        "{}",
        nothing.message
    );
}

#[test]
fn a_dry_run_speaks_only_when_something_would_change() {
    assert_eq!(dry_run(&plan(&[])), None);
    let note = dry_run(&plan(&[Does::CreateCheck, Does::WriteRecords])).map(|n| n.message);
    assert_eq!(
        note.as_deref(),
        Some("dry run, nothing written: would create 1 health check(s), apply 1 record change(s)")
    );
}

/// `status(...)` with a `DNSAnswer` condition of this reason and a failback
/// state.
fn watched(dns: Option<&str>, failback: Option<FailbackState>) -> FailoverRecordStatus {
    let mut s = status(Some("Reconciled"), Some(ActiveSide::Primary), true);
    if let Some(reason) = dns {
        s.conditions.push(Condition {
            type_: "DNSAnswer".into(),
            status: "Unknown".into(),
            reason: reason.into(),
            message: format!("{reason} message"),
            observed_generation: Some(1),
            last_transition_time: time(),
        });
    }
    s.failback = failback.map(|state| crate::api::FailbackStatus {
        state,
        message: "primary healthy again, failback waiting for approval".into(),
        latch_check_id: None,
        since: time(),
    });
    s
}

#[test]
fn dns_answer_and_failback_events_mark_transitions_only() {
    let reasons = |before: &FailoverRecordStatus, after: &FailoverRecordStatus| {
        choose(Reconciled {
            before: Some(before),
            after,
            applied: None,
            left_zone: None,
        })
        .into_iter()
        .map(|n| (n.severity, n.reason.as_str()))
        .collect::<Vec<_>>()
    };
    let fine = watched(Some("AnswerMatchesPrimary"), None);
    let table = [
        (
            "unreachable starts",
            fine.clone(),
            watched(Some("NameServersUnreachable"), None),
            vec![(Severity::Warning, "NameServersUnreachable")],
        ),
        (
            "unreachable goes on",
            watched(Some("NameServersUnreachable"), None),
            watched(Some("NameServersUnreachable"), None),
            vec![],
        ),
        (
            "answers again",
            watched(Some("ResolverUnreachable"), None),
            fine.clone(),
            vec![(Severity::Normal, "DNSAnswerRestored")],
        ),
        (
            "neither side",
            fine.clone(),
            watched(Some("AnswerMatchesNeitherSide"), None),
            vec![(Severity::Warning, "AnswerMatchesNeitherSide")],
        ),
        (
            "ambiguous is no alarm",
            fine.clone(),
            watched(Some("AnswerAmbiguous"), None),
            vec![],
        ),
        (
            "failback starts waiting",
            watched(Some("AnswerMatchesSecondary"), Some(FailbackState::Held)),
            watched(
                Some("AnswerMatchesSecondary"),
                Some(FailbackState::WaitingForApproval),
            ),
            vec![(Severity::Normal, "FailbackWaitingForApproval")],
        ),
        (
            "still waiting",
            watched(None, Some(FailbackState::WaitingForApproval)),
            watched(None, Some(FailbackState::WaitingForApproval)),
            vec![],
        ),
    ];
    for (case, before, after, expected) in table {
        assert_eq!(reasons(&before, &after), expected, "{case}");
    }
    assert_eq!(
        failback(&failback::Told::Refused("why".into())).reason,
        Reason::RequestRefused
    );
}

#[test]
fn an_event_with_another_message_is_not_counted_as_the_first_one() {
    let refused = super::action_of("unknown request \"bogus\"");
    assert_eq!(refused, super::action_of("unknown request \"bogus\""));
    assert_ne!(refused, super::action_of("nothing to approve"));
    assert!(refused.starts_with("Reconcile-") && refused.len() <= 128);
}

#[test]
fn a_forced_failover_is_not_told_as_a_failure_of_the_primary() {
    use crate::api::{FailbackState, FailbackStatus, Health, TargetStatus};
    let before = status(Some("Reconciled"), Some(ActiveSide::Primary), true);
    let mut after = status(Some("Reconciled"), Some(ActiveSide::Secondary), true);
    after.primary = Some(TargetStatus {
        health: Some(Health::Healthy),
        ..TargetStatus::default()
    });
    after.failback = Some(FailbackStatus {
        state: FailbackState::WaitingForApproval,
        message: "primary healthy again, failback waiting for approval".into(),
        latch_check_id: None,
        since: time(),
    });
    let notes = choose(Reconciled {
        before: Some(&before),
        after: &after,
        applied: None,
        left_zone: None,
    });
    let failover = notes
        .iter()
        .find(|n| n.reason == Reason::FailoverToSecondary)
        .expect("a FailoverToSecondary event");
    assert!(failover.message.contains("forced"), "{}", failover.message);
    assert!(
        !failover.message.contains("unhealthy"),
        "{}",
        failover.message
    );
}

#[test]
fn a_take_over_that_writes_only_the_marker_says_so_and_one_side_is_named_alone() {
    let first = |plan: &RecordPlan| {
        choose(Reconciled {
            before: None,
            after: &status(Some("Reconciled"), Some(ActiveSide::Primary), true),
            applied: Some(Applied { plan, drift: false }),
            left_zone: None,
        })
    };
    // `import` then apply: the pair matches, only the marker is written.
    let mut marker_only = RecordPlan::new(&Owner::new("test", "web", "www"), "Z1");
    marker_only.changes.push(PlannedChange {
        action: ChangeAction::Create,
        record: RecordSet {
            name: "_dnsfailover-a.www.example.com.".into(),
            rr_type: RrType::TXT,
            set_identifier: None,
            failover: None,
            ttl: Some(300),
            values: vec!["\"heritage=dnsfailover\"".into()],
            alias: None,
            health_check_id: None,
            other_routing: None,
        },
        health_check: None,
    });
    let notes = first(&marker_only);
    assert_eq!(reasons(&notes), vec![(Normal, "TakenOver")]);
    assert!(notes[0].message.contains("no record set changed"));

    // `manage: Secondary`: only that side is created, and said so.
    let notes = first(&plan(&[Does::WriteRecords]));
    assert_eq!(reasons(&notes), vec![(Normal, "RecordsCreated")]);
    assert_eq!(notes[0].message, "created the SECONDARY record set");
}
