//! Human-readable output of plans, outcomes, status and call counts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::api::FailoverRecordStatus;
use crate::core::plan::{CheckRef, DeleteReason, PlannedChange, RecordPlan};
use crate::engine::Outcome;
use crate::route53::{ChangeAction, Operation, OperationStats, RecordSet, RrType};

use super::workflow::Rejected;

pub fn rejected(rejected: &[Rejected]) -> String {
    let mut out = String::new();
    for r in rejected {
        let _ = writeln!(out, "error: {}: {}", r.source, r.error);
    }
    out
}

fn record_line(record: &RecordSet, check: Option<&CheckRef>) -> String {
    if record.rr_type == RrType::TXT && record.name.starts_with("_dnsfailover-") {
        return format!("{} TXT (ownership marker)", record.name);
    }
    let mut line = format!("{} {}", record.name, record.rr_type);
    if let Some(id) = &record.set_identifier {
        let _ = write!(line, " {id}");
    }
    if let Some(role) = record.failover {
        let _ = write!(line, " {}", role.as_route53());
    }
    if let Some(alias) = &record.alias {
        let _ = write!(
            line,
            " alias {} ({}{})",
            alias.dns_name,
            alias.hosted_zone_id,
            if alias.evaluate_target_health {
                ", evaluates target health"
            } else {
                ""
            }
        );
    } else {
        let _ = write!(line, " {}", record.values.join(" "));
        if let Some(ttl) = record.ttl {
            let _ = write!(line, " ttl {ttl}");
        }
    }
    match check {
        Some(CheckRef::Existing(id)) => {
            let _ = write!(line, " health check {id}");
        }
        Some(CheckRef::Created(role)) => {
            let _ = write!(line, " health check (new {role})");
        }
        Some(CheckRef::Latch) => {
            let _ = write!(line, " health check (new failback latch)");
        }
        None => {}
    }
    line
}

fn change_line(change: &PlannedChange) -> String {
    let sign = match change.action {
        ChangeAction::Create => "+",
        ChangeAction::Delete => "-",
        ChangeAction::Upsert => "~",
    };
    format!(
        "  {sign} record {}",
        record_line(&change.record, change.health_check.as_ref())
    )
}

/// One record's plan, as a diff.
pub fn plan(source: &str, plan: &RecordPlan, warnings: &[String]) -> String {
    let mut out = String::new();
    let target = match (&plan.fqdn, &plan.rr_type) {
        (Some(fqdn), Some(rr_type)) => format!("{fqdn} {rr_type}"),
        _ => "(no record sets)".to_string(),
    };
    let _ = writeln!(
        out,
        "{} → {target} in zone {}",
        plan.owner,
        if plan.zone_id.is_empty() {
            "(none)"
        } else {
            &plan.zone_id
        }
    );
    let _ = writeln!(out, "  from {source}");
    for warning in warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    for conflict in &plan.conflicts {
        let _ = writeln!(
            out,
            "  ! conflict ({}): {}",
            conflict.kind.as_str(),
            conflict.message
        );
    }
    for dispute in &plan.disputes {
        let _ = writeln!(out, "  ! dispute: {}", dispute.message);
    }
    for create in &plan.create_checks {
        let _ = writeln!(
            out,
            "  + health check {}: {}",
            create.role,
            create.config.summary()
        );
    }
    for update in &plan.update_checks {
        let _ = writeln!(
            out,
            "  ~ health check {} {}: change {} → {}",
            update.role,
            update.id,
            update.changed.join(", "),
            update.update.config.summary()
        );
    }
    for retag in &plan.retag_checks {
        let keys: Vec<&str> = retag.add.keys().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  ~ health check {} {}: tags {}",
            retag.role,
            retag.id,
            keys.join(", ")
        );
    }
    for change in &plan.changes {
        let _ = writeln!(out, "{}", change_line(change));
    }
    for delete in &plan.delete_checks {
        let why = match delete.reason {
            DeleteReason::Replaced => "replaced: an immutable setting changed",
            DeleteReason::NoLongerWanted => "no longer in the spec",
            DeleteReason::Duplicate => "duplicate left by an interrupted run",
            DeleteReason::ResourceDeleted => "FailoverRecord deleted",
        };
        let _ = writeln!(
            out,
            "  - health check {} {} ({why})",
            delete.role, delete.id
        );
    }
    if plan.is_empty() && plan.conflicts.is_empty() && plan.disputes.is_empty() {
        let _ = writeln!(out, "  = no changes");
    }
    out
}

/// The monthly cost of the checks a plan creates, changes or deletes.
pub fn cost(priced: &crate::core::cost::PlanCost) -> String {
    use crate::core::cost;
    let mut out = String::new();
    if priced.items.is_empty() {
        return out;
    }
    let items: Vec<String> = priced
        .items
        .iter()
        .map(|i| {
            let what = if i.latch {
                "failback latch".to_string()
            } else {
                i.role.to_string()
            };
            format!("{} {what} {}", i.action, i.cost.describe())
        })
        .collect();
    let _ = writeln!(
        out,
        "  $ health checks {}/month: {}",
        cost::change(priced.monthly_change),
        items.join("; ")
    );
    out
}

pub fn outcome(owner: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unchanged => format!("{owner}: unchanged"),
        Outcome::Changed {
            change,
            created_checks,
            deleted_checks,
            waiting_checks,
        } => {
            let mut parts = Vec::new();
            if let Some(change) = change {
                parts.push(format!(
                    "change {} {}",
                    change.id,
                    change.status.as_route53()
                ));
            }
            if !created_checks.is_empty() {
                parts.push(format!(
                    "created health check {}",
                    created_checks.join(", ")
                ));
            }
            if !deleted_checks.is_empty() {
                parts.push(format!(
                    "deleted health check {}",
                    deleted_checks.join(", ")
                ));
            }
            if !waiting_checks.is_empty() {
                parts.push(format!(
                    "kept health check {} until the change is INSYNC: run again to delete it",
                    waiting_checks.join(", ")
                ));
            }
            format!("{owner}: changed ({})", parts.join("; "))
        }
        Outcome::Conflict(conflicts) => {
            let messages: Vec<&str> = conflicts.iter().map(|c| c.message.as_str()).collect();
            format!(
                "{owner}: conflict, nothing written: {}",
                messages.join("; ")
            )
        }
        Outcome::Failed(e) => format!("{owner}: failed: {e}"),
    }
}

pub fn calls(stats: &BTreeMap<Operation, OperationStats>, waited: Duration) -> String {
    let mut out = String::from("Route 53 requests:\n");
    let mut total = 0;
    let mut writes = 0;
    let mut throttled = 0;
    for (op, s) in stats {
        let _ = write!(out, "  {:<26} {:>6}", op.as_str(), s.requests);
        if s.throttled > 0 || s.failed > 0 {
            let _ = write!(out, "  ({} throttled, {} failed)", s.throttled, s.failed);
        }
        out.push('\n');
        total += s.requests;
        throttled += s.throttled;
        if op.is_write() {
            writes += s.requests;
        }
    }
    let _ = writeln!(
        out,
        "  {total} requests, {writes} of them writes, {throttled} throttled; {:.1}s waiting for the rate limiter",
        waited.as_secs_f64()
    );
    out
}

pub fn status(
    source: &str,
    owner: &str,
    rr_type: &RrType,
    status: &FailoverRecordStatus,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{owner} → {} {rr_type} in zone {}",
        status.fqdn.as_deref().unwrap_or("?"),
        status.hosted_zone_id.as_deref().unwrap_or("?")
    );
    let _ = writeln!(out, "  from {source}");
    for (role, side) in [
        ("primary", &status.primary),
        ("secondary", &status.secondary),
    ] {
        match side {
            Some(side) => {
                let check = match (&side.health_check_id, side.health) {
                    (Some(id), Some(health)) => format!(
                        "health check {id}: {health:?} ({} checkers healthy)",
                        side.checkers_healthy.as_deref().unwrap_or("?")
                    ),
                    (Some(id), None) => format!("health check {id}"),
                    (None, _) => "no health check (always healthy to Route 53)".to_string(),
                };
                let _ = writeln!(
                    out,
                    "  {role:<9} set {:<12} {check}",
                    side.set_identifier.as_deref().unwrap_or("-")
                );
            }
            None => {
                let _ = writeln!(out, "  {role:<9} not in Route 53");
            }
        }
    }
    if let Some(active) = status.active {
        let _ = writeln!(out, "  active: {active:?}");
    }
    if let Some(failback) = &status.failback {
        let _ = writeln!(
            out,
            "  failback: {:?}: {}",
            failback.state, failback.message
        );
    }
    for condition in &status.conditions {
        let _ = writeln!(
            out,
            "  {:<18} {:<5} {}: {}",
            condition.type_, condition.status, condition.reason, condition.message
        );
    }
    out
}
