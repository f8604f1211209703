//! The seed walkthrough as a user runs it: `kubectl apply` of the example,
//! `kubectl wait`, what Route 53 then holds, the status and the events; an
//! edit, the failover drill, deletion; and a whole namespace deleted.

use dnsfailover::route53::{Failover, RrType};
use serde_json::json;

use crate::support::control_plane::{ControllerProcess, eventually, root};
use crate::world::{CONVERGE, World, condition, record_yaml};

const FQDN: &str = "examplefailover.example.com.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_through_kubectl_create_edit_drill_and_delete() {
    // The example names namespace `web`; no other test uses it.
    let w = World::in_namespace("web".into(), json!({})).await;
    let controller = w.controller("dnsfailover-0").await;

    let example = root().join("examples/examplefailover.yaml");
    let applied = w
        .plane
        .kubectl_ok(&["apply", "-f", &example.display().to_string()]);
    assert_eq!(
        applied.trim(),
        "failoverrecord.dnsfailover.io/examplefailover created"
    );
    w.wait_ready("examplefailover");
    // The chart's readinessProbe: /readyz answers 200 once the first list
    // of FailoverRecords is in (on a real apiserver it once never did).
    eventually(CONVERGE, "/readyz to answer 200", || async {
        match controller.http_get("/readyz") {
            Some((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        controller.metric("dnsfailover_records_managed") >= 1.0,
        "the gauge counts the listed FailoverRecords"
    );

    // Route 53: one HTTP check on the primary, both sides, the marker.
    let checks = w.health_checks().await;
    assert_eq!(checks.len(), 1, "exactly one health check: {checks:?}");
    let check = &checks[0];
    assert_eq!(check.config.ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(check.config.port, 80);
    assert_eq!(check.config.resource_path.as_deref(), Some("/index.html"));
    assert_eq!(check.config.request_interval, 10);
    let primary = w.side(FQDN, Failover::Primary).await.expect("PRIMARY");
    assert_eq!(primary.values, vec!["192.0.2.10"]);
    assert_eq!(primary.ttl, Some(60));
    assert_eq!(primary.health_check_id.as_deref(), Some(check.id.as_str()));
    let secondary = w.side(FQDN, Failover::Secondary).await.expect("SECONDARY");
    assert_eq!(secondary.values, vec!["192.0.2.20"]);
    assert_eq!(secondary.health_check_id, None);
    assert!(
        w.records()
            .await
            .iter()
            .any(|r| r.rr_type == RrType::TXT && r.name.starts_with("_dnsfailover-a.")),
        "the ownership marker is written with the pair"
    );

    // The status a user reads back.
    let object = w.get("examplefailover").expect("the object");
    let status = &object["status"];
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["fqdn"], FQDN);
    assert_eq!(status["hostedZoneId"], w.zone.id.as_str());
    assert_eq!(status["primary"]["healthCheckId"], check.id.as_str());
    assert_eq!(
        object["metadata"]["finalizers"],
        json!(["dnsfailover.io/cleanup"])
    );
    let active = w
        .wait_status("examplefailover", "active Primary", |o| {
            (o["status"]["active"] == "Primary")
                .then_some(())
                .ok_or_else(|| o["status"].to_string())
        })
        .await;
    assert_eq!(
        condition(&active, "Ready").map(|c| c.0),
        Some("True".into())
    );
    let table = w.kubectl_ok(&["get", "failoverrecords"]);
    assert!(
        table.lines().nth(1).is_some_and(|row| row.contains(FQDN)
            && row.contains("Primary")
            && row.contains("True")),
        "kubectl get shows the FQDN, active side and Ready:\n{table}"
    );
    let reasons = w.event_reasons("examplefailover");
    assert!(
        reasons.iter().any(|r| r == "Created"),
        "a Created event in {reasons:?}"
    );

    // An edit reaches Route 53 and observedGeneration.
    w.patch("examplefailover", json!({"spec": {"ttl": 120}}));
    w.wait_status("examplefailover", "observedGeneration 2", |o| {
        (o["status"]["observedGeneration"] == 2
            && condition(o, "Ready").is_some_and(|c| c.0 == "True"))
        .then_some(())
        .ok_or_else(|| o["status"].to_string())
    })
    .await;
    let primary = w.side(FQDN, Failover::Primary).await.expect("PRIMARY");
    assert_eq!(primary.ttl, Some(120), "the new TTL is in Route 53");
    assert_eq!(
        w.health_checks().await.len(),
        1,
        "the TTL leaves the check alone"
    );

    // The drill: an inverted check reads unhealthy, DNS answers with the
    // secondary, and the cluster says so.
    w.patch(
        "examplefailover",
        json!({"spec": {"primary": {"healthCheck": {"inverted": true}}}}),
    );
    w.wait_status("examplefailover", "active Secondary", |o| {
        (o["status"]["active"] == "Secondary")
            .then_some(())
            .ok_or_else(|| o["status"].to_string())
    })
    .await;
    w.wait_event("examplefailover", "FailoverToSecondary").await;
    let checks = w.health_checks().await;
    assert_eq!(checks.len(), 1, "inverted is updated in place");
    assert!(checks[0].config.inverted);

    // Deletion: records, then the check, then the finalizer goes.
    w.kubectl_ok(&[
        "delete",
        "failoverrecord",
        "examplefailover",
        "--wait=false",
    ]);
    eventually(CONVERGE, "the object to be gone", || async {
        match w.get("examplefailover") {
            None => Ok(()),
            Some(o) => Err(o["status"].to_string()),
        }
    })
    .await;
    assert!(w.records().await.is_empty(), "{:?}", w.records().await);
    assert!(w.health_checks().await.is_empty());
    drop(controller);
}

/// Deletes a namespace holding three FailoverRecords while the controller
/// runs; every record set and check must leave Route 53 before it is gone.
async fn namespace_deletion(w: World, controller: ControllerProcess) {
    let plane = w.plane;
    let ns = w.ns.clone();
    for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
        w.apply(&record_yaml(
            name,
            &format!("203.0.113.{}", 10 + i),
            &format!("198.51.100.{}", 10 + i),
        ));
    }
    for name in ["alpha", "beta", "gamma"] {
        w.wait_ready(name);
    }
    assert_eq!(w.health_checks().await.len(), 3);

    plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
    eventually(CONVERGE * 2, "the namespace to be gone", || async {
        let out = plane.kubectl(&["get", "namespace", &ns, "-o", "json"]);
        if out.status.success() {
            Err(String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(2000)
                .collect())
        } else {
            Ok(())
        }
    })
    .await;
    assert!(w.records().await.is_empty(), "{:?}", w.records().await);
    assert!(w.health_checks().await.is_empty());
    drop(controller);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_cleans_every_record_in_it_from_route53() {
    // Cluster-wide RBAC, the chart's default: with watchNamespaces the Role
    // lives in the namespace being deleted and can go before the finalizers
    // (README, "Uninstalling"). The chart watches every namespace; this
    // process only this one, so that tests running beside it keep their own
    // records.
    let plane = crate::support::control_plane::control_plane();
    let ns = plane.namespace("doomed", &[]);
    let w = World::in_namespace(ns.clone(), json!({"watchNamespaces": []})).await;
    let controller = w.controller_for_namespace("dnsfailover-0", &ns).await;
    namespace_deletion(w, controller).await;
}
