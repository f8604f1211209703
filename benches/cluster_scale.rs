//! The controller process at scale on the real control plane: N
//! FailoverRecords created through kube-apiserver, reconciled into the Route
//! 53 emulator by `dnsfailover run` (this build, with the chart's args and
//! only its ServiceAccount's token). Prints, per N, a row of BENCHMARKS.md's
//! "Real process" table:
//!
//! - time from the first create to every record Ready;
//! - the controller's peak RSS (VmHWM) and CPU time (user + system), read from
//!   /proc once all are Ready (and again after a quiet steady-state minute
//!   when `DNSFAILOVER_BENCH_STEADY` is set);
//! - the Kubernetes API requests the controller made, by verb and resource,
//!   from the apiserver's audit log (the control plane logs every request
//!   made with a ServiceAccount token);
//! - the Route 53 requests it made, by operation, from its /metrics.
//!
//! `cargo bench --bench cluster_scale` (or `make bench-cluster`) runs 100 and
//! 1,000 records; `DNSFAILOVER_BENCH_RECORDS=100,1000,10000` picks the sizes.
//! Under `cargo test` (no `--bench` argument) it runs 10 records as a smoke
//! test of the bench itself.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dnsfailover::api::FailoverRecord;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use support::Moto;
use support::control_plane::{
    ControlPlane, ControllerProcess, Release, control_plane, test_values,
};

struct Row {
    records: usize,
    ready: Duration,
    peak_rss_kib: u64,
    rss_kib: u64,
    anon_kib: u64,
    cpu: Duration,
    kube: BTreeMap<String, u64>,
    route53: BTreeMap<String, u64>,
}

/// `VmHWM`, `VmRSS` and `RssAnon` (the heap, stacks: what grows with the
/// records, unlike the binary's mapped pages) of a process, in KiB.
fn memory(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"), field("RssAnon:"))
}

/// User plus system CPU time of a process.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Requests by `verb resource[/subresource]` that `user` made, from the audit log.
fn kube_requests(plane: &ControlPlane, user: &str) -> BTreeMap<String, u64> {
    let log = std::fs::read_to_string(&plane.state.audit_log).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in log.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["user"]["username"] != user || event["stage"] != "ResponseComplete" {
            continue;
        }
        let object = &event["objectRef"];
        let resource = match object["subresource"].as_str() {
            Some(sub) => format!("{}/{sub}", object["resource"].as_str().unwrap_or("?")),
            None => object["resource"].as_str().unwrap_or("?").to_string(),
        };
        let verb = event["verb"].as_str().unwrap_or("?");
        *counts.entry(format!("{verb} {resource}")).or_insert(0) += 1;
    }
    counts
}

/// Route 53 requests by operation, from the controller's /metrics.
fn route53_requests(controller: &ControllerProcess) -> BTreeMap<String, u64> {
    let body = controller
        .http_get("/metrics")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in body.lines() {
        let Some(rest) = line.strip_prefix("dnsfailover_route53_requests_total{") else {
            continue;
        };
        let operation = rest
            .split("operation=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let value: f64 = line
            .rsplit_once(' ')
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0.0);
        *counts.entry(operation.to_string()).or_insert(0) += value as u64;
    }
    counts
}

fn record(i: usize) -> Value {
    json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": format!("app-{i:05}")},
        "spec": {
            "hostedZone": {"name": "example.com"},
            "name": format!("app-{i:05}"),
            "ttl": 60,
            "primary": {
                "addresses": [format!("203.0.{}.{}", 113 + i / 250 % 100, i % 250 + 1)],
                "healthCheck": {"protocol": "HTTP", "port": 80, "path": "/health", "requestInterval": 30}
            },
            "secondary": {"addresses": ["198.51.100.10"]}
        }
    })
}

async fn run(records: usize) -> Row {
    let plane = control_plane();
    let ns = plane.namespace(&format!("scale{records}"), &[]);
    let system = plane.namespace(&format!("scale{records}-sys"), &[]);
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let mut values = test_values(&moto, "aws");
    values["watchNamespaces"] = json!([ns]);
    // The emulator is the subject here, not Route 53's account budget: lift
    // the client-side limit so the figures show the controller's own cost.
    values["aws"]["rateLimit"] = json!(5000);
    values["aws"]["rateBurst"] = json!(5000);
    // Extra environment for the controller, as `NAME=value,NAME=value`
    // (the chart's extraEnv): to compare allocator settings, for example.
    if let Ok(extra) = std::env::var("DNSFAILOVER_BENCH_CONTROLLER_ENV") {
        values["extraEnv"] = extra
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
    }
    let release = Release::install(plane, &system, "bench", &values);
    let controller = release.controller(plane, "dnsfailover-0").await;
    let pid = controller.pid();
    let user = format!("system:serviceaccount:{system}:{}", release.fullname());

    let started = Instant::now();
    // In chunks: one `kubectl create` of a List makes one POST per item.
    for chunk in (0..records).collect::<Vec<_>>().chunks(500) {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": chunk.iter().map(|i| record(*i)).collect::<Vec<_>>(),
        });
        let out = plane.kubectl_with(
            &["create", "-n", &ns, "-o", "name", "-f", "-"],
            Some(&list.to_string()),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let api: Api<FailoverRecord> = Api::namespaced(plane.admin().await, &ns);
    let deadline = started + Duration::from_secs(600 + records as u64 / 5);
    loop {
        let list = api
            .list(&ListParams::default())
            .await
            .expect("list FailoverRecords");
        let ready = list
            .items
            .iter()
            .filter(|fr| {
                fr.status
                    .as_ref()
                    .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                    .is_some_and(|c| c.status == "True")
            })
            .count();
        if ready == records {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {ready} of {records} Ready after {:?}; controller log:\n{}",
            started.elapsed(),
            support::control_plane::tail(&controller.log_text(), 40)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let ready = started.elapsed();
    let (peak_rss_kib, rss_kib, anon_kib) = memory(pid);
    let row = Row {
        records,
        ready,
        peak_rss_kib,
        rss_kib,
        anon_kib,
        cpu: cpu_time(pid),
        kube: kube_requests(plane, &user),
        route53: route53_requests(&controller),
    };
    if std::env::var_os("DNSFAILOVER_BENCH_STEADY").is_some() {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let (peak, now, anon) = memory(pid);
        eprintln!(
            "{records} records, one quiet minute later: VmHWM {peak} KiB, VmRSS {now} KiB, RssAnon {anon} KiB, CPU {:?}",
            cpu_time(pid)
        );
    }
    row
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn print(rows: &[Row]) {
    println!(
        "| records | time to all Ready | peak RSS (VmHWM) | RSS then | of which anonymous | CPU time | Kubernetes requests (beyond list/watch) | per record | by verb and resource | Route 53 requests | by operation |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
    for row in rows {
        let writes: u64 = row
            .kube
            .iter()
            .filter(|(k, _)| !k.starts_with("list ") && !k.starts_with("watch "))
            .map(|(_, v)| v)
            .sum();
        let kube: Vec<String> = row.kube.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let r53: Vec<String> = row
            .route53
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "| {} | {:.1} s | {} MiB | {} MiB | {} MiB | {:.1} s | {} | {:.2} | {} | {} | {} |",
            row.records,
            row.ready.as_secs_f64(),
            mib(row.peak_rss_kib),
            mib(row.rss_kib),
            mib(row.anon_kib),
            row.cpu.as_secs_f64(),
            writes,
            writes as f64 / row.records as f64,
            kube.join(", "),
            row.route53.values().sum::<u64>(),
            r53.join(", "),
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("DNSFAILOVER_BENCH_RECORDS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("DNSFAILOVER_BENCH_RECORDS: numbers, comma-separated")
            })
            .collect(),
        Err(_) if full => vec![100, 1000],
        Err(_) => vec![10],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rows: Vec<Row> = runtime.block_on(async {
        let mut rows = Vec::new();
        for n in sizes {
            rows.push(run(n).await);
        }
        rows
    });
    let versions =
        std::fs::read_to_string(support::control_plane::root().join("scripts/cluster-versions.sh"))
            .unwrap_or_default();
    let kubernetes = versions
        .lines()
        .find_map(|l| l.trim().strip_prefix("K8S_VERSION="))
        .unwrap_or("?");
    println!(
        "Machine: {} CPUs; controller built with the `{}` profile; Kubernetes {kubernetes} (local control plane), moto as Route 53.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if full { "bench" } else { "test" },
    );
    print(&rows);
    if !full {
        let row = &rows[0];
        assert!(row.peak_rss_kib > 0, "read the controller's memory");
        assert!(
            row.kube
                .keys()
                .any(|k| k.starts_with("patch failoverrecords/status")),
            "{:?}",
            row.kube
        );
        assert!(
            row.route53.get("CreateHealthCheck") == Some(&(row.records as u64)),
            "{:?}",
            row.route53
        );
    }
}
