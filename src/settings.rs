//! Settings the CLI and the controller share: how to reach Route 53 and how
//! much of its budget to use, durations on the command line, and logging.
//!
//! Both `dnsfailover run` and the standalone commands flatten [`AwsArgs`]
//! into their options, so a flag means the same everywhere.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::api::HostedZoneRef;
use crate::route53::aws::{AssumeRole, AwsRoute53, AwsSettings};
use crate::route53::resilient::Resilient;
use crate::route53::routed::Routed;
use crate::route53::{Backoff, RateBudget, bare_zone_id, names};

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

    /// A role to assume for a hosted zone in another account, as
    /// ZONE=ROLE_ARN with the zone's id or name (repeatable, or
    /// comma-separated). A FailoverRecord's `hostedZone.roleArn` comes first.
    #[arg(long = "zone-role", env = "DNSFAILOVER_ZONE_ROLES", value_delimiter = ',', value_parser = parse_zone_role)]
    pub zone_roles: Vec<ZoneRole>,

    /// STS endpoint for assuming those roles, such as an emulator
    /// (AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL are honoured too).
    #[arg(long, env = "DNSFAILOVER_STS_ENDPOINT")]
    pub sts_endpoint: Option<String>,

    /// Session name of the assumed roles, as CloudTrail shows it.
    #[arg(
        long,
        env = "DNSFAILOVER_ROLE_SESSION_NAME",
        default_value = "dnsfailover"
    )]
    pub role_session_name: String,

    /// `sts:ExternalId` to assume the roles with, when their trust policy
    /// asks for one.
    #[arg(long, env = "DNSFAILOVER_ROLE_EXTERNAL_ID")]
    pub role_external_id: Option<String>,
}

/// A hosted zone (by id or name) and the role that reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRole {
    pub zone: String,
    pub role_arn: String,
}

fn parse_zone_role(s: &str) -> Result<ZoneRole, String> {
    let (zone, role) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: use ZONE=ROLE_ARN"))?;
    let (zone, role) = (zone.trim(), role.trim());
    if zone.is_empty() || crate::route53::routed::account_of(role).is_none() {
        return Err(format!(
            "{s:?}: use ZONE=ROLE_ARN with a zone id or name and a role ARN such as arn:aws:iam::123456789012:role/dns"
        ));
    }
    Ok(ZoneRole {
        zone: zone.trim_start_matches("/hostedzone/").to_string(),
        role_arn: role.to_string(),
    })
}

impl AwsArgs {
    /// The AWS SDK adapter behind the rate limiter and retries.
    pub async fn connect(&self) -> Resilient<AwsRoute53> {
        Resilient::new(self.adapter(None).await, self.budget(), self.backoff())
    }

    /// Route 53 in every account a hosted zone may need: one client per
    /// role, made on first use (caching its credentials), one budget per
    /// account, requests sent where they belong ([`Routed`]).
    pub fn routed(&self) -> Routed<AwsRoute53> {
        let args = Arc::new(self.clone());
        Routed::new(
            self.budget(),
            self.backoff(),
            self.zone_roles
                .iter()
                .map(|z| (z.zone.clone(), z.role_arn.clone())),
            Arc::new(move |role| {
                let args = args.clone();
                Box::pin(async move { args.adapter(role).await })
            }),
        )
    }

    /// The role to assume for a hosted zone: its own `roleArn`, else the
    /// one `--zone-role` gives its id or name, else none.
    pub fn role_for(&self, zone: &HostedZoneRef) -> Option<String> {
        if let Some(role) = &zone.role_arn {
            return Some(role.clone());
        }
        let id = zone.id.as_deref().map(bare_zone_id);
        let name = zone.name.as_deref().map(names::normalize);
        self.zone_roles
            .iter()
            .find(|z| {
                Some(&z.zone) == id.as_ref()
                    || name.as_deref() == Some(names::normalize(&z.zone).as_str())
            })
            .map(|z| z.role_arn.clone())
    }

    async fn adapter(&self, role: Option<String>) -> AwsRoute53 {
        AwsRoute53::connect(&AwsSettings {
            endpoint: self.route53_endpoint.clone(),
            region: self.region.clone(),
            request_timeout: None,
            credentials: None,
            assume_role: role.map(|role_arn| AssumeRole {
                role_arn,
                session_name: self.role_session_name.clone(),
                external_id: self.role_external_id.clone(),
                sts_endpoint: self.sts_endpoint.clone(),
            }),
        })
        .await
    }

    fn budget(&self) -> RateBudget {
        RateBudget {
            requests_per_second: self.rate_limit,
            burst: self.rate_burst,
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            max_attempts: self.max_attempts,
            ..Backoff::default()
        }
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
    fn a_zone_takes_the_role_its_spec_names_else_the_one_mapped_to_its_id_or_name() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            aws: AwsArgs,
        }
        let cli = Cli::try_parse_from([
            "dnsfailover",
            "--zone-role",
            "example.com=arn:aws:iam::111111111111:role/dns",
            "--zone-role",
            "/hostedzone/Z0123=arn:aws:iam::222222222222:role/dns",
        ])
        .expect("parses");
        let zone = |json: serde_json::Value| -> HostedZoneRef {
            serde_json::from_value(json).expect("a zone")
        };
        assert_eq!(
            cli.aws
                .role_for(&zone(serde_json::json!({"name": "Example.com."})))
                .as_deref(),
            Some("arn:aws:iam::111111111111:role/dns")
        );
        assert_eq!(
            cli.aws
                .role_for(&zone(serde_json::json!({"id": "Z0123"})))
                .as_deref(),
            Some("arn:aws:iam::222222222222:role/dns")
        );
        assert_eq!(
            cli.aws
                .role_for(&zone(serde_json::json!({"name": "example.com", "roleArn": "arn:aws:iam::333333333333:role/x"})))
                .as_deref(),
            Some("arn:aws:iam::333333333333:role/x")
        );
        assert_eq!(
            cli.aws
                .role_for(&zone(serde_json::json!({"name": "other.example"}))),
            None
        );
        assert!(
            Cli::try_parse_from(["dnsfailover", "--zone-role", "example.com=not-a-role"]).is_err()
        );
    }

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
