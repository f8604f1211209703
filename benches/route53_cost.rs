//! Route 53 API cost, convergence and footprint of dnsfailover, measured.
//!
//! `cargo bench --bench route53_cost` (or `make bench`) prints the tables of
//! BENCHMARKS.md. Every scenario runs the real reconcile code: the
//! controller's reconcile function over an in-memory Kubernetes API, against
//! the in-memory Route 53 (exact call counts; a paused clock turns the client
//! rate limiter's waits into simulated time at the default budget of 5
//! requests/s) and against moto's Route 53 emulator over HTTP (real time; the
//! rate limit is lifted there, so wall time shows the work, not the budget).
//!
//! Under `cargo test` (no `--bench` argument) it runs a small smoke version
//! against the in-memory Route 53 only, so CI keeps it working.
//!
//! Long because it prints every table of BENCHMARKS.md, and each table's
//! method sits next to the code that measures it.

// The test harness: the in-memory Kubernetes API and the moto launcher.
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsfailover::api::{FailoverRecord, FailoverRecordSpec};
use dnsfailover::controller::leader::{Gate, Gated};
use dnsfailover::controller::poller::HealthMonitor;
use dnsfailover::controller::{self, Context, Settings};
use dnsfailover::core::desired::PlacedRecord;
use dnsfailover::core::ownership::{self, Owner};
use dnsfailover::core::plan::{self, Observed, ZoneRecords};
use dnsfailover::core::validate::desired_from_spec;
use dnsfailover::engine::Engine;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::resilient::Resilient;
use dnsfailover::route53::{
    Backoff, Change, ChangeAction, Failover, Operation, OperationStats, RateBudget, RecordCursor,
    Route53, Zone,
};
use futures::StreamExt;
use support::apiserver::ApiServer;

const NAMESPACE: &str = "bench";

/// One FailoverRecord of the benchmark: a pair with an HTTP check on the primary.
fn spec(i: usize, zone: &str) -> FailoverRecordSpec {
    serde_yaml::from_str(&format!(
        "hostedZone: {{name: {zone}}}\nname: app-{i:05}\nttl: 60\nprimary:\n  addresses: [52.{}.{}.{}]\n  healthCheck: {{protocol: HTTP, path: /health, requestInterval: 10}}\nsecondary:\n  addresses: [54.{}.{}.{}]\n",
        i / 65536 % 256,
        i / 256 % 256,
        i % 256,
        i / 65536 % 256,
        i / 256 % 256,
        i % 256
    ))
    .expect("benchmark spec")
}

fn zone_name(z: usize) -> String {
    format!("zone{z}.example.com")
}

/// The controller over an in-memory Kubernetes API and a Route 53 port.
struct Controller<R: Route53 + 'static> {
    api: ApiServer,
    ctx: Arc<Context<Gated<Resilient<R>>>>,
    port: Resilient<R>,
    names: Vec<String>,
}

impl<R: Route53 + Clone + 'static> Controller<R> {
    fn new(inner: R, budget: RateBudget, records: usize, zones: usize) -> Self {
        let api = ApiServer::default();
        api.quiet();
        let port = Resilient::new(inner, budget, Backoff::default());
        let client = api.client();
        let engine = Arc::new(Engine::new(Gated::new(port.clone(), Gate::open()), "bench"));
        let ctx = Arc::new(Context::builder(client, engine).build());
        let mut names = Vec::new();
        for i in 0..records {
            let name = format!("app-{i:05}");
            let mut record = FailoverRecord::new(&name, spec(i, &zone_name(i % zones)));
            record.metadata.namespace = Some(NAMESPACE.into());
            record.metadata.generation = Some(1);
            record.metadata.finalizers = Some(vec![controller::FINALIZER.to_string()]);
            api.put_record(&record);
            names.push(name);
        }
        Self {
            api,
            ctx,
            port,
            names,
        }
    }

    /// Reconcile every record, 32 at a time as the controller does, until a
    /// round writes nothing. Returns the rounds taken.
    async fn converge(&self) -> usize {
        for round in 1..=10 {
            let writes = self.port.stats().write_requests();
            self.reconcile_all().await;
            if self.port.stats().write_requests() == writes && round > 1 {
                return round;
            }
        }
        panic!("no convergence in 10 rounds");
    }

    async fn reconcile_all(&self) {
        futures::stream::iter(self.names.iter())
            .for_each_concurrent(32, |name| async move {
                let record = Arc::new(self.api.record(NAMESPACE, name));
                let _ = controller::reconcile(record, self.ctx.clone()).await;
            })
            .await;
    }
}

/// Calls of one run, by operation.
#[derive(Clone, Debug, Default)]
struct Calls(BTreeMap<Operation, u64>);

impl Calls {
    fn since(
        after: &BTreeMap<Operation, OperationStats>,
        before: &BTreeMap<Operation, OperationStats>,
    ) -> Self {
        Self(
            after
                .iter()
                .map(|(op, s)| (*op, s.requests - before.get(op).map_or(0, |b| b.requests)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        )
    }

    fn from_log(log: &[Operation]) -> Self {
        let mut calls = BTreeMap::new();
        for op in log {
            *calls.entry(*op).or_insert(0) += 1;
        }
        Self(calls)
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    fn writes(&self) -> u64 {
        self.0
            .iter()
            .filter(|(op, _)| op.is_write())
            .map(|(_, n)| n)
            .sum()
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(op, n)| format!("{} {n}", short(*op)))
            .collect();
        parts.join(", ")
    }
}

fn short(op: Operation) -> &'static str {
    match op {
        Operation::GetHostedZone => "GetZone",
        Operation::ListHostedZones => "ListZones",
        Operation::ListHostedZonesByName => "ZonesByName",
        Operation::ListResourceRecordSets => "ListRRS",
        Operation::ChangeResourceRecordSets => "ChangeRRS",
        Operation::GetChange => "GetChange",
        Operation::ListHealthChecks => "ListHC",
        Operation::CreateHealthCheck => "CreateHC",
        Operation::UpdateHealthCheck => "UpdateHC",
        Operation::DeleteHealthCheck => "DeleteHC",
        Operation::GetHealthCheckStatus => "HCStatus",
        Operation::ListTagsForResources => "ListTags",
        Operation::ChangeTagsForResource => "Tag",
    }
}

/// The fewest Route 53 requests that can converge `records` records from
/// empty zones: per zone one name lookup, one listing and as few change
/// batches as the limits allow; one health-check listing; per health check
/// one create and one tagging request.
fn minimum(records: usize, zones: usize) -> u64 {
    let mut batches = 0;
    for z in 0..zones {
        let in_zone: Vec<usize> = (0..records).filter(|i| i % zones == z).collect();
        let (mut values, mut chars) = (0usize, 0usize);
        for &i in &in_zone {
            let desired = desired_from_spec(
                Owner::new("bench", NAMESPACE, format!("app-{i:05}")),
                &spec(i, &zone_name(z)),
            )
            .expect("valid");
            let placed = desired
                .place(Zone {
                    id: "Z".into(),
                    name: format!("{}.", zone_name(z)),
                    private: false,
                    name_servers: Vec::new(),
                })
                .expect("placed");
            for side in placed.desired.sides() {
                let record = placed.record_set(side);
                values += record.value_count();
                chars += record.value_chars();
            }
            let marker = ownership::Marker::new(&placed.desired.owner, "primary", "secondary");
            values += 1;
            chars += marker.to_txt_value().len();
        }
        batches += values.div_ceil(1000).max(chars.div_ceil(32_000)) as u64;
    }
    let zones = zones as u64;
    let checks = records as u64;
    zones + zones + batches + 1 + 2 * checks
}

struct Converged {
    calls: Calls,
    minimum: u64,
    wall: Duration,
    simulated: Duration,
    limiter_wait: Duration,
    rounds: usize,
}

/// Converge `records` records over `zones` zones from empty.
async fn converge_fake(
    records: usize,
    zones: usize,
    budget: RateBudget,
) -> (Controller<FakeRoute53>, FakeRoute53, Converged) {
    let fake = FakeRoute53::new();
    fake.set_polls_until_insync(0);
    for z in 0..zones {
        fake.create_zone(&zone_name(z), false);
    }
    fake.set_max_health_checks(usize::MAX);
    let controller = Controller::new(fake.clone(), budget, records, zones);
    let before = controller.port.stats().snapshot();
    let (wall, simulated) = (Instant::now(), tokio::time::Instant::now());
    let rounds = controller.converge().await;
    let report = Converged {
        calls: Calls::since(&controller.port.stats().snapshot(), &before),
        minimum: minimum(records, zones),
        wall: wall.elapsed(),
        simulated: simulated.elapsed(),
        limiter_wait: controller.port.stats().rate_limit_wait(),
        rounds,
    };
    (controller, fake, report)
}

/// The same work done one object at a time, as a tool with one resource per
/// record set and per health check does it: each health check created and
/// tagged on its own; each record set looked up with its own listing, changed
/// in its own batch, and followed to INSYNC; at every resync, each object read
/// on its own. Counted by the same in-memory Route 53.
async fn per_object(records: usize, zones: usize) -> (Calls, Calls) {
    let fake = FakeRoute53::new();
    fake.set_max_health_checks(usize::MAX);
    let zone_list: Vec<Zone> = (0..zones)
        .map(|z| fake.create_zone(&zone_name(z), false))
        .collect();
    let placed: Vec<PlacedRecord> = (0..records)
        .map(|i| {
            desired_from_spec(
                Owner::new("alt", NAMESPACE, format!("app-{i:05}")),
                &spec(i, &zone_name(i % zones)),
            )
            .expect("valid")
            .place(zone_list[i % zones].clone())
            .expect("placed")
        })
        .collect();
    for record in &placed {
        let zone = &record.zone.id;
        let config = record
            .desired
            .primary
            .as_ref()
            .and_then(|p| p.health_check.clone())
            .expect("check");
        let reference =
            ownership::caller_reference(&record.desired.owner, Failover::Primary, &config, 0);
        let check = fake
            .create_health_check(&reference, &config)
            .await
            .expect("create");
        fake.change_health_check_tags(&check.id, &Default::default(), &[])
            .await
            .expect("tag");
        for side in record.desired.sides() {
            let mut set = record.record_set(side);
            if side.role == Failover::Primary {
                set.health_check_id = Some(check.id.clone());
            }
            let cursor = RecordCursor {
                name: set.name.clone(),
                rr_type: set.rr_type.to_string(),
                set_identifier: set.set_identifier.clone(),
            };
            fake.list_record_sets_page(zone, Some(&cursor))
                .await
                .expect("lookup");
            let info = fake
                .change_record_sets(
                    zone,
                    &[Change {
                        action: ChangeAction::Create,
                        record: set,
                    }],
                )
                .await
                .expect("change");
            while fake.get_change(&info.id).await.expect("poll").status
                != dnsfailover::route53::ChangeState::InSync
            {}
        }
    }
    let converge = Calls::from_log(&fake.calls());
    fake.clear_calls();
    for record in &placed {
        fake.list_health_checks_page(None)
            .await
            .expect("read check");
        for side in record.desired.sides() {
            let set = record.record_set(side);
            let cursor = RecordCursor {
                name: set.name.clone(),
                rr_type: set.rr_type.to_string(),
                set_identifier: set.set_identifier.clone(),
            };
            fake.list_record_sets_page(&record.zone.id, Some(&cursor))
                .await
                .expect("lookup");
        }
    }
    (converge, Calls::from_log(&fake.calls()))
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn cost_tables(sizes: &[(usize, usize)]) {
    println!(
        "### Converging from empty (controller, in-memory Route 53, default budget 5 req/s)\n"
    );
    println!(
        "| records | zones | Route 53 requests | of which writes | theoretical minimum | ratio | per-object approach | by operation | rounds | simulated time at 5 req/s | rate-limiter wait (summed over concurrent reconciles) | wall time |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    let mut steady = Vec::new();
    for &(records, zones) in sizes {
        let (controller, fake, c) = converge_fake(records, zones, RateBudget::default()).await;
        let (alt_converge, alt_resync) = per_object(records, zones).await;
        assert_eq!(
            fake.health_checks().len(),
            records,
            "one health check per record"
        );
        println!(
            "| {records} | {zones} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} |",
            c.calls.total(),
            c.calls.writes(),
            c.minimum,
            c.calls.total() as f64 / c.minimum as f64,
            alt_converge.total(),
            c.calls.describe(),
            c.rounds,
            secs(c.simulated),
            secs(c.limiter_wait),
            secs(c.wall)
        );
        // A resync period later, the caches have expired and every record is
        // reconciled again.
        tokio::time::advance(Settings::default().resync + Duration::from_secs(1)).await;
        let before = controller.port.stats().snapshot();
        controller.reconcile_all().await;
        let resync = Calls::since(&controller.port.stats().snapshot(), &before);
        // One record among them changes.
        let mut record = controller.api.record(NAMESPACE, &controller.names[0]);
        record
            .spec
            .primary
            .as_mut()
            .expect("side")
            .health_check
            .as_mut()
            .expect("check")
            .failure_threshold = 5;
        record.metadata.generation = Some(2);
        controller.api.put_record(&record);
        let before = controller.port.stats().snapshot();
        let _ = controller::reconcile(
            Arc::new(controller.api.record(NAMESPACE, &controller.names[0])),
            controller.ctx.clone(),
        )
        .await;
        let one = Calls::since(&controller.port.stats().snapshot(), &before);
        steady.push((records, zones, resync, alt_resync, one));
    }
    println!("\n### Steady state (controller, in-memory Route 53)\n");
    println!(
        "| records | zones | requests per resync, nothing changed | writes | by operation | per-object approach per resync | after changing one record |"
    );
    println!("|---:|---:|---:|---:|---|---:|---|");
    for (records, zones, resync, alt, one) in steady {
        println!(
            "| {records} | {zones} | {} | {} | {} | {} | {} |",
            resync.total(),
            resync.writes(),
            resync.describe(),
            alt.total(),
            one.describe()
        );
    }
}

async fn moto_table(sizes: &[(usize, usize)]) {
    println!("\n### Against moto's Route 53 emulator over HTTP (rate limit lifted)\n");
    println!(
        "| records | zones | requests to converge from empty | of which writes | by operation | wall time | next reconcile of all, caches dropped |"
    );
    println!("|---:|---:|---:|---:|---|---:|---|");
    for &(records, zones) in sizes {
        let moto = support::Moto::start();
        for z in 0..zones {
            moto.create_zone(&zone_name(z)).await;
        }
        let aws = moto.route53().await;
        let unlimited = RateBudget {
            requests_per_second: 10_000.0,
            burst: 10_000.0,
        };
        let controller = Controller::new(aws, unlimited, records, zones);
        let before = controller.port.stats().snapshot();
        let started = Instant::now();
        controller.converge().await;
        let calls = Calls::since(&controller.port.stats().snapshot(), &before);
        let wall = started.elapsed();
        // Everything read again, tags included, as after a restart.
        controller.ctx.observer().invalidate_all().await;
        let before = controller.port.stats().snapshot();
        controller.reconcile_all().await;
        let resync = Calls::since(&controller.port.stats().snapshot(), &before);
        println!(
            "| {records} | {zones} | {} | {} | {} | {} | {} ({} writes) |",
            calls.total(),
            calls.writes(),
            calls.describe(),
            secs(wall),
            resync.describe(),
            resync.writes()
        );
    }
}

async fn health_table(checks: usize, rate: f64) {
    let fake = FakeRoute53::new();
    fake.set_max_health_checks(usize::MAX);
    let monitor = Arc::new(HealthMonitor::new(Duration::from_secs_f64(1.0 / rate)));
    let mut ids = Vec::new();
    for i in 0..checks {
        let record = desired_from_spec(
            Owner::new("bench", NAMESPACE, format!("app-{i:05}")),
            &spec(i, "example.com"),
        )
        .expect("valid");
        let config = record
            .primary
            .as_ref()
            .and_then(|p| p.health_check.clone())
            .expect("check");
        let check = fake
            .create_health_check(&format!("health-{i}"), &config)
            .await
            .expect("create");
        let owner =
            kube::runtime::reflector::ObjectRef::<FailoverRecord>::new(&format!("app-{i:05}"))
                .within(NAMESPACE);
        monitor.watch(&owner, &[&check]);
        ids.push(check.id);
    }
    let (changed, mut changes) = tokio::sync::mpsc::channel(checks * 2);
    let task = {
        let monitor = monitor.clone();
        let fake = fake.clone();
        tokio::spawn(async move { monitor.run(&fake, Gate::open(), changed).await })
    };
    // First pass: every check is read once; then count a steady ten minutes.
    tokio::time::sleep(Duration::from_secs_f64(checks as f64 / rate + 1.0)).await;
    while changes.try_recv().is_ok() {}
    fake.clear_calls();
    tokio::time::sleep(Duration::from_secs(600)).await;
    let per_minute = fake
        .calls()
        .iter()
        .filter(|op| **op == Operation::GetHealthCheckStatus)
        .count() as f64
        / 10.0;
    // Worst case: the check just read goes unhealthy; time until it is read again.
    let just_read = fake
        .calls()
        .iter()
        .filter(|op| **op == Operation::GetHealthCheckStatus)
        .count()
        % checks;
    let flipped = ids[just_read.saturating_sub(1) % checks].clone();
    fake.set_health(&flipped, 0, 16);
    let started = tokio::time::Instant::now();
    let owner = changes.recv().await.expect("a change is reported");
    let delay = started.elapsed();
    task.abort();
    println!("\n### Health polling (GetHealthCheckStatus budget: 1/s per AWS account)\n");
    println!(
        "| health checks | poll rate | GetHealthCheckStatus per minute | measured delay, change → reconcile request | worst case (checks / rate) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {checks} | {rate}/s | {per_minute:.1} | {} ({}) | {} |",
        secs(delay),
        owner.name,
        secs(Duration::from_secs_f64(checks as f64 / rate))
    );
}

async fn footprint_table(sizes: &[usize]) {
    println!("\n### Footprint\n");
    println!(
        "| records | peak RSS of the benchmark process (MiB): controller, in-memory Route 53 and Kubernetes API | planner time per record (steady state, fastest of five passes) |"
    );
    println!("|---:|---:|---:|");
    for &records in sizes {
        let (controller, fake) = converge_unlimited(records).await;
        let rss = peak_rss_mib();
        let listed = dnsfailover::route53::list_all_record_sets(&fake, &fake_zone_id(&fake))
            .await
            .expect("list");
        let snapshot = ZoneRecords::new(listed);
        let checks = plan::CheckSet::new(fake.health_checks());
        let tags = Default::default();
        let zone = bench_zone(&fake);
        let placed: Vec<PlacedRecord> = (0..records).map(|i| placed_record(i, &zone)).collect();
        let observed = Observed {
            records: &snapshot,
            health_checks: &checks,
            tags: &tags,
        };
        // The fastest of five passes: the machine is shared, and the planner's
        // own cost is what the figure is for.
        let mut per_record = Duration::MAX;
        for _ in 0..5 {
            let started = Instant::now();
            let mut empty = 0;
            for record in &placed {
                empty += usize::from(plan::plan_apply(record, observed).is_empty());
            }
            per_record = per_record.min(started.elapsed() / records as u32);
            assert_eq!(empty, records, "steady state: every plan is empty");
        }
        println!(
            "| {records} | {rss:.0} | {:.1} µs |",
            per_record.as_secs_f64() * 1e6
        );
        drop(controller);
    }
}

/// `records` converged in one zone with the rate limit lifted: the state
/// the footprint and DNS watch tables start from.
async fn converge_unlimited(records: usize) -> (Controller<FakeRoute53>, FakeRoute53) {
    let unlimited = RateBudget {
        requests_per_second: 1e9,
        burst: 1e9,
    };
    let (controller, fake, _) = converge_fake(records, 1, unlimited).await;
    (controller, fake)
}

/// The DNS answer watch at scale: the watch's real loop and DNS client over
/// UDP against the test DNS server (answering from the in-memory Route 53),
/// in real time, with the health poller running beside it at its usual rate.
async fn dns_watch_table(sizes: &[usize], period: Duration) {
    use dnsfailover::controller::dnswatch::{DnsWatch, DnsWatchSettings};
    use dnsfailover::controller::metrics::Metrics;
    use kube::runtime::reflector::ObjectRef;
    println!("\n### Seeing a failover: the DNS answer watch (real time, loopback DNS server)\n");
    println!(
        "| records | watch period | DNS queries per second | flip just after the record's query → reconcile that writes `status.active` (worst case) | flip → the primary's check read (GetHealthCheckStatus) | GetHealthCheckStatus per minute meanwhile | without the watch: worst case at 0.5/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &records in sizes {
        let (controller, fake) = converge_unlimited(records).await;
        let server = support::dns::DnsServer::start(fake.clone()).await;
        let watch = Arc::new(DnsWatch::new(
            DnsWatchSettings {
                period,
                servers: vec![server.address],
                timeout: Duration::from_secs(2),
                ..DnsWatchSettings::default()
            },
            Arc::new(Metrics::default()),
        ));
        let rate = 0.5;
        let health = Arc::new(HealthMonitor::new(Duration::from_secs_f64(1.0 / rate)));
        let zone = bench_zone(&fake);
        let listed = dnsfailover::route53::list_all_record_sets(&fake, &zone.id)
            .await
            .expect("list");
        let checks = plan::CheckSet::new(fake.health_checks());
        let snapshot = ZoneRecords::new(listed);
        let mut primary_checks = BTreeMap::new();
        for i in 0..records {
            let name = format!("app-{i:05}");
            let placed = placed_record(i, &zone);
            let observed = Observed {
                records: &snapshot,
                health_checks: &checks,
                tags: &Default::default(),
            };
            let serving = dnsfailover::engine::serving(&placed, observed);
            let used: Vec<_> = serving.values().filter_map(|(_, c)| *c).collect();
            let key = ObjectRef::<FailoverRecord>::new(&name).within(NAMESPACE);
            health.watch(&key, &used);
            watch.watch(
                &key,
                &placed,
                &[],
                used.iter().map(|c| c.id.clone()).collect(),
            );
            if let Some(check) = used.first() {
                primary_checks.insert(name, check.id.clone());
            }
        }
        let (asked, mut asks) = tokio::sync::mpsc::channel(records * 2 + 16);
        let (read, mut reads) = tokio::sync::mpsc::channel(records * 2 + 16);
        let engine = Arc::new(Engine::new(fake.clone(), "bench"));
        let watching = tokio::spawn(
            watch
                .clone()
                .run(engine, Gate::open(), health.clone(), asked),
        );
        let polling = {
            let health = health.clone();
            let fake = fake.clone();
            tokio::spawn(async move { health.run(&fake, Gate::open(), read).await })
        };
        // The first round: every record's answer is seen once. The record
        // in the middle of the order is flipped right after its query: the
        // worst case, since the watch asks it again only a period later.
        let target = format!("app-{:05}", records / 2);
        let check = primary_checks[&target].clone();
        let started = Instant::now();
        let queries_before = server.queries();
        let mut flipped = None;
        for _ in 0..records {
            let key = asks.recv().await.expect("a first answer");
            if key.name == target {
                fake.set_health(&check, 0, 16);
                flipped = Some(Instant::now());
            }
        }
        let round = started.elapsed();
        let per_second = (server.queries() - queries_before) as f64 / round.as_secs_f64();
        let flipped = flipped.expect("the target was answered");
        while reads.try_recv().is_ok() {}
        let polls_before = fake
            .calls()
            .iter()
            .filter(|op| **op == Operation::GetHealthCheckStatus)
            .count();
        let counting = Instant::now();
        let seen = loop {
            let key = asks.recv().await.expect("the watch goes on");
            if key.name == target {
                break flipped.elapsed();
            }
        };
        let health_read = loop {
            let key = reads.recv().await.expect("the poller goes on");
            if key.name == target {
                break flipped.elapsed();
            }
        };
        let polled = fake
            .calls()
            .iter()
            .filter(|op| **op == Operation::GetHealthCheckStatus)
            .count()
            - polls_before;
        let per_minute = polled as f64 / counting.elapsed().as_secs_f64() * 60.0;
        watching.abort();
        polling.abort();
        println!(
            "| {records} | {} | {per_second:.1} | {} | {} | {per_minute:.1} | {} |",
            secs(period),
            secs(seen),
            secs(health_read),
            secs(Duration::from_secs_f64(records as f64 / rate))
        );
        drop(controller);
    }
}

/// The benchmark's one zone, as the in-memory Route 53 holds it.
fn bench_zone(fake: &FakeRoute53) -> Zone {
    Zone {
        id: fake_zone_id(fake),
        name: format!("{}.", zone_name(0)),
        private: false,
        name_servers: Vec::new(),
    }
}

/// Benchmark record `i`, as the controller plans it in `zone`.
fn placed_record(i: usize, zone: &Zone) -> PlacedRecord {
    desired_from_spec(
        Owner::new("bench", NAMESPACE, format!("app-{i:05}")),
        &spec(i, &zone_name(0)),
    )
    .expect("valid")
    .place(zone.clone())
    .expect("placed")
}

fn fake_zone_id(fake: &FakeRoute53) -> String {
    futures::executor::block_on(fake.list_hosted_zones_by_name(&zone_name(0)))
        .ok()
        .and_then(|z| z.into_iter().next())
        .map(|z| z.id)
        .unwrap_or_default()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let paused = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime")
    };
    if !full {
        // Smoke run under `cargo test`: small sizes, in-memory Route 53 only.
        paused().block_on(async {
            cost_tables(&[(10, 1), (20, 2)]).await;
            health_table(20, 0.5).await;
        });
        real_time().block_on(dns_watch_table(&[20], Duration::from_secs(1)));
        return;
    }
    println!("## Figures\n");
    println!(
        "Machine: {} CPUs; `cargo bench --bench route53_cost` (optimised build).\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    paused().block_on(cost_tables(&[(10, 1), (100, 1), (1000, 1), (1000, 10)]));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(moto_table(&[(10, 1), (100, 1), (1000, 1), (1000, 10)]));
    paused().block_on(health_table(1000, 0.5));
    paused().block_on(footprint_table(&[1000, 10_000]));
    real_time().block_on(dns_watch_table(
        &[100, 1000, 10_000],
        Duration::from_secs(30),
    ));
}

fn real_time() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
