//! Two controller processes with one Lease: exactly one writes; when the
//! leader is killed the other takes over within the lease duration and
//! reconciles what changed meanwhile, without duplicating anything. And one
//! controller killed and restarted makes no write it does not need.

use std::time::{Duration, Instant};

use dnsfailover::route53::Failover;
use serde_json::json;

use crate::support::control_plane::{ControllerProcess, eventually};
use crate::world::{CONVERGE, World, record_yaml, writes};

/// The chart's lease duration is 15 s; a follower notices within one more
/// renewal period.
const TAKEOVER: Duration = Duration::from_secs(30);

async fn leader_of<'a>(
    a: &'a mut ControllerProcess,
    b: &'a mut ControllerProcess,
) -> (&'a mut ControllerProcess, &'a mut ControllerProcess) {
    eventually(CONVERGE, "exactly one leader", || async {
        let (la, lb) = (a.metric("dnsfailover_leader"), b.metric("dnsfailover_leader"));
        match (la, lb) {
            (1.0, 0.0) | (0.0, 1.0) => Ok(()),
            other => Err(format!("leader gauges {other:?}")),
        }
    })
    .await;
    if a.metric("dnsfailover_leader") == 1.0 {
        (a, b)
    } else {
        (b, a)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_writes_and_a_killed_leader_is_replaced_within_the_lease() {
    let w = World::new("leader").await;
    let mut a = w.controller("dnsfailover-a").await;
    let mut b = w.controller("dnsfailover-b").await;
    let (leader, follower) = leader_of(&mut a, &mut b).await;

    w.apply(&record_yaml("www", "203.0.113.10", "198.51.100.10"));
    w.wait_ready("www");
    assert!(writes(leader) >= 2.0, "the leader wrote the check and the records");
    assert_eq!(writes(follower), 0.0, "the follower wrote nothing");

    leader.kill();
    let killed = Instant::now();
    w.patch("www", json!({"spec": {"ttl": 300}}));
    eventually(TAKEOVER, "the follower to lead", || async {
        match follower.metric("dnsfailover_leader") {
            1.0 => Ok(()),
            other => Err(format!("leader gauge {other}")),
        }
    })
    .await;
    eventually(CONVERGE, "the new TTL in Route 53", || async {
        let primary = w.side("www.example.com.", Failover::Primary).await;
        match primary.as_ref().and_then(|p| p.ttl) {
            Some(300) => Ok(()),
            other => Err(format!("ttl {other:?}")),
        }
    })
    .await;
    eprintln!("takeover and change in {:?}", killed.elapsed());
    w.wait_status("www", "observedGeneration 2", |o| {
        (o["status"]["observedGeneration"] == 2)
            .then_some(())
            .ok_or_else(|| o["status"].to_string())
    })
    .await;
    assert_eq!(w.health_checks().await.len(), 1, "no duplicate health check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_and_restarted_converges_without_needless_writes() {
    let w = World::new("restart").await;
    let mut controller = w.controller("dnsfailover-0").await;
    for name in ["one", "two"] {
        w.apply(&record_yaml(name, "203.0.113.10", "198.51.100.10"));
    }
    w.wait_ready("one");
    w.wait_ready("two");
    let checks = w.health_checks().await;
    assert_eq!(checks.len(), 2);

    controller.kill();
    // Changed while no controller runs.
    w.patch("one", json!({"spec": {"ttl": 120}}));
    controller.restart();
    w.wait_status("one", "observedGeneration 2", |o| {
        (o["status"]["observedGeneration"] == 2)
            .then_some(())
            .ok_or_else(|| o["status"].to_string())
    })
    .await;
    let primary = w.side("one.example.com.", Failover::Primary).await.expect("PRIMARY");
    assert_eq!(primary.ttl, Some(120));
    // Let it settle, then count: one record change for `one`, nothing for
    // the untouched `two`, and no health-check write at all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |op: &str| {
        controller.metric(&format!(
            "dnsfailover_route53_requests_total{{operation=\"{op}\",outcome=\"ok\"}}"
        ))
    };
    assert_eq!(count("ChangeResourceRecordSets"), 1.0, "{}", controller.log_text());
    for op in ["CreateHealthCheck", "UpdateHealthCheck", "DeleteHealthCheck", "ChangeTagsForResource"] {
        assert_eq!(count(op), 0.0, "{op} after a restart");
    }
    let after: Vec<String> = w.health_checks().await.into_iter().map(|c| c.id).collect();
    let before: Vec<String> = checks.into_iter().map(|c| c.id).collect();
    assert_eq!(after, before, "the same checks, none duplicated");
}
