//! The real control plane failing under a running controller: the apiserver
//! stopped (watches break, connections are refused) and started again. Its
//! own test binary, so its own control plane: stopping the apiserver would
//! disturb every other test.

mod support;

#[path = "cluster/world.rs"]
mod world;

use std::time::Duration;

use dnsfailover::route53::{self, Change, ChangeAction, Failover};
use serde_json::json;

use support::control_plane::eventually;
use world::{CONVERGE, World, record_yaml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_rides_out_an_apiserver_restart_and_converges_what_changed() {
    // A short resync, so that drift made while the apiserver is down is
    // corrected within the test.
    let w = World::in_namespace(
        support::control_plane::control_plane().namespace("outage", &[]),
        json!({"resync": "15s"}),
    )
    .await;
    let mut controller = w.controller("dnsfailover-0").await;
    w.apply(&record_yaml("www", "203.0.113.10", "198.51.100.10"));
    w.wait_ready("www");

    w.plane.component("stop", "kube-apiserver");
    // While the apiserver is away, someone deletes the SECONDARY in Route 53.
    let secondary = w
        .side("www.example.com.", Failover::Secondary)
        .await
        .expect("SECONDARY");
    route53::Route53::change_record_sets(
        w.r53(),
        &w.zone.id,
        &[Change {
            action: ChangeAction::Delete,
            record: secondary.clone(),
        }],
    )
    .await
    .expect("delete the SECONDARY behind the controller's back");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(controller.running(), "the controller survives a lost apiserver");
    w.plane.component("start", "kube-apiserver");

    // A change made right after the restart, and the drift, both converge.
    w.patch("www", json!({"spec": {"ttl": 240}}));
    eventually(CONVERGE, "the new TTL and the SECONDARY back", || async {
        let primary = w.side("www.example.com.", Failover::Primary).await;
        let restored = w.side("www.example.com.", Failover::Secondary).await;
        match (primary.and_then(|p| p.ttl), restored) {
            (Some(240), Some(s)) if s.values == secondary.values && s.ttl == Some(240) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    w.wait_status("www", "observedGeneration 2 and Ready", |o| {
        (o["status"]["observedGeneration"] == 2
            && world::condition(o, "Ready").is_some_and(|c| c.0 == "True"))
        .then_some(())
        .ok_or_else(|| o["status"].to_string())
    })
    .await;
    assert_eq!(w.health_checks().await.len(), 1, "no duplicate health check");
    assert!(controller.running());
}
