//! Why a standalone command stopped, told the same way whatever stopped it:
//! as `error:` lines on stderr, or with `-o json` as one JSON document on
//! stdout (scripts that asked for JSON get JSON, errors included).

use serde_json::{Value, json};

use super::workflow::Rejected;
use super::{Exit, Output};
use crate::route53::{CallStats, Operation};

/// A command's failure: its exit code, what to tell, and which manifests
/// are at fault.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    pub detail: Option<String>,
    pub problems: Vec<Rejected>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            detail: None,
            problems: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_problems(mut self, problems: Vec<Rejected>) -> Self {
        self.problems = problems;
        self
    }

    /// The failure as the `error` member of a JSON document.
    pub fn to_json(&self) -> Value {
        let mut error = json!({
            "exitCode": self.exit as i32,
            "reason": format!("{:?}", self.exit),
            "message": self.message,
        });
        if let Some(detail) = &self.detail {
            error["detail"] = json!(detail);
        }
        if !self.problems.is_empty() {
            error["problems"] = json!(self.problems);
        }
        error
    }

    /// Tell it: on stderr as text, or as one JSON document on stdout.
    pub fn print(&self, output: Output) {
        match output {
            Output::Text => {
                if let Some(detail) = &self.detail {
                    eprint!("{detail}");
                }
                eprint!("{}", super::render::rejected(&self.problems));
                if self.detail.is_none() {
                    eprintln!("error: {}", self.message);
                }
            }
            Output::Json => println!("{}", json!({ "error": self.to_json() })),
        }
    }
}

/// Whether the command line asks for JSON output, read without clap (for
/// clap's own errors).
pub fn json_requested(args: impl Iterator<Item = String>) -> bool {
    let args: Vec<String> = args.collect();
    args.windows(2)
        .any(|w| matches!(w[0].as_str(), "-o" | "--output") && w[1] == "json")
        || args
            .iter()
            .any(|a| a == "-ojson" || a == "--output=json" || a == "-o=json")
}

/// The signal that stopped the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

/// Resolves when SIGINT (Ctrl-C) or SIGTERM arrives.
pub async fn interruption() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
        }
    }
    // Without a signal handler the command simply runs to its end.
    match tokio::signal::ctrl_c().await {
        Ok(()) => Signal::Interrupt,
        Err(_) => std::future::pending().await,
    }
}

/// What an interrupted run had done, and why running it again is safe.
pub fn interrupted(signal: Signal, stats: &CallStats) -> Failure {
    let done = |op: Operation| stats.succeeded(op);
    let (name, exit) = match signal {
        Signal::Interrupt => ("SIGINT", Exit::Interrupted),
        Signal::Terminate => ("SIGTERM", Exit::Terminated),
    };
    Failure::new(
        exit,
        format!(
            "interrupted by {name} after {} Route 53 requests: {} health checks created, {} updated, {} change batches written, {} health checks deleted. \
             Nothing is half-written: a change batch applies whole or not at all, and a health check created without its records is found again by its caller reference. \
             Running the same command again is safe and continues from what Route 53 holds.",
            stats.total_requests(),
            done(Operation::CreateHealthCheck),
            done(Operation::UpdateHealthCheck),
            done(Operation::ChangeResourceRecordSets),
            done(Operation::DeleteHealthCheck),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_recognised_in_every_spelling() {
        for args in [
            &["x", "apply", "-o", "json"][..],
            &["x", "--output", "json"],
            &["x", "-ojson"],
            &["x", "--output=json"],
        ] {
            assert!(
                json_requested(args.iter().map(|s| s.to_string())),
                "{args:?}"
            );
        }
        assert!(!json_requested(
            ["x", "-o", "text", "json"].iter().map(|s| s.to_string())
        ));
    }

    #[test]
    fn an_interruption_says_what_was_done_and_that_rerunning_is_safe() {
        let stats = CallStats::default();
        stats.record(Operation::CreateHealthCheck, Ok(()));
        stats.record(Operation::CreateHealthCheck, Ok(()));
        stats.record(Operation::ChangeResourceRecordSets, Ok(()));
        let failure = interrupted(Signal::Interrupt, &stats);
        assert_eq!(failure.exit, Exit::Interrupted);
        assert!(
            failure.message.contains("2 health checks created"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("1 change batches written"));
        assert!(failure.message.contains("again is safe"));
        assert_eq!(interrupted(Signal::Terminate, &stats).exit as i32, 143);
    }
}
