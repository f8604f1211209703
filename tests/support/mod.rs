//! Test harness: a Route 53 emulator (moto's server) started and stopped by the
//! tests themselves, on a free loopback port.
//!
//! The emulator binary comes from `DNSFAILOVER_MOTO_SERVER` (set by `make
//! test`), else `.venv/bin/moto_server` in the repository. If neither exists
//! the test fails and says how to get it: a test that needs the emulator never
//! passes without it.

#![allow(dead_code)]

pub mod apiserver;
pub mod cli;
pub mod cluster;
pub mod control_plane;
pub mod dns;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dnsfailover::route53::Zone;
use dnsfailover::route53::aws::{AwsRoute53, AwsSettings};

pub struct Moto {
    child: Child,
    pub endpoint: String,
    log: tempfile::NamedTempFile,
}

fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("DNSFAILOVER_MOTO_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "DNSFAILOVER_MOTO_SERVER={} does not exist; run `make venv`",
            path.display()
        );
        return path;
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    assert!(
        local.exists(),
        "the Route 53 emulator is missing: run `make venv` (or `make test`), or set DNSFAILOVER_MOTO_SERVER to a moto_server binary"
    );
    local
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(stream.read(&mut buf), Ok(n) if n > 8 && buf.starts_with(b"HTTP/1."))
}

impl Moto {
    /// Start an emulator; panics with its log if it does not come up.
    pub fn start() -> Self {
        let binary = moto_binary();
        for _ in 0..3 {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("log file");
            let stderr = log.reopen().expect("log file");
            let stdout = log.reopen().expect("log file");
            let mut child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if answers(port) {
                    return Self {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                        log,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            if !text.contains("Address already in use") {
                panic!("moto_server did not answer on port {port}; its log:\n{text}");
            }
        }
        panic!("moto_server could not find a free port after 3 tries");
    }

    /// The AWS SDK adapter pointed at this emulator.
    pub async fn route53(&self) -> AwsRoute53 {
        AwsRoute53::connect(&AwsSettings {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            request_timeout: Some(Duration::from_secs(30)),
            credentials: Some(aws_sdk_route53::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            )),
            assume_role: None,
        })
        .await
    }

    /// Create a public hosted zone.
    pub async fn create_zone(&self, name: &str) -> Zone {
        let r53 = self.route53().await;
        let out = r53
            .client()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("zone-{name}-{}", fastrand::u64(..)))
            .send()
            .await
            .expect("create a zone in the emulator");
        let zone = out.hosted_zone().expect("zone in answer");
        Zone {
            id: zone.id().trim_start_matches("/hostedzone/").to_string(),
            name: dnsfailover::route53::names::normalize(zone.name()),
            private: false,
            name_servers: Vec::new(),
        }
    }

    /// Environment for running the CLI binary against this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DNSFAILOVER_ROUTE53_ENDPOINT", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PRIMARY failover record set someone else made, using health check `check`.
pub fn record_using(
    name: &str,
    set_identifier: &str,
    check: &str,
) -> dnsfailover::route53::RecordSet {
    dnsfailover::route53::RecordSet {
        name: name.into(),
        rr_type: dnsfailover::route53::RrType::A,
        set_identifier: Some(set_identifier.into()),
        failover: Some(dnsfailover::route53::Failover::Primary),
        ttl: Some(60),
        values: vec!["203.0.113.9".into()],
        alias: None,
        health_check_id: Some(check.into()),
        other_routing: None,
    }
}

/// A FailoverRecord spec for tests, in YAML.
pub fn spec(yaml: &str) -> dnsfailover::api::FailoverRecordSpec {
    serde_yaml::from_str(yaml).expect("test spec parses")
}

/// The classic walkthrough's spec with an address that Route 53 could check.
pub const CLASSIC: &str = r#"
hostedZone: {name: example.com}
name: examplefailover
ttl: 60
primary:
  addresses: [52.94.236.10]
  healthCheck: {protocol: HTTP, port: 80, path: /index.html, requestInterval: 10}
secondary:
  addresses: [52.94.236.20]
"#;

/// The in-memory Route 53 with one zone, and the engine over it.
pub struct FakeWorld<R> {
    pub fake: dnsfailover::route53::fake::FakeRoute53,
    pub zone: Zone,
    pub engine: dnsfailover::engine::Engine<R>,
}

impl FakeWorld<dnsfailover::route53::fake::FakeRoute53> {
    pub fn new() -> Self {
        let fake = dnsfailover::route53::fake::FakeRoute53::new();
        let zone = fake.create_zone("example.com", false);
        let engine = dnsfailover::engine::Engine::new(fake.clone(), "test");
        Self { fake, zone, engine }
    }
}

impl<R: dnsfailover::route53::Route53> FakeWorld<R> {
    /// Execute plans as the CLI does, polling for INSYNC without the CLI's
    /// pauses (the in-memory Route 53 answers at once).
    pub async fn execute(
        &self,
        plans: &[dnsfailover::core::plan::RecordPlan],
    ) -> Vec<dnsfailover::engine::Outcome> {
        dnsfailover::cli::workflow::execute_with(&self.engine, plans, quick_wait(&self.engine))
            .await
    }

    pub fn with_port(fake: dnsfailover::route53::fake::FakeRoute53, zone: Zone, port: R) -> Self {
        Self {
            fake,
            zone,
            engine: dnsfailover::engine::Engine::new(port, "test"),
        }
    }

    pub fn placed(
        &self,
        name: &str,
        spec: &dnsfailover::api::FailoverRecordSpec,
    ) -> dnsfailover::core::desired::PlacedRecord {
        dnsfailover::core::validate::desired_from_spec(
            dnsfailover::core::ownership::Owner::new("test", "default", name),
            spec,
        )
        .expect("valid spec")
        .place(self.zone.clone())
        .expect("fits the zone")
    }

    pub async fn plan(
        &self,
        record: &dnsfailover::core::desired::PlacedRecord,
    ) -> Result<dnsfailover::core::plan::RecordPlan, dnsfailover::route53::Route53Error> {
        let snapshot = self
            .engine
            .observe(&std::collections::BTreeSet::from([self.zone.id.clone()]))
            .await?;
        Ok(dnsfailover::core::plan::plan_apply(
            record,
            snapshot.observed(&self.zone.id).expect("zone observed"),
        ))
    }

    /// Observe, plan and apply once; a failed read counts as a failed run.
    pub async fn apply(
        &self,
        record: &dnsfailover::core::desired::PlacedRecord,
    ) -> dnsfailover::engine::Outcome {
        match self.plan(record).await {
            Ok(plan) => self.execute(&[plan]).await.remove(0),
            Err(e) => dnsfailover::engine::Outcome::Failed(e),
        }
    }

    pub async fn delete(
        &self,
        owner: &dnsfailover::core::ownership::Owner,
    ) -> dnsfailover::engine::Outcome {
        let snapshot = match self
            .engine
            .observe(&std::collections::BTreeSet::from([self.zone.id.clone()]))
            .await
        {
            Ok(s) => s,
            Err(e) => return dnsfailover::engine::Outcome::Failed(e),
        };
        let plan = dnsfailover::core::plan::plan_delete(
            owner,
            &self.zone.id,
            snapshot.observed(&self.zone.id).expect("zone"),
        );
        self.execute(&[plan]).await.remove(0)
    }
}

/// Waiting for INSYNC as the CLI does, with pauses of a millisecond.
pub fn quick_wait<R>(engine: &dnsfailover::engine::Engine<R>) -> dnsfailover::engine::Wait<'_, R> {
    dnsfailover::engine::Wait {
        engine,
        timeout: Duration::from_secs(60),
        schedule: dnsfailover::backoff::Schedule {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(10),
            jitter: dnsfailover::backoff::Jitter::None,
        },
    }
}
