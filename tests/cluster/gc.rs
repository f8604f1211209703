//! Checker regions and garbage checks on the real control plane: the
//! apiserver takes `regions: []` for all regions and refuses two; `dnsfailover
//! gc --cluster` finds the FailoverRecords in the cluster and lists (then
//! deletes) only the check nobody uses.

use std::process::Command;

use dnsfailover::core::ownership::{Owner, caller_reference, health_check_tags};
use dnsfailover::route53::{Failover, HealthCheckConfig, Route53, RrType};
use serde_json::Value;

use crate::world::{World, record_yaml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_lists_and_deletes_the_check_no_failover_record_uses() {
    let w = World::new("gc").await;
    let _controller = w.controller("dnsfailover-0").await;
    // All regions, said as an empty list.
    w.apply(
        &record_yaml("keep", "52.94.236.10", "52.95.110.20")
            .replace("requestInterval: 10}", "requestInterval: 10, regions: []}"),
    );
    w.wait_ready("keep");
    let refused = w.plane.kubectl_with(
        &["apply", "-n", &w.ns, "--dry-run=server", "-f", "-"],
        Some(&record_yaml("two", "52.94.236.11", "52.95.110.21").replace(
            "requestInterval: 10}",
            "requestInterval: 10, regions: [us-east-1, eu-west-1]}",
        )),
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("list at least 3 regions, or none"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // What a FailoverRecord of this installation leaves behind when its
    // finalizer is removed by hand after its records went.
    let gone = Owner::new("dnsfailover", w.ns.as_str(), "gone");
    let config = HealthCheckConfig::http("52.94.236.99", 10);
    let orphan = w
        .r53()
        .create_health_check(
            &caller_reference(&gone, Failover::Primary, &config, 0),
            &config,
        )
        .await
        .expect("an orphan");
    w.r53()
        .change_health_check_tags(
            &orphan.id,
            &health_check_tags(
                &gone,
                &w.zone.id,
                "gone.example.com.",
                &RrType::A,
                Failover::Primary,
            ),
            &[],
        )
        .await
        .expect("tags");

    let gc = |extra: &[&str]| {
        let mut args = vec!["gc", "--cluster", "--namespace", &w.ns, "-o", "json"];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_dnsfailover"))
            .args(&args)
            .envs(w.moto.env())
            .env("KUBECONFIG", &w.plane.state.kubeconfig)
            .output()
            .expect("run dnsfailover gc");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
    };
    let listed = gc(&[]);
    let unused: Vec<&str> = listed["unused"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(unused, vec![orphan.id.as_str()], "{listed}");
    assert_eq!(w.health_checks().await.len(), 2, "listing deletes nothing");

    let deleted = gc(&["--delete"]);
    assert_eq!(
        deleted["deleted"],
        serde_json::json!([orphan.id]),
        "{deleted}"
    );
    let left = w.health_checks().await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].id, orphan.id);
    assert!(gc(&[])["unused"].as_array().is_some_and(Vec::is_empty));
    w.wait_ready("keep");
}
