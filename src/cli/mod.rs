//! The `dnsfailover` command line: the standalone mode (`plan`, `apply`,
//! `delete`, `status` over manifests, no cluster needed) and `crd`.
//!
//! Exit codes are part of the interface (see [`Exit`]).

mod render;
pub mod workflow;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::api;
use crate::manifest;
use crate::reconcile::{Engine, Outcome};
use crate::route53::aws::{AwsRoute53, AwsSettings};
use crate::route53::resilient::Resilient;
use crate::route53::{Backoff, RateBudget, Route53};
use crate::status::{self, Report, SideReport};

/// Exit codes scripts can rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `plan --exit-code`: nothing to change.
    Ok = 0,
    /// A Route 53 request failed, or something else went wrong at run time.
    Failed = 1,
    /// The command line itself is wrong (clap's own code).
    Usage = 2,
    /// A manifest is invalid; nothing was sent to Route 53.
    Invalid = 3,
    /// A record set is owned by someone else; nothing was written for it.
    Conflict = 4,
    /// `plan --exit-code`: Route 53 does not match the manifests.
    PlanNotEmpty = 5,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Route 53 DNS failover from FailoverRecord manifests.
#[derive(Debug, Parser)]
#[command(name = "dnsfailover", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller: reconcile FailoverRecords in the cluster.
    Run(Box<crate::controller::run::RunArgs>),
    /// Print the FailoverRecord CustomResourceDefinition as YAML.
    Crd,
    /// Show what `apply` would change in Route 53. Read-only.
    Plan {
        #[command(flatten)]
        common: Common,
        /// Exit with code 5 when there is something to change.
        #[arg(long)]
        exit_code: bool,
    },
    /// Make Route 53 match the manifests: health checks, then record sets.
    Apply {
        #[command(flatten)]
        common: Common,
        /// Wait until Route 53 reports the changes INSYNC on all its name servers.
        #[arg(long)]
        wait: bool,
        /// Give up waiting for INSYNC after this long (for example 90s, 5m).
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        wait_timeout: Duration,
    },
    /// Remove the record sets and then the health checks the manifests created
    /// (skipping those with `deletionPolicy: Retain`).
    Delete {
        #[command(flatten)]
        common: Common,
    },
    /// Show what Route 53 holds for the manifests and how healthy it is.
    Status {
        #[command(flatten)]
        common: Common,
    },
}

/// Options shared by the commands that talk to Route 53.
#[derive(Debug, Args)]
struct Common {
    /// Manifest file, directory (its *.yaml, *.yml and *.json files) or `-`
    /// for standard input. Repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,

    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// How to reach Route 53 and how much of its budget to use.
#[derive(Debug, Args, Clone)]
pub struct AwsArgs {
    /// Route 53 endpoint, such as http://127.0.0.1:5000 for a local emulator.
    /// AWS_ENDPOINT_URL_ROUTE_53 and AWS_ENDPOINT_URL are honoured too.
    #[arg(long, env = "DNSFAILOVER_ROUTE53_ENDPOINT")]
    pub route53_endpoint: Option<String>,

    /// AWS region used to sign requests (Route 53 is global; default us-east-1).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,

    /// Identifies this installation in ownership markers and health-check
    /// references; installations with different ids never touch each other's
    /// records in a shared zone.
    #[arg(long, env = "DNSFAILOVER_OWNER_ID", default_value = "dnsfailover", value_parser = parse_owner_id)]
    pub owner_id: String,

    /// Route 53 requests per second this process may send. The AWS account
    /// allows 10 in all, shared with every other tool.
    #[arg(long, env = "DNSFAILOVER_RATE_LIMIT", default_value_t = 5.0, value_parser = parse_positive)]
    pub rate_limit: f64,

    /// Requests that may go out back to back after a quiet period.
    #[arg(long, env = "DNSFAILOVER_RATE_BURST", default_value_t = 10.0, value_parser = parse_positive)]
    pub rate_burst: f64,

    /// Attempts per request when Route 53 throttles, times out or fails (5xx).
    #[arg(long, env = "DNSFAILOVER_MAX_ATTEMPTS", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

impl AwsArgs {
    pub async fn connect(&self) -> Resilient<AwsRoute53> {
        let aws = AwsRoute53::connect(&AwsSettings {
            endpoint: self.route53_endpoint.clone(),
            region: self.region.clone(),
            request_timeout: None,
            credentials: None,
        })
        .await;
        Resilient::new(
            aws,
            RateBudget {
                requests_per_second: self.rate_limit,
                burst: self.rate_burst,
            },
            Backoff {
                max_attempts: self.max_attempts,
                ..Backoff::default()
            },
        )
    }
}

fn parse_owner_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("use 1-63 lower-case letters, digits and '-'".into())
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// `200ms`, `90s`, `5m`, `1h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let invalid = || format!("{s:?} is not a duration such as 200ms, 90s, 5m or 1h");
    let n: u64 = number.parse().map_err(|_| invalid())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(invalid()),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    match &cli.command {
        Command::Run(args) => init_logging(args.log_format, "info"),
        _ => init_logging(crate::controller::run::LogFormat::Text, "warn"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    runtime.block_on(run(cli)).into()
}

/// Logs on stderr, filtered by `DNSFAILOVER_LOG` (such as `debug` or
/// `dnsfailover=debug,kube=info`).
fn init_logging(format: crate::controller::run::LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DNSFAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::controller::run::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        crate::controller::run::LogFormat::Text => builder.try_init(),
    };
}

async fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => match crate::controller::run::run(*args).await {
            Ok(()) => Exit::Ok,
            Err(e) => fail(&e.to_string()),
        },
        Command::Crd => match api::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                Exit::Ok
            }
            Err(e) => fail(&format!("cannot render the CRD: {e}")),
        },
        Command::Plan { common, exit_code } => {
            let r53 = common.aws.connect().await;
            plan(
                &common,
                &Engine::new(r53, common.aws.owner_id.clone()),
                exit_code,
            )
            .await
        }
        Command::Apply {
            common,
            wait,
            wait_timeout,
        } => {
            let r53 = common.aws.connect().await;
            let engine = Engine::new(r53, common.aws.owner_id.clone());
            apply(&common, &engine, wait.then_some(wait_timeout)).await
        }
        Command::Delete { common } => {
            let r53 = common.aws.connect().await;
            let engine = Engine::new(r53, common.aws.owner_id.clone());
            delete(&common, &engine).await
        }
        Command::Status { common } => {
            let r53 = common.aws.connect().await;
            status(&common, &Engine::new(r53, common.aws.owner_id.clone())).await
        }
    }
}

fn fail(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Failed
}

fn report_calls<R: Route53>(common: &Common, r53: &Resilient<R>) {
    if common.output == Output::Text {
        eprint!(
            "{}",
            render::calls(&r53.stats().snapshot(), r53.stats().rate_limit_wait())
        );
    }
}

/// Load and admit every manifest; on any problem print them all.
fn admit(common: &Common) -> Result<Vec<workflow::Admitted>, Exit> {
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
        let invalid = placed.rejected.iter().all(|r| r.category == "InvalidSpec");
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
        empty: crate::plan::ZoneRecords::default(),
    })
}

struct Prepared {
    records: Vec<(String, crate::desired::PlacedRecord)>,
    plans: Vec<crate::plan::RecordPlan>,
    snapshot: crate::reconcile::Snapshot,
    warnings: BTreeMap<String, Vec<String>>,
    empty: crate::plan::ZoneRecords,
}

impl Prepared {
    fn observed(&self, zone_id: &str) -> crate::plan::Observed<'_> {
        self.snapshot
            .observed(zone_id)
            .unwrap_or(crate::plan::Observed {
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

async fn plan<R: Route53>(common: &Common, engine: &Engine<R>, exit_code: bool) -> Exit {
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

async fn apply<R: Route53>(
    common: &Common,
    engine: &Engine<Resilient<R>>,
    wait: Option<Duration>,
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
    let outcomes = engine.apply(&prepared.plans).await;
    let labelled: Vec<(&str, &crate::plan::RecordPlan)> = prepared
        .records
        .iter()
        .map(|(source, _)| source.as_str())
        .zip(&prepared.plans)
        .collect();
    let mut exit = finish(common, engine.route53(), &labelled, &outcomes);
    if let Some(timeout) = wait {
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
    plans: &[(&str, &crate::plan::RecordPlan)],
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
    } else {
        Exit::Ok
    }
}

async fn delete<R: Route53>(common: &Common, engine: &Engine<Resilient<R>>) -> Exit {
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
    let mut to_apply: Vec<(&str, crate::plan::RecordPlan)> = Vec::new();
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
    let plans: Vec<crate::plan::RecordPlan> = to_apply.iter().map(|(_, p)| p.clone()).collect();
    let outcomes = engine.apply(&plans).await;
    let labelled: Vec<(&str, &crate::plan::RecordPlan)> =
        to_apply.iter().map(|(s, p)| (*s, p)).collect();
    finish(common, engine.route53(), &labelled, &outcomes)
}

async fn status<R: Route53>(common: &Common, engine: &Engine<R>) -> Exit {
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
            crate::reconcile::serving(record, prepared.observed(&record.zone.id))
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
        };
        statuses.push((
            source.clone(),
            record.desired.owner.to_string(),
            record.desired.rr_type.clone(),
            status::build(&report, None, now.clone()),
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
