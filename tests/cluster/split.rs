//! Two clusters, one name, on the real control plane: two namespaces stand
//! for two clusters, each with its own release of the chart (its own owner
//! id, ServiceAccount and controller process), sharing one Route 53. Cluster
//! A's FailoverRecord manages the PRIMARY, cluster B's the SECONDARY.

use dnsfailover::core::ownership::{Marker, marker_name};
use dnsfailover::route53::{Failover, RrType};
use serde_json::{Value, json};

use crate::support::control_plane::eventually;
use crate::world::{CONVERGE, World, condition};

const FQDN: &str = "www.example.com.";

fn side_yaml(name: &str, manage: &str, side: &str, address: &str, check: &str) -> String {
    format!(
        r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata:
  name: {name}
spec:
  hostedZone: {{name: example.com}}
  name: www
  ttl: 60
  manage: {manage}
  {side}:
    addresses: [{address}]
    healthCheck: {check}
"#
    )
}

/// A cluster's chart values: its own owner id, and a short resync so that
/// what the other cluster wrote shows within the test's patience.
fn cluster(owner_id: &str) -> Value {
    json!({"ownerId": owner_id, "resync": "5s", "healthPollRate": 1})
}

fn ready(o: &Value) -> Result<(), String> {
    match condition(o, "Ready") {
        Some((status, _, _)) if status == "True" => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

fn conflict(o: &Value, needle: &str) -> Result<(), String> {
    match condition(o, "Ready") {
        Some((status, reason, message))
            if status == "False" && reason == "RecordConflict" && message.contains(needle) =>
        {
            Ok(())
        }
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_share_one_name_and_see_each_others_side() {
    let plane = crate::support::control_plane::control_plane();
    let a = World::in_namespace(plane.namespace("cluster-a", &[]), cluster("cluster-a")).await;
    let b = a
        .beside(plane.namespace("cluster-b", &[]), cluster("cluster-b"))
        .await;
    let _controller_a = a.controller("dnsfailover-a").await;
    let _controller_b = b.controller("dnsfailover-b").await;

    a.apply(&side_yaml(
        "www",
        "Primary",
        "primary",
        "52.94.236.10",
        "{protocol: HTTP, port: 80, path: /health, requestInterval: 10}",
    ));
    b.apply(&side_yaml(
        "www",
        "Secondary",
        "secondary",
        "52.95.110.20",
        "{protocol: HTTP, port: 80, path: /health}",
    ));
    a.wait_ready("www");
    b.wait_ready("www");

    // Route 53: each side once, a check each, one marker with an entry each.
    let primary = a.side(FQDN, Failover::Primary).await.expect("A's PRIMARY");
    let secondary = a
        .side(FQDN, Failover::Secondary)
        .await
        .expect("B's SECONDARY");
    assert_eq!(primary.values, vec!["52.94.236.10"]);
    assert_eq!(secondary.values, vec!["52.95.110.20"]);
    assert_eq!(a.health_checks().await.len(), 2);
    let marker = a
        .records()
        .await
        .into_iter()
        .find(|r| r.name == marker_name(FQDN, &RrType::A))
        .expect("the marker");
    let owners: Vec<String> = marker
        .values
        .iter()
        .filter_map(|v| Marker::parse(v))
        .map(|m| m.owner_id)
        .collect();
    assert_eq!(owners.len(), 2, "{owners:?}");
    assert!(owners.contains(&"cluster-a".into()) && owners.contains(&"cluster-b".into()));

    // Each shows the other's side read-only, with who holds it.
    let b_check = secondary.health_check_id.clone().expect("B's check");
    a.wait_status("www", "B's side in A's status", |o| {
        let theirs = &o["status"]["secondary"];
        (theirs["managedBy"] == "owner cluster-b, FailoverRecord {ns}/www".replace("{ns}", &b.ns)
            && theirs["healthCheckId"] == b_check.as_str()
            && theirs["health"] == "Healthy")
            .then_some(())
            .ok_or_else(|| o["status"].to_string())
    })
    .await;

    // Cross-health: cluster A drills a failover; cluster B sees its primary
    // go unhealthy and DNS answer with its own secondary.
    a.patch(
        "www",
        json!({"spec": {"primary": {"healthCheck": {"inverted": true}}}}),
    );
    b.wait_status("www", "A's primary unhealthy in B's status", |o| {
        let status = &o["status"];
        (status["primary"]["health"] == "Unhealthy"
            && status["primary"]["managedBy"]
                == "owner cluster-a, FailoverRecord {ns}/www".replace("{ns}", &a.ns)
            && status["active"] == "Secondary")
            .then_some(())
            .ok_or_else(|| status.to_string())
    })
    .await;
    b.wait_event("www", "FailoverToSecondary").await;
    assert_eq!(
        a.side(FQDN, Failover::Secondary).await,
        Some(secondary.clone()),
        "A's edit never touched B's side"
    );

    // Cluster A's record is deleted: its side goes, B's keeps serving.
    a.kubectl_ok(&["delete", "failoverrecord", "www", "--wait=false"]);
    eventually(CONVERGE, "A's FailoverRecord to be gone", || async {
        match a.get("www") {
            None => Ok(()),
            Some(o) => Err(o["status"].to_string()),
        }
    })
    .await;
    assert_eq!(a.side(FQDN, Failover::Primary).await, None);
    assert_eq!(a.side(FQDN, Failover::Secondary).await, Some(secondary));
    let checks = a.health_checks().await;
    assert_eq!(checks.len(), 1, "only B's check is left: {checks:?}");
    assert_eq!(checks[0].id, b_check);
    b.wait_status("www", "B Ready without a PRIMARY to show", |o| {
        ready(o)?;
        o["status"]["primary"]
            .is_null()
            .then_some(())
            .ok_or_else(|| o["status"].to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_claiming_one_side_both_say_so_and_nothing_is_overwritten() {
    let plane = crate::support::control_plane::control_plane();
    let a = World::in_namespace(plane.namespace("claim-a", &[]), cluster("cluster-a")).await;
    let b = a
        .beside(plane.namespace("claim-b", &[]), cluster("cluster-b"))
        .await;
    let _controller_a = a.controller("dnsfailover-a").await;
    let _controller_b = b.controller("dnsfailover-b").await;
    let check = "{protocol: HTTP, port: 80, path: /health, requestInterval: 10}";
    a.apply(&side_yaml(
        "www",
        "Primary",
        "primary",
        "52.94.236.10",
        check,
    ));
    a.wait_ready("www");
    let primary = a.side(FQDN, Failover::Primary).await.expect("A's PRIMARY");

    // Cluster B claims the PRIMARY too.
    b.apply(&side_yaml(
        "www",
        "Primary",
        "primary",
        "52.95.110.99",
        check,
    ));
    b.wait_status("www", "B's conflict", |o| conflict(o, "cluster-a"))
        .await;
    b.wait_event("www", "ConflictDetected").await;
    a.wait_status("www", "A's conflict", |o| conflict(o, "cluster-b"))
        .await;
    a.wait_event("www", "ConflictDetected").await;
    assert_eq!(
        a.side(FQDN, Failover::Primary).await,
        Some(primary.clone()),
        "A's PRIMARY is untouched"
    );
    assert_eq!(a.health_checks().await.len(), 1, "no check for B's claim");

    // B is fixed to manage the SECONDARY: both become Ready.
    b.apply(&side_yaml(
        "www",
        "Secondary",
        "secondary",
        "52.95.110.20",
        "{protocol: HTTP, port: 80, path: /health}",
    ));
    b.wait_status("www", "B Ready", ready).await;
    a.wait_status("www", "A Ready", ready).await;
    assert_eq!(a.side(FQDN, Failover::Primary).await, Some(primary));
    assert!(a.side(FQDN, Failover::Secondary).await.is_some());
}

#[test]
fn the_apiserver_refuses_a_side_described_where_another_installation_manages_it() {
    let plane = crate::support::control_plane::control_plane();
    let ns = plane.namespace("manage", &[]);
    let refused = |yaml: &str| {
        let out = plane.kubectl_with(
            &["apply", "-n", &ns, "--dry-run=server", "-f", "-"],
            Some(yaml),
        );
        assert!(!out.status.success(), "accepted: {yaml}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let primary = side_yaml(
        "www",
        "Primary",
        "primary",
        "52.94.236.10",
        "{protocol: HTTP, requestInterval: 10}",
    );
    let both_sides = format!("{primary}  secondary:\n    addresses: [52.95.110.20]\n");
    let message = refused(&both_sides);
    assert!(
        message.contains("the secondary side belongs to another installation"),
        "{message}"
    );
    let message = refused(&primary.replace("manage: Primary", "manage: Secondary"));
    assert!(
        message.contains("secondary is required unless manage is Primary"),
        "{message}"
    );
    let message = refused(&primary.replace("manage: Primary", "manage: Neither"));
    assert!(message.contains("Unsupported value"), "{message}");
}
