//! `dnsfailover failover -f FILE` and `dnsfailover failback -f FILE`: steer
//! the failback latch of FailoverRecords with `failback: Manual` directly in
//! Route 53, without a cluster (in one, annotate the FailoverRecord instead:
//! the controller acts on the same latch).
//!
//! Only the latch changes: a manifest that Route 53 does not match yet is
//! refused (run `dnsfailover apply` first), so steering never applies an
//! edit by surprise.

use std::time::Duration;

use super::commands::{admit, failed};
use super::{Common, Exit, Output, fail, workflow};
use crate::api::Health;
use crate::core::desired::LatchWant;
use crate::core::plan::{self, Observed, ZoneRecords};
use crate::engine::{self, Engine, Outcome};
use crate::route53::{Counted, Failover, Route53};

/// Which way to steer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Steer {
    /// Hold DNS on the secondary.
    Failover,
    /// Approve failback: follow the primary's health again.
    Failback,
}

pub(super) async fn steer<R: Route53 + Counted>(
    common: &Common,
    engine: &Engine<R>,
    steer: Steer,
    insync_timeout: Duration,
) -> Exit {
    let admitted = match admit(common) {
        Ok(admitted) => admitted,
        Err(failure) => return failed(common, failure),
    };
    let automatic: Vec<String> = admitted
        .iter()
        .filter(|a| !a.desired.manual_failback)
        .map(|a| a.source.clone())
        .collect();
    if !automatic.is_empty() {
        eprintln!(
            "error: {}: spec.failback is Automatic, so Route 53 alone decides and there is no latch to steer; set failback: Manual and apply; nothing was sent to Route 53",
            automatic.join(", ")
        );
        return Exit::Invalid;
    }
    let placed = workflow::place_all(engine, admitted).await;
    if let Some(rejected) = placed.rejected.first() {
        return fail(&format!("{}: {}", rejected.source, rejected.error));
    }
    let (snapshot, current) = match workflow::plan_all(engine, &placed.records).await {
        Ok(planned) => planned,
        Err(e) => return fail(&e.to_string()),
    };
    let empty = ZoneRecords::default();
    let mut plans = Vec::new();
    let mut exit = Exit::Ok;
    for ((source, record), now) in placed.records.iter().zip(&current) {
        if !now.is_empty() || !now.conflicts.is_empty() {
            eprintln!(
                "error: {source}: Route 53 does not match the manifest ({}): run dnsfailover apply first",
                now.summary()
            );
            exit = Exit::Failed;
            continue;
        }
        let observed = snapshot.observed(&record.zone.id).unwrap_or(Observed {
            records: &empty,
            health_checks: &snapshot.health_checks,
            tags: &snapshot.tags,
        });
        let holding = engine::latch(record, observed).is_some_and(|l| l.config.holds());
        let want = match steer {
            Steer::Failover if holding => {
                println!("{source}: DNS is already held on the secondary");
                continue;
            }
            Steer::Failover => LatchWant::Hold,
            Steer::Failback if !holding => {
                println!("{source}: nothing to approve: DNS follows the primary's health");
                continue;
            }
            Steer::Failback => {
                // One GetHealthCheckStatus: approving while the primary is
                // down would send users back to it as soon as it flickers.
                let serving = engine::serving(record, observed);
                let check = serving.get(&Failover::Primary).and_then(|(_, c)| *c);
                let health = match check {
                    Some(check) => engine.health_of(check).await.map(|h| h.health),
                    None => Ok(Health::Unknown),
                };
                match health {
                    Ok(Health::Healthy) => LatchWant::Release,
                    Ok(other) => {
                        eprintln!(
                            "error: {source}: the primary is {other:?} to Route 53's check: failback stays held; approve again once it is healthy"
                        );
                        exit = Exit::Failed;
                        continue;
                    }
                    Err(e) => {
                        eprintln!("error: {source}: cannot read the primary's health: {e}");
                        exit = Exit::Failed;
                        continue;
                    }
                }
            }
        };
        let mut record = record.clone();
        record.desired.latch = want;
        plans.push((source.clone(), plan::plan_apply(&record, observed)));
    }
    let only: Vec<plan::RecordPlan> = plans.iter().map(|(_, p)| p.clone()).collect();
    let outcomes = workflow::execute(engine, &only, insync_timeout).await;
    for ((source, plan), outcome) in plans.iter().zip(&outcomes) {
        match outcome {
            Outcome::Failed(e) => {
                eprintln!("error: {source}: {e}; run the command again");
                exit = Exit::Failed;
            }
            Outcome::Conflict(_) => {
                eprintln!("error: {source}: conflicting record sets; nothing was written");
                exit = Exit::Conflict;
            }
            _ => println!(
                "{source}: {}",
                match steer {
                    Steer::Failover =>
                        "the failback latch holds DNS on the secondary until failback is approved",
                    Steer::Failback => "failback approved: DNS follows the primary's health again",
                }
            ),
        }
        if common.output == Output::Json {
            println!("{}", serde_json::json!({"source": source, "plan": plan}));
        }
    }
    super::commands::report_calls(common, engine.route53());
    exit
}
