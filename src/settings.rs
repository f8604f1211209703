//! Settings the CLI and the controller share: how to reach Route 53 and how
//! much of its budget to use, durations on the command line, and logging.
//!
//! Both `dnsfailover run` and the standalone commands flatten [`AwsArgs`]
//! into their options, so a flag means the same everywhere.

use std::time::Duration;

use clap::Args;

use crate::route53::aws::{AwsRoute53, AwsSettings};
use crate::route53::resilient::Resilient;
use crate::route53::{Backoff, RateBudget};

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
    /// The AWS SDK adapter behind the rate limiter and retries.
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

/// `200ms`, `90s`, `5m`, `1h` (any `humantime` duration) or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let parsed = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().map(Duration::from_secs).ok()
    } else {
        humantime::parse_duration(s).ok()
    };
    parsed.ok_or_else(|| format!("{s:?} is not a duration such as 200ms, 90s, 5m or 1h"))
}

/// Format of the logs on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs on stderr, filtered by `DNSFAILOVER_LOG` (such as `debug` or
/// `dnsfailover=debug,kube=info`).
pub fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DNSFAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colours only for a person at a terminal: not in files, pipes or CI
    // logs, and never when NO_COLOR is set (no-color.org).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // A second subscriber (tests that start several) is refused; the first stays.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units_or_plain_seconds() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
    }
}
