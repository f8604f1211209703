//! The standalone commands over manifests: `plan`, `apply`, `delete` and
//! `status`, each admitting every manifest before any Route 53 call, and
//! printing what happened as text or JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;

use super::{Common, Exit, Output, fail, render, workflow};
use crate::core::report::{self, Category, Report, SideReport};
use crate::engine::{Engine, Outcome};
use crate::manifest;
use crate::route53::Route53;
use crate::route53::resilient::Resilient;

pub(super) fn report_calls<R: Route53>(common: &Common, r53: &Resilient<R>) {
    if common.output == Output::Text {
        eprint!(
            "{}",
            render::calls(&r53.stats().snapshot(), r53.stats().rate_limit_wait())
        );
    }
}

/// Load and admit every manifest; on any problem print them all.
pub(super) fn admit(common: &Common) -> Result<Vec<workflow::Admitted>, Exit> {
    let documents = manifest::load(&common.files).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Invalid
    })?;
    workflow::admit_all(&documents, &common.aws.owner_id).map_err(|rejected| {
        eprint!("{}", render::rejected(&rejected));
        eprintln!(
            "error: {} of {} manifests are invalid; nothing was sent to Route 53",
            rejected.len(),
            documents.len()
        );
        Exit::Invalid
    })
}

/// Admit, place and plan; the shared front half of `plan`, `apply` and `status`.
async fn prepare<R: Route53>(common: &Common, engine: &Engine<R>) -> Result<Prepared, Exit> {
    let admitted = admit(common)?;
    let warnings: BTreeMap<String, Vec<String>> = admitted
        .iter()
        .map(|a| (a.desired.owner.to_string(), a.desired.warnings.clone()))
        .collect();
    let placed = workflow::place_all(engine, admitted).await;
    if !placed.rejected.is_empty() {
        eprint!("{}", render::rejected(&placed.rejected));
        let invalid = placed
            .rejected
            .iter()
            .all(|r| r.category == Category::InvalidSpec);
        eprintln!(
            "error: {} manifests cannot be placed in a hosted zone; nothing was written to Route 53",
            placed.rejected.len()
        );
        return Err(if invalid { Exit::Invalid } else { Exit::Failed });
    }
    let (snapshot, plans) = workflow::plan_all(engine, &placed.records)
        .await
        .map_err(|e| fail(&e.to_string()))?;
    Ok(Prepared {
        records: placed.records,
        plans,
        snapshot,
        warnings,
        empty: crate::core::plan::ZoneRecords::default(),
    })
}

struct Prepared {
    records: Vec<(String, crate::core::desired::PlacedRecord)>,
    plans: Vec<crate::core::plan::RecordPlan>,
    snapshot: crate::engine::Snapshot,
    warnings: BTreeMap<String, Vec<String>>,
    empty: crate::core::plan::ZoneRecords,
}

impl Prepared {
    fn observed(&self, zone_id: &str) -> crate::core::plan::Observed<'_> {
        self.snapshot
            .observed(zone_id)
            .unwrap_or(crate::core::plan::Observed {
                records: &self.empty,
                health_checks: &self.snapshot.health_checks,
                tags: &self.snapshot.tags,
            })
    }

    fn print_plan(&self, output: Output) {
        match output {
            Output::Text => {
                for ((source, _), plan) in self.records.iter().zip(&self.plans) {
                    let warnings = self
                        .warnings
                        .get(&plan.owner.to_string())
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    print!("{}", render::plan(source, plan, warnings));
                }
                let changing = self.plans.iter().filter(|p| !p.is_empty()).count();
                let conflicts = self
                    .plans
                    .iter()
                    .filter(|p| !p.conflicts.is_empty())
                    .count();
                let writes: usize = self.plans.iter().map(|p| p.write_count()).sum();
                println!(
                    "Plan: {} FailoverRecord(s), {changing} to change, {conflicts} in conflict; at most {writes} Route 53 writes (record changes of one zone share batches).",
                    self.plans.len()
                );
            }
            Output::Json => {
                let records: Vec<_> = self
                    .records
                    .iter()
                    .zip(&self.plans)
                    .map(|((source, record), plan)| json!({"source": source, "fqdn": record.fqdn, "zone": record.zone, "warnings": record.desired.warnings, "plan": plan}))
                    .collect();
                println!("{}", json!({"records": records}));
            }
        }
    }
}

pub(super) async fn plan<R: Route53>(common: &Common, engine: &Engine<R>, exit_code: bool) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    prepared.print_plan(common.output);
    if prepared.plans.iter().any(|p| !p.conflicts.is_empty()) {
        Exit::Conflict
    } else if exit_code && prepared.plans.iter().any(|p| !p.is_empty()) {
        Exit::PlanNotEmpty
    } else {
        Exit::Ok
    }
}

pub(super) async fn apply<R: Route53>(
    common: &Common,
    engine: &Engine<Resilient<R>>,
    wait: bool,
    wait_timeout: Duration,
) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(exit) => {
            report_calls(common, engine.route53());
            return exit;
        }
    };
    if common.output == Output::Text {
        prepared.print_plan(common.output);
    }
    let outcomes = workflow::execute(engine, &prepared.plans, wait_timeout).await;
    let labelled: Vec<(&str, &crate::core::plan::RecordPlan)> = prepared
        .records
        .iter()
        .map(|(source, _)| source.as_str())
        .zip(&prepared.plans)
        .collect();
    let mut exit = finish(common, engine.route53(), &labelled, &outcomes);
    if wait {
        let timeout = wait_timeout;
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
            match engine.wait_insync(&ids, timeout).await {
                Ok(states)
                    if states
                        .values()
                        .all(|s| *s == crate::route53::ChangeState::InSync) =>
                {
                    eprintln!("all {} changes are INSYNC", states.len());
                }
                Ok(states) => {
                    let pending = states
                        .values()
                        .filter(|s| **s != crate::route53::ChangeState::InSync)
                        .count();
                    eprintln!(
                        "error: {pending} changes still PENDING after {}s",
                        timeout.as_secs()
                    );
                    exit = Exit::Failed;
                }
                Err(e) => exit = fail(&e.to_string()),
            }
        }
    }
    exit
}

/// The Route 53 requests made, for the JSON output.
fn calls_json<R: Route53>(r53: &Resilient<R>) -> serde_json::Value {
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

/// Print what happened to each plan and the requests made; return the exit code.
fn finish<R: Route53>(
    common: &Common,
    r53: &Resilient<R>,
    plans: &[(&str, &crate::core::plan::RecordPlan)],
    outcomes: &[Outcome],
) -> Exit {
    match common.output {
        Output::Text => {
            for ((_, plan), outcome) in plans.iter().zip(outcomes) {
                println!("{}", render::outcome(&plan.owner.to_string(), outcome));
            }
            report_calls(common, r53);
        }
        Output::Json => {
            let records: Vec<_> = plans
                .iter()
                .zip(outcomes)
                .map(|((source, plan), outcome)| json!({"source": source, "resource": plan.owner.to_string(), "plan": plan, "outcome": outcome}))
                .collect();
            println!(
                "{}",
                json!({"records": records, "requests": calls_json(r53)})
            );
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_)))
        .count();
    let conflicts = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Conflict(_)))
        .count();
    let waiting = outcomes
        .iter()
        .filter(
            |o| matches!(o, Outcome::Changed { waiting_checks, .. } if !waiting_checks.is_empty()),
        )
        .count();
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} FailoverRecords failed; run again to continue from where it stopped",
            outcomes.len()
        );
        Exit::Failed
    } else if conflicts > 0 {
        eprintln!(
            "error: {conflicts} FailoverRecords are in conflict with record sets dnsfailover does not own; nothing was written for them"
        );
        Exit::Conflict
    } else if waiting > 0 {
        eprintln!(
            "error: {waiting} FailoverRecords keep a health check the record sets used until Route 53 reports their change INSYNC; run again to delete it"
        );
        Exit::Failed
    } else {
        Exit::Ok
    }
}

pub(super) async fn delete<R: Route53>(
    common: &Common,
    engine: &Engine<Resilient<R>>,
    wait_timeout: Duration,
) -> Exit {
    let documents = match manifest::load(&common.files) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let targets = match workflow::delete_targets(&documents, &common.aws.owner_id) {
        Ok(t) => t,
        Err(rejected) => {
            eprint!("{}", render::rejected(&rejected));
            return Exit::Invalid;
        }
    };
    let plans = match workflow::plan_deletes(engine, &targets).await {
        Ok(p) => p,
        Err(e) => {
            report_calls(common, engine.route53());
            return fail(&e.to_string());
        }
    };
    let mut to_apply: Vec<(&str, crate::core::plan::RecordPlan)> = Vec::new();
    for (target, plan) in targets.iter().zip(plans) {
        match plan {
            Some(plan) => {
                if common.output == Output::Text {
                    print!("{}", render::plan(&target.source, &plan, &[]));
                }
                to_apply.push((&target.source, plan));
            }
            None if common.output == Output::Text => {
                println!("{}: deletionPolicy Retain; left in Route 53", target.owner)
            }
            None => {}
        }
    }
    let plans: Vec<crate::core::plan::RecordPlan> =
        to_apply.iter().map(|(_, p)| p.clone()).collect();
    let outcomes = workflow::execute(engine, &plans, wait_timeout).await;
    let labelled: Vec<(&str, &crate::core::plan::RecordPlan)> =
        to_apply.iter().map(|(s, p)| (*s, p)).collect();
    finish(common, engine.route53(), &labelled, &outcomes)
}

pub(super) async fn status<R: Route53>(common: &Common, engine: &Engine<R>) -> Exit {
    let prepared = match prepare(common, engine).await {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let mut statuses = Vec::new();
    let mut exit = Exit::Ok;
    for ((source, record), plan) in prepared.records.iter().zip(&prepared.plans) {
        let mut sides = BTreeMap::new();
        for (role, (record_set, check)) in
            crate::engine::serving(record, prepared.observed(&record.zone.id))
        {
            let health = match check {
                Some(check) => match engine.health_of(check).await {
                    Ok(h) => Some(h),
                    Err(e) => {
                        eprintln!(
                            "warning: {}: cannot read the health of {}: {e}",
                            record.desired.owner, check.id
                        );
                        None
                    }
                },
                None => None,
            };
            if record_set.is_some() {
                sides.insert(
                    role,
                    SideReport {
                        set_identifier: record_set.and_then(|r| r.set_identifier.clone()),
                        health_check_id: check.map(|c| c.id.clone()),
                        has_check: check.is_some(),
                        health,
                    },
                );
            }
        }
        if !plan.conflicts.is_empty() {
            exit = Exit::Conflict;
        }
        let report = Report {
            generation: None,
            fqdn: Some(record.fqdn.clone()),
            hosted_zone_id: Some(record.zone.id.clone()),
            sides,
            remaining: Some(plan.clone()),
            error: None,
            change: None,
            dns: None,
        };
        statuses.push((
            source.clone(),
            record.desired.owner.to_string(),
            record.desired.rr_type.clone(),
            report::build(&report, None, now.clone()),
        ));
    }
    match common.output {
        Output::Text => {
            for (source, owner, rr_type, s) in &statuses {
                print!("{}", render::status(source, owner, rr_type, s));
            }
        }
        Output::Json => {
            let list: Vec<_> = statuses
                .iter()
                .map(|(source, owner, _, s)| json!({"source": source, "resource": owner, "status": s}))
                .collect();
            println!("{}", json!({"records": list}));
        }
    }
    exit
}
