//! The `dnsfailover` command line: the standalone mode (`plan`, `apply`,
//! `delete`, `status` over manifests, no cluster needed) and `crd`.
//!
//! Exit codes are part of the interface (see [`Exit`]).

mod commands;
mod failure;
mod gc;
mod import;
mod progress;
pub mod removal;
mod render;
mod steer;
pub mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api;
use crate::engine::Engine;
use crate::route53::Counted;
use crate::settings::{AwsArgs, LogFormat, init_logging, parse_duration};

/// Exit codes scripts can rely on (README, "exit code").
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
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
    /// `plan --exit-code`: Route 53 does not match the manifests;
    /// `status --exit-code`: a FailoverRecord is not Ready.
    PlanNotEmpty = 5,
    /// No hosted zone matches `spec.hostedZone`.
    ZoneNotFound = 6,
    /// Several hosted zones match `spec.hostedZone.name`.
    ZoneAmbiguous = 7,
    /// No usable AWS credentials.
    Credentials = 8,
    /// Stopped by SIGINT (128 + 2).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

impl Exit {
    /// The exit code a reconcile failure calls for.
    pub fn of_error(error: &crate::engine::ReconcileError) -> Self {
        use crate::engine::ReconcileError as E;
        match error {
            E::InvalidSpec(_) | E::NameOutsideZone(_) | E::Oversized(_) => Self::Invalid,
            E::ZoneNotFound { .. } => Self::ZoneNotFound,
            E::ZoneAmbiguous { .. } => Self::ZoneAmbiguous,
            E::Conflict(_) => Self::Conflict,
            E::Route53(e) => Self::of_route53(e),
            E::TargetNotReady(_) | E::AwaitingChange { .. } => Self::Failed,
        }
    }

    /// The exit code a failed Route 53 request calls for.
    pub fn of_route53(error: &crate::route53::Route53Error) -> Self {
        match error.kind {
            crate::route53::ErrorKind::Credentials => Self::Credentials,
            _ => Self::Failed,
        }
    }

    /// Of several failures, the one to exit with: the most specific.
    pub fn worst(self, other: Exit) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Ok => 0,
            Exit::PlanNotEmpty => 1,
            Exit::Conflict => 2,
            Exit::Failed => 3,
            _ => 4,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
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
    #[command(override_usage = "dnsfailover plan -f FILE|DIR|- [OPTIONS]")]
    Plan {
        #[command(flatten)]
        common: Common,
        /// Exit with code 5 when there is something to change.
        #[arg(long)]
        exit_code: bool,
    },
    /// Make Route 53 match the manifests: health checks, then record sets,
    /// then (once that change is INSYNC) the health checks no longer used.
    #[command(
        override_usage = "dnsfailover apply -f FILE|DIR|- [--wait [--wait-timeout 5m]] [OPTIONS]"
    )]
    Apply {
        #[command(flatten)]
        common: Common,
        /// Wait until Route 53 reports the changes INSYNC on all its name servers.
        #[arg(long)]
        wait: bool,
        /// With --wait: give up waiting for INSYNC after this long (for
        /// example 90s, 5m); also how long a replaced health check waits for
        /// INSYNC before it is deleted (default 5m).
        #[arg(long, default_value = "5m", value_parser = parse_duration, requires = "wait")]
        wait_timeout: Duration,
    },
    /// Remove the record sets and then, once that change is INSYNC, the
    /// health checks the manifests created (skipping those with
    /// `deletionPolicy: Retain`).
    #[command(override_usage = "dnsfailover delete -f FILE|DIR|- [--wait-timeout 5m] [OPTIONS]")]
    Delete {
        #[command(flatten)]
        common: Common,
        /// Give up waiting for the record removal to be INSYNC after this
        /// long; the health checks then stay until the next run.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        wait_timeout: Duration,
    },
    /// Show what Route 53 holds for the manifests and how healthy it is.
    #[command(override_usage = "dnsfailover status -f FILE|DIR|- [--exit-code] [OPTIONS]")]
    Status {
        #[command(flatten)]
        common: Common,
        /// Exit with code 5 when a FailoverRecord is not Ready.
        #[arg(long)]
        exit_code: bool,
    },
    /// Print the FailoverRecord that describes an existing failover pair and
    /// its health checks exactly. Applying it takes them over (adoptExisting)
    /// with no record change. Read-only.
    Import {
        #[command(flatten)]
        args: import::ImportArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// List the health checks this owner made that no FailoverRecord and no
    /// record set uses any more, with what they cost; `--delete` removes them.
    Gc {
        #[command(flatten)]
        args: gc::GcArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Hold DNS on the secondary of FailoverRecords with `failback: Manual`
    /// (maintenance of the primary), until `dnsfailover failback` approves
    /// the return. Only the failback latch changes in Route 53.
    #[command(override_usage = "dnsfailover failover -f FILE|DIR|- [OPTIONS]")]
    Failover {
        #[command(flatten)]
        common: Common,
    },
    /// Approve failback of FailoverRecords with `failback: Manual` whose
    /// primary is healthy again: DNS follows the primary's health again.
    /// Refused while Route 53 sees the primary unhealthy.
    #[command(override_usage = "dnsfailover failback -f FILE|DIR|- [OPTIONS]")]
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
        Err(e) if e.use_stderr() && failure::json_requested(std::env::args()) => {
            failure::Failure::new(Exit::Usage, e.kind().to_string())
                .with_detail(e.render().to_string())
                .print(Output::Json);
            return Exit::Usage.into();
        }
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
    let (common, command) = match cli.command {
        Command::Run(args) => {
            return match crate::controller::run::run(*args).await {
                Ok(()) => Exit::Ok,
                Err(e) => fail(&e.to_string()),
            };
        }
        Command::Crd => {
            return match api::crd_yaml() {
                Ok(yaml) => {
                    print!("{yaml}");
                    Exit::Ok
                }
                Err(e) => fail(&format!("cannot render the CRD: {e}")),
            };
        }
        Command::Plan { common, exit_code } => (common, Standalone::Plan { exit_code }),
        Command::Apply {
            common,
            wait,
            wait_timeout,
        } => (common, Standalone::Apply { wait, wait_timeout }),
        Command::Delete {
            common,
            wait_timeout,
        } => (common, Standalone::Delete { wait_timeout }),
        Command::Status { common, exit_code } => (common, Standalone::Status { exit_code }),
        Command::Gc { args, aws } => {
            let engine = Engine::new(aws.routed(), aws.owner_id.clone());
            return gc::gc(&args, &engine).await;
        }
        Command::Import { args, aws } => return import::import(&args, &aws).await,
        Command::Failover { common } => (common, Standalone::Steer(steer::Steer::Failover)),
        Command::Failback { common } => (common, Standalone::Steer(steer::Steer::Failback)),
    };
    let r53 = common.aws.routed();
    let stats = r53.stats().clone();
    let engine = Engine::new(r53, common.aws.owner_id.clone());
    let budget = crate::route53::RateBudget {
        requests_per_second: common.aws.rate_limit,
        burst: common.aws.rate_burst,
    };
    let progress = progress::Progress::start(stats.clone(), budget, common.output);
    let work = async {
        match command {
            Standalone::Plan { exit_code } => commands::plan(&common, &engine, exit_code).await,
            Standalone::Apply { wait, wait_timeout } => {
                commands::apply(&common, &engine, &progress, wait, wait_timeout).await
            }
            Standalone::Delete { wait_timeout } => {
                commands::delete(&common, &engine, &progress, wait_timeout).await
            }
            Standalone::Status { exit_code } => commands::status(&common, &engine, exit_code).await,
            Standalone::Steer(way) => {
                steer::steer(&common, &engine, way, Duration::from_secs(60)).await
            }
        }
    };
    let exit = tokio::select! {
        exit = work => exit,
        signal = failure::interruption() => {
            progress.finish();
            let failure = failure::interrupted(signal, &stats);
            failure.print(common.output);
            failure.exit
        }
    };
    progress.finish();
    exit
}

/// The standalone commands, with their own options.
enum Standalone {
    Plan {
        exit_code: bool,
    },
    Apply {
        wait: bool,
        wait_timeout: Duration,
    },
    Delete {
        wait_timeout: Duration,
    },
    Status {
        exit_code: bool,
    },
    /// `failover` or `failback`: the failback latch.
    Steer(steer::Steer),
}

pub(super) fn fail(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Failed
}
