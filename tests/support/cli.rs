//! Running the `dnsfailover` binary as a user does, and reading what it
//! prints: shared by the CLI end-to-end suites.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Moto;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with a clean AWS environment, pointed at `moto` (or, without
/// one, at a port where nothing answers).
pub fn command(moto: Option<&Moto>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dnsfailover"));
    command
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROUTE_53")
        .env_remove("DNSFAILOVER_LOG");
    match moto {
        Some(moto) => {
            command.envs(moto.env());
        }
        None => {
            // Anything sent would go nowhere and fail slowly with exit code 1.
            command
                .env("DNSFAILOVER_ROUTE53_ENDPOINT", "http://127.0.0.1:9")
                .env("AWS_ACCESS_KEY_ID", "x")
                .env("AWS_SECRET_ACCESS_KEY", "x");
        }
    }
    command
}

pub fn finished(output: Output) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = output;
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn dnsfailover(moto: Option<&Moto>, args: &[&str]) -> Run {
    finished(command(moto, args).output().expect("run dnsfailover"))
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write manifest");
    path
}

/// Requests by operation from the "Route 53 requests:" summary on stderr.
pub fn requests(stderr: &str, operation: &str) -> u64 {
    stderr
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(operation))
                .then(|| words.next().and_then(|n| n.parse().ok()))
                .flatten()
        })
        .unwrap_or(0)
}

pub fn writes(stderr: &str) -> u64 {
    [
        "ChangeResourceRecordSets",
        "CreateHealthCheck",
        "UpdateHealthCheck",
        "DeleteHealthCheck",
        "ChangeTagsForResource",
    ]
    .iter()
    .map(|op| requests(stderr, op))
    .sum()
}

/// The total from the summary's last line ("N requests, M of them writes, ...").
pub fn total_requests(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|line| line.contains(" of them writes"))
        .find_map(|line| line.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
