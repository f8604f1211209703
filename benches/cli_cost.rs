//! What one standalone `dnsfailover apply` of one unchanged FailoverRecord
//! costs in Route 53 requests, as the owner's other health checks grow
//! (issue 11): the CLI reads the tags only of the checks its manifests can
//! own, so the count stays flat; reading every owned check's tags, as it
//! did before, grows by one request per ten checks.
//!
//! `cargo bench --bench cli_cost` (part of `make bench`) prints the table of
//! BENCHMARKS.md; under `cargo test` it runs a small smoke version.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dnsfailover::cli::workflow;
use dnsfailover::core::ownership::{self, Owner};
use dnsfailover::engine::Engine;
use dnsfailover::manifest;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::resilient::Resilient;
use dnsfailover::route53::{
    Backoff, Failover, HealthCheckConfig, Operation, RateBudget, Route53, RrType,
};

const OWNER: &str = "bench";

const MANIFEST: &str = "apiVersion: dnsfailover.io/v1alpha1\nkind: FailoverRecord\nmetadata: {name: www, namespace: web}\nspec:\n  hostedZone: {name: example.com}\n  name: www\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: {protocol: HTTP}\n  secondary:\n    addresses: [52.94.236.20]\n";

fn unlimited(fake: &FakeRoute53) -> Resilient<FakeRoute53> {
    Resilient::new(
        fake.clone(),
        RateBudget {
            requests_per_second: 1e9,
            burst: 1e9,
        },
        Backoff::default(),
    )
}

/// A zone, one applied FailoverRecord and `owned` checks of other
/// FailoverRecords of the same owner.
async fn world(owned: usize) -> FakeRoute53 {
    let fake = FakeRoute53::new();
    // Route 53's default quota is 200 checks per account; raised on request.
    fake.set_max_health_checks(usize::MAX);
    fake.create_zone("example.com", false);
    for i in 0..owned {
        let config = HealthCheckConfig {
            ip_address: Some(format!(
                "52.{}.{}.{}",
                i / 65536 % 256,
                i / 256 % 256,
                i % 256
            )),
            ..HealthCheckConfig::http("52.0.0.1", 30)
        };
        let owner = Owner::new(OWNER, "load", format!("app-{i:05}"));
        let reference = ownership::caller_reference(&owner, Failover::Primary, &config, 0);
        let check = fake
            .create_health_check(&reference, &config)
            .await
            .expect("an owned check");
        let tags = ownership::health_check_tags(
            &owner,
            "Z",
            "app.example.com.",
            &RrType::A,
            Failover::Primary,
        );
        fake.change_health_check_tags(&check.id, &tags, &[])
            .await
            .expect("tagged");
    }
    let (ops, _) = apply(&fake).await;
    assert!(
        ops.contains_key(&Operation::CreateHealthCheck),
        "first apply creates"
    );
    fake
}

/// One `apply` of the manifest as the CLI runs it; requests by operation.
async fn apply(fake: &FakeRoute53) -> (BTreeMap<Operation, u64>, u64) {
    let port = unlimited(fake);
    let engine = Engine::new(port.clone(), OWNER);
    let documents = manifest::parse("www.yaml", MANIFEST).expect("parses");
    let admitted = workflow::admit_all(&documents, OWNER).expect("valid");
    let placed = workflow::place_all(&engine, admitted).await;
    let (_, plans) = workflow::plan_all(&engine, &placed.records)
        .await
        .expect("planned");
    workflow::execute(&engine, &plans, Duration::from_secs(60)).await;
    let ops = port
        .stats()
        .snapshot()
        .into_iter()
        .map(|(op, s)| (op, s.requests))
        .collect();
    (ops, port.stats().total_requests())
}

/// The same observation reading every owned check's tags (the CLI before
/// issue 11): its requests.
async fn observe_everything(fake: &FakeRoute53) -> u64 {
    let port = unlimited(fake);
    let engine = Engine::new(port.clone(), OWNER);
    let zone = fake
        .list_hosted_zones_by_name("example.com")
        .await
        .expect("zone")
        .remove(0);
    engine
        .observe(&BTreeSet::from([zone.id]))
        .await
        .expect("observed");
    // The zone lookup the CLI makes first.
    port.stats().total_requests() + 1
}

async fn table(sizes: &[usize]) {
    println!(
        "### One unchanged FailoverRecord applied with the CLI, as the owner's health checks grow\n"
    );
    println!(
        "| health checks the owner holds (this record's one included) | requests | by operation | reading every owned check's tags (before issue 11) |"
    );
    println!("|---:|---:|---|---:|");
    for &owned in sizes {
        let fake = world(owned - 1).await;
        let (ops, total) = apply(&fake).await;
        let by: Vec<String> = ops
            .iter()
            .map(|(op, n)| format!("{} {n}", op.as_str()))
            .collect();
        let before = observe_everything(&fake).await;
        println!("| {owned} | {total} | {} | {before} |", by.join(", "));
        // Flat, but for one ListHealthChecks page per 1,000 checks: they
        // must be listed to find this record's by its caller reference.
        assert_eq!(total as usize, 3 + owned.div_ceil(1000), "{by:?}");
    }
    println!();
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sizes: &[usize] = if full {
        &[1, 100, 1000, 5000]
    } else {
        &[1, 30]
    };
    runtime.block_on(table(sizes));
}
