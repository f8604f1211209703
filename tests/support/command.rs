//! The `dnsfailover` binary run as a user runs it, against an emulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Moto;

/// How one run of the binary ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `dnsfailover ARGS` against `moto`, with `env` added.
pub fn dnsfailover_with(moto: &Moto, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dnsfailover"));
    command
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROUTE_53")
        .envs(moto.env())
        .envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run dnsfailover");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A manifest written to `dir`; its path as a string.
pub fn manifest(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.display().to_string()
}

/// Requests of one operation from the "Route 53 requests:" summary.
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
