//! The `dnsfailover` command line: the standalone mode (`plan`, `apply`,
//! `delete`, `status` over manifests, no cluster needed; `failover` and
//! `failback` to steer the failback latch) and `crd`.
//!
//! Exit codes are part of the interface (see [`Exit`]).

mod commands;
mod render;
mod steer;
pub mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api;
use crate::engine::Engine;
use crate::settings::{AwsArgs, LogFormat, init_logging, parse_duration};

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
    /// Make Route 53 match the manifests: health checks, then record sets,
    /// then (once that change is INSYNC) the health checks no longer used.
    Apply {
        #[command(flatten)]
        common: Common,
        /// Wait until Route 53 reports the changes INSYNC on all its name servers.
        #[arg(long)]
        wait: bool,
        /// Give up waiting for INSYNC after this long (for example 90s, 5m),
        /// both for --wait and before deleting a replaced health check.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        wait_timeout: Duration,
    },
    /// Remove the record sets and then, once that change is INSYNC, the
    /// health checks the manifests created (skipping those with
    /// `deletionPolicy: Retain`).
    Delete {
        #[command(flatten)]
        common: Common,
        /// Give up waiting for the record removal to be INSYNC after this
        /// long; the health checks then stay until the next run.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        wait_timeout: Duration,
    },
    /// Show what Route 53 holds for the manifests and how healthy it is.
    Status {
        #[command(flatten)]
        common: Common,
    },
    /// Hold DNS on the secondary of FailoverRecords with `failback: Manual`
    /// (maintenance of the primary), until `dnsfailover failback` approves
    /// the return. Only the failback latch changes in Route 53.
    Failover {
        #[command(flatten)]
        common: Common,
    },
    /// Approve failback of FailoverRecords with `failback: Manual` whose
    /// primary is healthy again: DNS follows the primary's health again.
    /// Refused while Route 53 sees the primary unhealthy.
    Failback {
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
        _ => init_logging(LogFormat::Text, "warn"),
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
            commands::plan(
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
            commands::apply(&common, &engine, wait, wait_timeout).await
        }
        Command::Delete {
            common,
            wait_timeout,
        } => {
            let r53 = common.aws.connect().await;
            let engine = Engine::new(r53, common.aws.owner_id.clone());
            commands::delete(&common, &engine, wait_timeout).await
        }
        Command::Status { common } => {
            let r53 = common.aws.connect().await;
            commands::status(&common, &Engine::new(r53, common.aws.owner_id.clone())).await
        }
        Command::Failover { common } => steer_with(&common, steer::Steer::Failover).await,
        Command::Failback { common } => steer_with(&common, steer::Steer::Failback).await,
    }
}

async fn steer_with(common: &Common, way: steer::Steer) -> Exit {
    let r53 = common.aws.connect().await;
    let engine = Engine::new(r53, common.aws.owner_id.clone());
    steer::steer(common, &engine, way, Duration::from_secs(60)).await
}

pub(super) fn fail(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Failed
}
