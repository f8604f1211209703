//! The standalone commands over manifests: `plan`, `apply`, `delete` and
//! `status`, each admitting every manifest before any Route 53 call, and
//! printing what happened as text or JSON (one document, errors included).
//!
//! Long because it holds the four commands, each with its text and its JSON
//! output side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use super::failure::Failure;
use super::progress::Progress;
use super::{Common, Exit, Output, removal, render, workflow};
use crate::core::cost;
use crate::core::plan::RecordPlan;
use crate::core::report::{self, ConditionStatus, Report};
use crate::engine::{Engine, Outcome};
use crate::manifest;
use crate::route53::{ChangeState, Counted, Route53};

pub(super) fn report_calls(common: &Common, r53: &impl Counted) {
    if common.output == Output::Text {
        eprint!(
            "{}",
            render::calls(&r53.stats().snapshot(), r53.stats().rate_limit_wait())
        );
    }
}

/// Tell a failure the way the output asks, and return its exit code.
pub(super) fn failed(common: &Common, failure: Failure) -> Exit {
    failure.print(common.output);
    failure.exit
}

/// Read every manifest, bounded in size and depth.
fn load(common: &Common) -> Result<Vec<manifest::Document>, Failure> {
    manifest::load(&common.files).map_err(|e| Failure::new(Exit::Invalid, e.to_string()))
}

/// Load and admit every manifest; on any problem name them all.
pub(super) fn admit(common: &Common) -> Result<Vec<workflow::Admitted>, Failure> {
    let documents = load(common)?;
    workflow::admit_all(&documents, &common.aws.owner_id).map_err(|rejected| {
        Failure::new(
            Exit::Invalid,
            format!(
                "{} of {} manifests are invalid; nothing was sent to Route 53",
                rejected.len(),
                documents.len()
            ),
        )
        .with_problems(rejected)
    })
}

/// Admit, place and plan; the shared front half of `plan`, `apply` and `status`.
async fn prepare<R: Route53>(common: &Common, engine: &Engine<R>) -> Result<Prepared, Failure> {
    let admitted = admit(common)?;
    let placed = workflow::place_all(engine, admitted).await;
    if !placed.rejected.is_empty() {
        let exit = placed
            .rejected
            .iter()
            .fold(Exit::Ok, |exit, r| exit.worst(r.exit));
        return Err(Failure::new(
            exit,
            format!(
                "{} manifests cannot be placed in a hosted zone; nothing was written to Route 53",
                placed.rejected.len()
            ),
        )
        .with_problems(placed.rejected));
    }
    let (snapshot, plans) = workflow::plan_all(engine, &placed.records)
        .await
        .map_err(|e| Failure::new(Exit::of_route53(&e), e.to_string()))?;
    Ok(Prepared {
        records: placed.records,
        plans,
        snapshot,
    })
}

struct Prepared {
    records: Vec<(String, crate::core::desired::PlacedRecord)>,
    plans: Vec<RecordPlan>,
    snapshot: crate::engine::Snapshot,
}

impl Prepared {
    fn print_plan(&self) {
        let mut cost_change = 0.0;
        for ((source, record), plan) in self.records.iter().zip(&self.plans) {
            print!("{}", render::plan(source, plan, &record.desired.warnings));
            let priced = cost::of_plan(plan, &self.snapshot.health_checks);
            print!("{}", render::cost(&priced));
            cost_change += priced.monthly_change;
        }
        let changing = self.plans.iter().filter(|p| !p.is_empty()).count();
        let conflicts = self
            .plans
            .iter()
            .filter(|p| !p.conflicts.is_empty() || !p.disputes.is_empty())
            .count();
        let writes: usize = self.plans.iter().map(|p| p.write_count()).sum();
        let records: usize = self.plans.iter().map(|p| p.record_change_count()).sum();
        let markers: usize = self.plans.iter().map(|p| p.marker_change_count()).sum();
        println!(
            "Plan: {} FailoverRecord(s), {changing} to change, {conflicts} in conflict; {records} record change(s) and {markers} ownership marker change(s); at most {writes} Route 53 writes (record changes of one zone share batches).",
            self.plans.len()
        );
        println!(
            "Health checks: {}/month from the checks this plan creates, changes or deletes ({}; an account's first 50 checks on AWS endpoints are free of the basic charge).",
            cost::change(cost_change),
            cost::PRICE_LIST
        );
    }

    fn plans_json(&self) -> Vec<Value> {
        self.records
            .iter()
            .zip(&self.plans)
            .map(|((source, record), plan)| json!({"source": source, "fqdn": record.fqdn, "zone": record.zone, "warnings": record.desired.warnings, "plan": plan, "recordChanges": plan.record_change_count(), "markerChanges": plan.marker_change_count(), "cost": cost::of_plan(plan, &self.snapshot.health_checks)}))
            .collect()
    }

    /// What the plans do to the monthly cost of health checks, and the prices.
    fn cost_json(&self) -> Value {
        let total: f64 = self
            .plans
            .iter()
            .map(|p| cost::of_plan(p, &self.snapshot.health_checks).monthly_change)
            .sum();
        json!({"monthlyChange": total, "currency": "USD", "priceList": cost::PRICE_LIST, "prices": cost::PRICES})
    }
}

/// Print a JSON document, with the failure that ends the command if any.
fn print_json(mut document: Value, failure: Option<&Failure>) {
    if let Some(failure) = failure {
        document["error"] = failure.to_json();
    }
    println!("{document}");
}

pub(super) async fn plan<R: Route53>(common: &Common, engine: &Engine<R>, exit_code: bool) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(failure) => return failed(common, failure),
    };
    let failure = if prepared.plans.iter().any(|p| !p.conflicts.is_empty()) {
        Some(Failure::new(
            Exit::Conflict,
            "record sets at these names belong to someone else; apply would write nothing for them",
        ))
    } else if prepared.plans.iter().any(|p| !p.disputes.is_empty()) {
        Some(Failure::new(
            Exit::Conflict,
            "another dnsfailover owner of these names disagrees (see the disputes); each keeps what it holds",
        ))
    } else if exit_code && prepared.plans.iter().any(|p| !p.is_empty()) {
        Some(Failure::new(
            Exit::PlanNotEmpty,
            "Route 53 does not match the manifests",
        ))
    } else {
        None
    };
    match common.output {
        Output::Text => prepared.print_plan(),
        Output::Json => print_json(
            json!({"records": prepared.plans_json(), "cost": prepared.cost_json()}),
            failure.as_ref(),
        ),
    }
    failure.map_or(Exit::Ok, |f| f.exit)
}

pub(super) async fn apply<R: Route53 + Counted>(
    common: &Common,
    engine: &Engine<R>,
    progress: &Progress,
    wait: bool,
    wait_timeout: Duration,
) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(failure) => {
            let exit = failed(common, failure);
            report_calls(common, engine.route53());
            return exit;
        }
    };
    if common.output == Output::Text {
        prepared.print_plan();
    }
    progress.expect(&prepared.plans);
    let outcomes = workflow::execute(engine, &prepared.plans, wait_timeout).await;
    progress.finish();
    let labelled: Vec<(&str, &RecordPlan)> = prepared
        .records
        .iter()
        .map(|(source, _)| source.as_str())
        .zip(&prepared.plans)
        .collect();
    let mut failure = summarize(&outcomes, &prepared.plans);
    let mut waited = None;
    if common.output == Output::Text {
        print_outcomes(common, engine.route53(), &labelled, &outcomes);
    }
    if wait {
        let ids: BTreeSet<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Changed {
                    change: Some(c), ..
                } => Some(c.id.clone()),
                _ => None,
            })
            .collect();
        if !ids.is_empty() {
            match engine.wait_insync(&ids, wait_timeout).await {
                Ok(states) => {
                    let pending = states
                        .values()
                        .filter(|s| **s != ChangeState::InSync)
                        .count();
                    if pending == 0 {
                        if common.output == Output::Text {
                            eprintln!("all {} changes are INSYNC", states.len());
                        }
                    } else {
                        failure.get_or_insert(Failure::new(
                            Exit::Failed,
                            format!(
                                "{pending} changes still PENDING after {}s",
                                wait_timeout.as_secs()
                            ),
                        ));
                    }
                    waited = Some(states);
                }
                Err(e) => {
                    failure.get_or_insert(Failure::new(Exit::of_route53(&e), e.to_string()));
                }
            }
        }
    }
    match common.output {
        Output::Text => {
            if let Some(failure) = &failure {
                failure.print(Output::Text);
            }
        }
        Output::Json => {
            let mut document = outcomes_json(engine.route53(), &labelled, &outcomes);
            if let Some(states) = waited {
                document["changes"] = json!(states);
            }
            print_json(document, failure.as_ref());
        }
    }
    failure.map_or(Exit::Ok, |f| f.exit)
}

/// The Route 53 requests made, for the JSON output.
fn calls_json(r53: &impl Counted) -> Value {
    let stats = r53.stats();
    let by_operation: BTreeMap<&str, _> = stats
        .snapshot()
        .into_iter()
        .map(|(op, s)| (op.as_str(), s))
        .collect();
    json!({
        "byOperation": by_operation,
        "total": stats.total_requests(),
        "writes": stats.write_requests(),
        "rateLimitWaitSeconds": stats.rate_limit_wait().as_secs_f64(),
    })
}

fn print_outcomes(
    common: &Common,
    r53: &impl Counted,
    plans: &[(&str, &RecordPlan)],
    outcomes: &[Outcome],
) {
    for ((_, plan), outcome) in plans.iter().zip(outcomes) {
        println!("{}", render::outcome(&plan.owner.to_string(), outcome));
        for kept in &plan.kept_checks {
            println!(
                "  kept health check {kept}: a record set this FailoverRecord does not own still uses it"
            );
        }
    }
    report_calls(common, r53);
}

fn outcomes_json(r53: &impl Counted, plans: &[(&str, &RecordPlan)], outcomes: &[Outcome]) -> Value {
    let records: Vec<_> = plans
        .iter()
        .zip(outcomes)
        .map(|((source, plan), outcome)| json!({"source": source, "resource": plan.owner.to_string(), "plan": plan, "outcome": outcome}))
        .collect();
    json!({"records": records, "requests": calls_json(r53)})
}

/// The failure, if any, that the outcomes of a run (and the disputes of
/// its plans) call for.
fn summarize(outcomes: &[Outcome], plans: &[RecordPlan]) -> Option<Failure> {
    let failed: Vec<&crate::route53::Route53Error> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(e) => Some(e),
            _ => None,
        })
        .collect();
    let conflicts = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Conflict(_)))
        .count();
    let disputed = plans.iter().filter(|p| !p.disputes.is_empty()).count();
    let waiting = outcomes
        .iter()
        .filter(
            |o| matches!(o, Outcome::Changed { waiting_checks, .. } if !waiting_checks.is_empty()),
        )
        .count();
    if !failed.is_empty() {
        let exit = failed
            .iter()
            .fold(Exit::Ok, |exit, e| exit.worst(Exit::of_route53(e)));
        Some(Failure::new(
            exit,
            format!(
                "{} of {} FailoverRecords failed; run again to continue from where it stopped",
                failed.len(),
                outcomes.len()
            ),
        ))
    } else if conflicts > 0 {
        Some(Failure::new(
            Exit::Conflict,
            format!(
                "{conflicts} FailoverRecords are in conflict with record sets dnsfailover does not own; nothing was written for them"
            ),
        ))
    } else if disputed > 0 {
        Some(Failure::new(
            Exit::Conflict,
            format!(
                "{disputed} FailoverRecords share their name with another dnsfailover owner that disagrees (see the disputes above); each keeps what it holds"
            ),
        ))
    } else if waiting > 0 {
        Some(Failure::new(
            Exit::Failed,
            format!(
                "{waiting} FailoverRecords keep a health check the record sets used until Route 53 reports their change INSYNC; run again to delete it"
            ),
        ))
    } else {
        None
    }
}

pub(super) async fn delete<R: Route53 + Counted>(
    common: &Common,
    engine: &Engine<R>,
    progress: &Progress,
    wait_timeout: Duration,
) -> Exit {
    let documents = match load(common) {
        Ok(d) => d,
        Err(failure) => return failed(common, failure),
    };
    let targets = match removal::delete_targets(&documents, &common.aws.owner_id) {
        Ok(t) => t,
        Err(rejected) => {
            return failed(
                common,
                Failure::new(
                    Exit::Invalid,
                    format!(
                        "{} manifests cannot be read for deletion; nothing was sent to Route 53",
                        rejected.len()
                    ),
                )
                .with_problems(rejected),
            );
        }
    };
    let deletions = match removal::plan_deletes(engine, &targets).await {
        Ok(p) => p,
        Err(e) => {
            let exit = failed(common, Failure::new(Exit::of_error(&e), e.to_string()));
            report_calls(common, engine.route53());
            return exit;
        }
    };
    let mut to_apply: Vec<(&str, &[RecordPlan], &RecordPlan)> = Vec::new();
    let mut left: Vec<(&str, &str)> = Vec::new();
    for (target, deletion) in targets.iter().zip(&deletions) {
        match deletion {
            removal::Deletion::Plan { first, plan } => {
                if common.output == Output::Text {
                    for plan in first.iter().chain([&**plan]) {
                        print!("{}", render::plan(&target.source, plan, &[]));
                    }
                }
                to_apply.push((&target.source, first, plan));
            }
            removal::Deletion::Retained => {
                if common.output == Output::Text {
                    println!("{}: deletionPolicy Retain; left in Route 53", target.owner);
                }
            }
            removal::Deletion::NotOurs(why) => {
                if common.output == Output::Text {
                    println!("{}: not deleted: {why}", target.owner);
                }
                left.push((&target.source, why));
            }
        }
    }
    let all: Vec<RecordPlan> = to_apply
        .iter()
        .flat_map(|(_, first, plan)| first.iter().chain([*plan]).cloned())
        .collect();
    progress.expect(&all);
    let runs: Vec<(&[RecordPlan], &RecordPlan)> = to_apply
        .iter()
        .map(|(_, first, plan)| (*first, *plan))
        .collect();
    let outcomes = removal::execute_deletions(engine, &runs, wait_timeout).await;
    progress.finish();
    let labelled: Vec<(&str, &RecordPlan)> = to_apply.iter().map(|(s, _, p)| (*s, *p)).collect();
    let mut failure = summarize(&outcomes, &[]);
    if failure.is_none() && !left.is_empty() {
        failure = Some(Failure::new(
            Exit::Conflict,
            format!(
                "{} FailoverRecords were not deleted: the record sets at their names are not theirs (no ownership marker of theirs claims them)",
                left.len()
            ),
        ));
    }
    match common.output {
        Output::Text => {
            print_outcomes(common, engine.route53(), &labelled, &outcomes);
            if let Some(failure) = &failure {
                failure.print(Output::Text);
            }
        }
        Output::Json => {
            let mut document = outcomes_json(engine.route53(), &labelled, &outcomes);
            document["notDeleted"] = json!(
                left.iter()
                    .map(|(source, why)| json!({"source": source, "reason": why}))
                    .collect::<Vec<_>>()
            );
            print_json(document, failure.as_ref());
        }
    }
    failure.map_or(Exit::Ok, |f| f.exit)
}

pub(super) async fn status<R: Route53>(
    common: &Common,
    engine: &Engine<R>,
    exit_code: bool,
) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(failure) => return failed(common, failure),
    };
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let mut statuses = Vec::new();
    let mut conflict = false;
    for ((source, record), plan) in prepared.records.iter().zip(&prepared.plans) {
        let observed = prepared.snapshot.observed_or_empty(&record.zone.id);
        let mut healths = BTreeMap::new();
        for check in crate::engine::watched_checks(record, observed) {
            match engine.health_of(check).await {
                Ok(h) => {
                    healths.insert(check.id.clone(), h);
                }
                Err(e) => eprintln!(
                    "warning: {}: cannot read the health of {}: {e}",
                    record.desired.owner, check.id
                ),
            }
        }
        let sides = crate::engine::side_reports(record, observed, |c| healths.get(&c.id).cloned());
        conflict |= !plan.conflicts.is_empty() || !plan.disputes.is_empty();
        let report = Report {
            generation: None,
            fqdn: Some(record.fqdn.clone()),
            hosted_zone_id: Some(record.zone.id.clone()),
            sides,
            remaining: Some(plan.clone()),
            error: None,
            change: None,
            disputes: Vec::new(),
            dns: None,
        };
        let mut status = report::build(&report, None, now.clone());
        status.failback = record.desired.manual_failback.then(|| {
            let latch = crate::engine::latch(record, observed);
            crate::core::failback::status(
                &record.desired.owner.name,
                latch.is_some_and(|l| l.config.holds()),
                status.primary.as_ref().and_then(|p| p.health),
                latch.map(|l| l.id.clone()),
                None,
                &now,
            )
        });
        statuses.push((
            source.clone(),
            record.desired.owner.to_string(),
            record.desired.rr_type.clone(),
            status,
        ));
    }
    let not_ready = statuses
        .iter()
        .filter(|(_, _, _, s)| {
            report::ready(Some(s)).is_none_or(|c| ConditionStatus::of(c) != ConditionStatus::True)
        })
        .count();
    let failure = if conflict {
        Some(Failure::new(
            Exit::Conflict,
            "record sets at these names belong to someone else",
        ))
    } else if exit_code && not_ready > 0 {
        Some(Failure::new(
            Exit::PlanNotEmpty,
            format!(
                "{not_ready} of {} FailoverRecords are not Ready",
                statuses.len()
            ),
        ))
    } else {
        None
    };
    match common.output {
        Output::Text => {
            for (source, owner, rr_type, s) in &statuses {
                print!("{}", render::status(source, owner, rr_type, s));
            }
            if let Some(failure) = &failure {
                failure.print(Output::Text);
            }
        }
        Output::Json => {
            let list: Vec<_> = statuses
                .iter()
                .map(|(source, owner, _, s)| json!({"source": source, "resource": owner, "status": s}))
                .collect();
            print_json(json!({"records": list}), failure.as_ref());
        }
    }
    failure.map_or(Exit::Ok, |f| f.exit)
}
