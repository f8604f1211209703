//! A controller under test: the reconciler with its context over the
//! in-memory API server and the in-memory Route 53.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dnsfailover::api::{FailoverRecord, FailoverRecordSpec};
use dnsfailover::backoff::Jitter;
use dnsfailover::controller::dnswatch::DnsWatchSettings;
use dnsfailover::controller::leader::{Gate, Gated};
use dnsfailover::controller::{self, Context, Settings};
use dnsfailover::core::report::Category;
use dnsfailover::engine::Engine;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{Failover, RecordSet, Route53, Zone};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use tokio::sync::watch;

use super::apiserver::ApiServer;

pub const NS: &str = "web";

/// The classic walkthrough's spec (an address Route 53 could check).
pub const SPEC: &str = super::CLASSIC;

/// The settings of [`Harness::new`]: a PENDING change is asked about on
/// every reconcile, and requeues after failures follow the schedule without
/// jitter, so a test can compare the `Action`s it gets.
pub fn settings() -> Settings {
    let mut settings = Settings {
        short_requeue: Duration::ZERO,
        ..Settings::default()
    };
    settings.retry.jitter = Jitter::None;
    settings
}

pub struct Harness<R = FakeRoute53> {
    pub api: ApiServer,
    pub fake: FakeRoute53,
    pub zone: Zone,
    pub ctx: Arc<Context<Gated<R>>>,
    pub lease: watch::Sender<bool>,
}

impl Harness<FakeRoute53> {
    /// A controller with the default settings, except that a PENDING change
    /// is asked about on every reconcile (a real one asks after its short
    /// requeue, which tests do not wait for).
    pub fn new() -> Self {
        Self::with(settings())
    }

    pub fn with(settings: Settings) -> Self {
        let fake = FakeRoute53::new();
        let zone = fake.create_zone("example.com", false);
        Self::over(ApiServer::default(), fake.clone(), zone, fake, settings)
    }
}

impl<R: Route53 + 'static> Harness<R> {
    /// A controller over an existing API server and Route 53 (a restart, or a
    /// second replica), reaching Route 53 through `port`.
    pub fn over(
        api: ApiServer,
        fake: FakeRoute53,
        zone: Zone,
        port: R,
        settings: Settings,
    ) -> Self {
        Self::build(api, fake, zone, port, settings, "test", None)
    }

    /// A controller of its own cluster (`api`) with its own owner id,
    /// sharing Route 53 with others: another installation.
    pub fn installation(
        api: ApiServer,
        fake: FakeRoute53,
        zone: Zone,
        port: R,
        settings: Settings,
        owner_id: &str,
    ) -> Self {
        Self::build(api, fake, zone, port, settings, owner_id, None)
    }

    fn build(
        api: ApiServer,
        fake: FakeRoute53,
        zone: Zone,
        port: R,
        settings: Settings,
        owner_id: &str,
        dns: Option<DnsWatchSettings>,
    ) -> Self {
        let client = api.client();
        let (lease, gate) = Gate::manual(true);
        let engine = Arc::new(Engine::new(Gated::new(port, gate.clone()), owner_id));
        let ctx = Arc::new(match dns {
            Some(dns) => Context::for_tests_with_dns(client, engine, gate, settings, dns),
            None => Context::for_tests(client, engine, gate, settings),
        });
        Self {
            api,
            fake,
            zone,
            ctx,
            lease,
        }
    }

    /// A controller with a DNS answer watch, over `fake`.
    pub fn with_dns(fake: FakeRoute53, zone: Zone, port: R, dns: DnsWatchSettings) -> Self {
        Self::build(
            ApiServer::default(),
            fake,
            zone,
            port,
            settings(),
            "test",
            Some(dns),
        )
    }

    /// The same cluster and Route 53 with a fresh controller: no caches, no
    /// memory, as after a process restart (or a second replica).
    pub fn restart_with(&self, port: R, settings: Settings) -> Self {
        Self::over(
            self.api.clone(),
            self.fake.clone(),
            self.zone.clone(),
            port,
            settings,
        )
    }

    pub fn create(&self, name: &str, spec: &str) {
        let spec: FailoverRecordSpec = serde_yaml::from_str(spec).expect("spec");
        let mut record = FailoverRecord::new(name, spec);
        record.metadata.namespace = Some(NS.into());
        record.metadata.uid = Some(format!("uid-{name}"));
        record.metadata.generation = Some(1);
        self.api.put_record(&record);
    }

    /// Change the spec as `kubectl apply` would: a new generation.
    pub fn edit(&self, name: &str, change: impl FnOnce(&mut FailoverRecordSpec)) {
        let mut record = self.api.record(NS, name);
        change(&mut record.spec);
        record.metadata.generation = record.metadata.generation.map(|g| g + 1);
        self.api.put_record(&record);
    }

    /// `kubectl annotate failoverrecord NAME KEY=VALUE --overwrite`.
    pub fn annotate(&self, name: &str, key: &str, value: &str) {
        let mut record = self.api.record(NS, name);
        record
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value.to_string());
        self.api.put_record(&record);
    }

    pub fn delete(&self, name: &str) {
        let mut record = self.api.record(NS, name);
        record.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        self.api.put_record(&record);
    }

    pub fn status(&self, name: &str) -> dnsfailover::api::FailoverRecordStatus {
        self.api.record(NS, name).status.expect("status written")
    }

    /// One reconcile, as kube-runtime runs it: a failure also goes through
    /// the error policy (metrics, the object's backoff).
    pub async fn reconcile(&self, name: &str) -> Result<Action, controller::Error> {
        let record = Arc::new(self.api.record(NS, name));
        let result = controller::reconcile(record.clone(), self.ctx.clone()).await;
        if let Err(error) = &result {
            controller::error_policy(record, error, self.ctx.clone());
        }
        result
    }

    /// One reconcile, and what kube-runtime schedules after it: the
    /// reconcile's own `Action`, or the error policy's.
    /// The error, if the reconcile failed, comes along for its category.
    pub async fn run(&self, name: &str) -> (Action, Option<controller::Error>) {
        let record = Arc::new(self.api.record(NS, name));
        match controller::reconcile(record.clone(), self.ctx.clone()).await {
            Ok(action) => (action, None),
            Err(error) => (
                controller::error_policy(record, &error, self.ctx.clone()),
                Some(error),
            ),
        }
    }

    /// The record set of one side in the harness's zone.
    pub fn side(&self, role: Failover) -> RecordSet {
        self.fake
            .records(&self.zone.id)
            .into_iter()
            .find(|r| r.failover == Some(role))
            .unwrap_or_else(|| panic!("no {role:?} record set"))
    }

    /// Assert that an event of this type and reason was published.
    pub fn assert_event(&self, type_: &str, reason: &str) {
        let events = self.api.events();
        assert!(
            events.contains(&(type_.to_string(), reason.to_string())),
            "no {type_} {reason} event among {events:?}"
        );
    }

    /// Reconcile a deleted FailoverRecord until it is gone. In between, the
    /// only acceptable outcome is waiting for Route 53 to apply the removal
    /// of the record sets before their health checks go. Returns how many
    /// reconciles it took.
    pub async fn finish_deletion(&self, name: &str) -> usize {
        for round in 1..=6 {
            match self.reconcile(name).await {
                Ok(action) => {
                    assert_eq!(action, Action::await_change());
                    assert!(
                        self.api.get(&path(name)).is_none(),
                        "finalizer removed, object gone"
                    );
                    return round;
                }
                Err(e) => assert_eq!(e.category(), Category::ChangesPending, "{e}"),
            }
        }
        panic!("{name} was not deleted within 6 reconciles");
    }

    /// Reconcile until the finalizer is on and Route 53 matches.
    pub async fn converge(&self, name: &str) {
        self.reconcile(name).await.expect("finalizer added");
        self.reconcile(name).await.expect("applied");
    }

    pub fn condition(&self, name: &str, kind: &str) -> (String, String, String) {
        let status = self.status(name);
        let c = status
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .unwrap_or_else(|| panic!("no {kind} condition"));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }
}

pub fn path(name: &str) -> String {
    ApiServer::record_path(NS, name)
}

/// What a storm cost.
#[derive(Debug)]
pub struct StormReport {
    pub requests: u64,
    pub throttled: u64,
    pub rounds: u32,
    pub elapsed: Duration,
}

/// `n` FailoverRecords converge while `probability` of all Route 53 calls
/// fail transiently (throttling, 5xx, timeouts before or after the work),
/// reconciled round after round as the controller would retry them. Asserts
/// the end state (one check per record, all used, nothing else) and that the
/// requests stayed within the rate budget. Run with paused time.
pub async fn storm(n: usize, probability: f64, seed: u64) -> StormReport {
    use dnsfailover::route53::resilient::Resilient;
    use dnsfailover::route53::{Backoff, RateBudget};

    let fake = FakeRoute53::new();
    let zone = fake.create_zone("example.com", false);
    let budget = RateBudget::default();
    let port = Resilient::new(
        fake.clone(),
        budget,
        Backoff {
            max_attempts: 4,
            ..Backoff::default()
        },
    );
    let h = Harness::over(
        ApiServer::default(),
        fake.clone(),
        zone,
        port.clone(),
        Settings::default(),
    );
    let names: Vec<String> = (0..n).map(|i| format!("app-{i:03}")).collect();
    for (i, name) in names.iter().enumerate() {
        let spec = SPEC
            .replace("name: examplefailover", &format!("name: {name}"))
            .replace(
                "52.94.236.10",
                &format!("52.94.{}.{}", 100 + i / 250, i % 250 + 1),
            );
        h.create(name, &spec);
        h.reconcile(name).await.expect("finalizer");
    }
    fake.faults_randomly(probability, seed);
    let started = tokio::time::Instant::now();
    let mut pending = names.clone();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        assert!(
            rounds < 2000,
            "{probability}: no convergence; still failing: {pending:?}"
        );
        let mut still = Vec::new();
        for name in pending {
            let writes = fake.write_calls();
            match h.reconcile(&name).await {
                Ok(_) if fake.write_calls() == writes => {}
                _ => still.push(name),
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    fake.clear_faults();
    let checks = fake.health_checks();
    assert_eq!(
        checks.len(),
        n,
        "{probability}: one health check per record, none leaked or duplicated"
    );
    let records = fake.records(&h.zone.id);
    assert_eq!(records.len(), 3 * n);
    for check in &checks {
        let users = records
            .iter()
            .filter(|r| r.health_check_id.as_deref() == Some(check.id.as_str()))
            .count();
        assert_eq!(
            users, 1,
            "{probability}: every check is used by exactly one PRIMARY"
        );
    }
    let stats = port.stats();
    let elapsed = started.elapsed();
    let allowed = budget.burst + budget.requests_per_second * elapsed.as_secs_f64();
    assert!(
        stats.total_requests() as f64 <= allowed + 0.5,
        "{probability}: {} requests in {elapsed:?} exceed the budget",
        stats.total_requests()
    );
    StormReport {
        requests: stats.total_requests(),
        throttled: stats.snapshot().values().map(|s| s.throttled).sum(),
        rounds,
        elapsed,
    }
}
