//! The controller against an in-memory Kubernetes API server (behind kube's
//! own client) and the in-memory Route 53: each scenario asserts the requests
//! made to the cluster and the calls made to Route 53.
//!
//! Long because each test is one scenario of the controller's life (create,
//! update, delete, failover, errors, leadership, zone moves), each needing the
//! same harness; one file keeps them comparable.

mod support;

use support::cluster::{self, Harness, NS, SPEC, path};

use std::time::Duration;

use dnsfailover::api::{ActiveSide, FailoverRecord, Health};
use dnsfailover::controller::{self, Settings};
use dnsfailover::core::report::Category;
use dnsfailover::route53::fake::Fault;
use dnsfailover::route53::{ErrorKind, Failover, Operation, RrType};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use serde_json::json;

#[tokio::test]
async fn create_adds_the_finalizer_first_then_writes_route53_and_status() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);

    let action = h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    assert_eq!(
        h.api.take_lines(),
        vec![format!("PATCH {}", path("examplefailover"))],
        "only the finalizer"
    );
    assert_eq!(
        h.fake.write_calls(),
        0,
        "no Route 53 write before the finalizer is on"
    );
    let finalizers = h
        .api
        .record(NS, "examplefailover")
        .metadata
        .finalizers
        .unwrap_or_default();
    assert_eq!(finalizers, vec![controller::FINALIZER.to_string()]);

    let action = h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(
        action,
        Action::requeue(h.ctx.settings().short_requeue),
        "look again soon while the change is PENDING"
    );
    let writes = h.fake.writes();
    assert_eq!(
        writes,
        vec![
            Operation::CreateHealthCheck,
            Operation::ChangeTagsForResource,
            Operation::ChangeResourceRecordSets
        ]
    );
    assert_eq!(
        h.api.take_lines(),
        vec![
            // One Event for the first write (Created), then the status.
            format!("POST /apis/events.k8s.io/v1/namespaces/{NS}/events"),
            format!("PATCH {}/status", path("examplefailover")),
        ]
    );
    let patch = h.api.requests().last().cloned();
    assert!(patch.is_none(), "take_lines cleared the log");

    let status = h.status("examplefailover");
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.fqdn.as_deref(), Some("examplefailover.example.com."));
    assert_eq!(status.hosted_zone_id.as_deref(), Some(h.zone.id.as_str()));
    let check = h.fake.health_checks().remove(0);
    assert_eq!(
        status
            .primary
            .as_ref()
            .and_then(|p| p.health_check_id.as_deref()),
        Some(check.id.as_str())
    );
    assert_eq!(
        status
            .secondary
            .as_ref()
            .and_then(|s| s.health_check_id.as_deref()),
        None
    );
    assert_eq!(
        status.change.as_ref().map(|c| c.status.as_str()),
        Some("PENDING")
    );
    assert_eq!(h.condition("examplefailover", "Ready").0, "True");
    assert_eq!(
        h.condition("examplefailover", "HealthCheckSynced").1,
        "HealthChecksMatch"
    );
    assert_eq!(
        h.condition("examplefailover", "RecordsSynced").1,
        "RecordsMatch"
    );
}

#[tokio::test]
async fn the_status_patch_is_server_side_apply_on_the_status_subresource() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let patch = h
        .api
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/status"))
        .expect("status patch");
    assert_eq!(patch.method, "PATCH");
    assert!(
        patch.query.contains("fieldManager=dnsfailover") && patch.query.contains("force=true"),
        "{}",
        patch.query
    );
    assert_eq!(patch.body["apiVersion"], "dnsfailover.io/v1alpha1");
    assert_eq!(patch.body["kind"], "FailoverRecord");
    assert!(patch.body.get("spec").is_none(), "status only");
}

#[tokio::test]
async fn a_no_op_reconcile_writes_nothing_anywhere() {
    let h = Harness::new();
    h.fake.set_polls_until_insync(0);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    // Once: GetChange moves the change to INSYNC (a status write).
    h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(
        h.status("examplefailover").change.map(|c| c.status),
        Some("INSYNC".to_string())
    );
    h.api.take_lines();
    h.fake.clear_calls();

    let action = h.reconcile("examplefailover").await.expect("reconcile");
    assert!(matches!(action, a if a != Action::await_change()));
    assert_eq!(h.fake.write_calls(), 0);
    assert!(
        !h.fake.calls().contains(&Operation::GetChange),
        "INSYNC is terminal: never polled again"
    );
    assert!(
        h.fake.calls().is_empty(),
        "the zone and checks come from the shared cache: {:?}",
        h.fake.calls()
    );
    assert_eq!(
        h.api.take_lines(),
        Vec::<String>::new(),
        "an unchanged status is not patched"
    );
}

#[tokio::test]
async fn a_spec_change_makes_the_minimal_route53_change_and_a_new_observed_generation() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.fake.clear_calls();
    h.api.take_lines();

    h.edit("examplefailover", |spec| {
        spec.primary
            .as_mut()
            .expect("side")
            .health_check
            .as_mut()
            .expect("check")
            .failure_threshold = 5
    });
    h.reconcile("examplefailover").await.expect("reconcile");
    let writes = h.fake.writes();
    assert_eq!(
        writes,
        vec![Operation::UpdateHealthCheck],
        "an in-place update, no record change"
    );
    assert_eq!(h.status("examplefailover").observed_generation, Some(2));
    h.assert_event("Normal", "HealthCheckUpdated");
}

#[tokio::test]
async fn delete_cleans_up_records_then_checks_and_removes_the_finalizer() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.fake.clear_calls();
    h.api.take_lines();

    h.delete("examplefailover");
    // First the record sets; their health check waits until Route 53 has
    // applied that everywhere.
    let (action, error) = h.run("examplefailover").await;
    assert_eq!(
        error.map(|e| e.category()),
        Some(Category::ChangesPending),
        "waiting"
    );
    assert_eq!(
        action,
        Action::requeue(h.ctx.settings().short_requeue),
        "asked again after the short requeue, not a growing backoff"
    );
    assert!(h.fake.records(&h.zone.id).is_empty());
    assert_eq!(h.fake.health_checks().len(), 1);
    let (status, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ChangesPending")
    );
    assert!(message.contains("INSYNC"), "{message}");
    let pending = h.status("examplefailover").change.expect("change recorded");
    assert_eq!(pending.status, "PENDING");
    assert!(
        h.api.events().is_empty(),
        "waiting for Route 53 is not a warning: {:?}",
        h.api.events()
    );

    h.finish_deletion("examplefailover").await;
    let writes = h.fake.writes();
    assert_eq!(
        writes,
        vec![
            Operation::ChangeResourceRecordSets,
            Operation::DeleteHealthCheck
        ],
        "records first, then the check"
    );
    assert!(h.fake.health_checks().is_empty());
    h.assert_event("Normal", "CleanupDone");
}

#[tokio::test]
async fn retain_leaves_route53_alone_on_delete() {
    let h = Harness::new();
    h.create(
        "examplefailover",
        &format!("{SPEC}deletionPolicy: Retain\n"),
    );
    h.converge("examplefailover").await;
    h.fake.clear_calls();
    h.delete("examplefailover");
    h.reconcile("examplefailover").await.expect("cleanup");
    assert_eq!(h.fake.write_calls(), 0);
    assert_eq!(h.fake.records(&h.zone.id).len(), 3);
    assert_eq!(h.fake.health_checks().len(), 1);
    h.assert_event("Normal", "Retained");
    assert!(h.api.get(&path("examplefailover")).is_none());
}

#[tokio::test]
async fn a_deletion_while_route53_is_unreachable_stays_terminating_with_a_reason_then_finishes() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.delete("examplefailover");
    h.fake.inject_always(None, Fault::Fail(ErrorKind::Network));
    h.ctx.observer().invalidate_all().await;

    let (action, error) = h.run("examplefailover").await;
    assert_eq!(
        error.map(|e| e.category()),
        Some(Category::Route53Unavailable),
        "Route 53 unreachable"
    );
    assert_eq!(
        action,
        Action::requeue(h.ctx.settings().retry.base),
        "retried with backoff"
    );
    let record = h.api.record(NS, "examplefailover");
    assert_eq!(
        record.metadata.finalizers.clone().unwrap_or_default(),
        vec![controller::FINALIZER.to_string()],
        "still Terminating"
    );
    let (status, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "Route53Unavailable")
    );
    assert!(
        message.starts_with("deleting: the finalizer stays until Route 53 confirms the cleanup"),
        "{message}"
    );

    h.fake.clear_faults();
    h.finish_deletion("examplefailover").await;
    assert!(h.fake.health_checks().is_empty());
}

#[tokio::test]
async fn an_invalid_spec_gets_a_condition_an_event_and_no_route53_write() {
    let h = Harness::new();
    h.create(
        "examplefailover",
        &SPEC.replace("name: examplefailover", "name: www.example.org"),
    );
    h.reconcile("examplefailover").await.expect("finalizer");
    h.api.take_lines();
    let action = h
        .reconcile("examplefailover")
        .await
        .expect("an invalid spec is not an error to retry");
    assert_eq!(
        action,
        Action::await_change(),
        "nothing to do until the spec changes"
    );
    assert!(
        h.fake.calls().is_empty(),
        "no Route 53 call at all: {:?}",
        h.fake.calls()
    );
    let (status, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "InvalidSpec"));
    assert!(
        message.contains("spec.name") && message.contains("not inside hosted zone example.com."),
        "{message}"
    );
    assert_eq!(
        h.api.events(),
        vec![("Warning".to_string(), "InvalidSpec".to_string())]
    );

    // Reconciling again changes nothing and repeats no event.
    h.api.take_lines();
    h.reconcile("examplefailover").await.expect("reconcile");
    assert!(h.api.take_lines().is_empty());
}

#[tokio::test]
async fn throttling_backs_off_longer_each_time_then_recovers() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    h.fake.inject_always(
        Some(Operation::CreateHealthCheck),
        Fault::Fail(ErrorKind::Throttled),
    );
    let mut actions = Vec::new();
    for _ in 0..5 {
        let (action, error) = h.run("examplefailover").await;
        assert_eq!(
            error.map(|e| e.category()),
            Some(Category::Route53Throttled)
        );
        actions.push(action);
    }
    // The harness runs the schedule without jitter (the jitter's spread is
    // tested with the schedule itself): each consecutive failure of this
    // object waits twice as long as the one before.
    let base = h.ctx.settings().retry.base;
    assert_eq!(
        actions,
        [1, 2, 4, 8, 16].map(|n| Action::requeue(base * n)),
        "backoff grows"
    );
    assert_eq!(
        h.condition("examplefailover", "Ready").1,
        "Route53Throttled"
    );

    h.fake.clear_faults();
    h.reconcile("examplefailover").await.expect("recovers");
    assert_eq!(h.condition("examplefailover", "Ready").0, "True");
    h.fake
        .inject_always(None, Fault::Fail(ErrorKind::Throttled));
    h.ctx.observer().invalidate_all().await;
    assert_eq!(
        h.run("examplefailover").await.0,
        Action::requeue(base),
        "reset on success: the next failure starts over"
    );
}

#[tokio::test]
async fn a_health_flip_fails_over_with_one_event_and_back() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let check = h.fake.health_checks().remove(0);
    let key = ObjectRef::from_obj(&h.api.record(NS, "examplefailover"));

    // The poller reads health and asks for a reconcile when it changes.
    assert_eq!(
        h.ctx.health().poll_once(h.ctx.engine().route53()).await,
        Some(key.clone())
    );
    h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(
        h.status("examplefailover").active,
        Some(ActiveSide::Primary)
    );
    assert_eq!(
        h.status("examplefailover")
            .primary
            .and_then(|p| p.checkers_healthy)
            .as_deref(),
        Some("16/16")
    );

    h.fake.set_health(&check.id, 1, 16);
    assert_eq!(
        h.ctx.health().poll_once(h.ctx.engine().route53()).await,
        Some(key.clone())
    );
    h.api.take_lines();
    h.reconcile("examplefailover").await.expect("reconcile");
    let status = h.status("examplefailover");
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    assert_eq!(
        status.primary.as_ref().and_then(|p| p.health),
        Some(Health::Unhealthy)
    );
    assert!(status.last_failover_time.is_some());
    assert_eq!(
        h.api.events(),
        vec![("Warning".to_string(), "FailoverToSecondary".to_string())]
    );
    assert_eq!(
        h.fake.write_calls(),
        3,
        "failover needs no Route 53 write: Route 53 answers by itself"
    );

    h.api.take_lines();
    assert_eq!(
        h.ctx.health().poll_once(h.ctx.engine().route53()).await,
        None,
        "unchanged health triggers nothing"
    );
    h.reconcile("examplefailover").await.expect("reconcile");
    assert!(h.api.events().is_empty(), "one event per transition");

    h.fake.set_health(&check.id, 16, 16);
    assert_eq!(
        h.ctx.health().poll_once(h.ctx.engine().route53()).await,
        Some(key)
    );
    h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(
        h.status("examplefailover").active,
        Some(ActiveSide::Primary)
    );
    assert_eq!(
        h.api.events(),
        vec![("Normal".to_string(), "FailbackToPrimary".to_string())]
    );
}

#[tokio::test]
async fn a_service_hostname_change_updates_the_alias() {
    let h = Harness::new();
    let service = |host: &str| {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"hostname": host}]}}
        })
    };
    h.api.put(
        format!("/api/v1/namespaces/{NS}/services/web"),
        service("web-1.us-east-1.elb.amazonaws.com"),
    );
    h.create("examplefailover", &SPEC.replace("  addresses: [52.94.236.10]\n  healthCheck: {protocol: HTTP, port: 80, path: /index.html, requestInterval: 10}", "  serviceRef: {name: web}"));
    h.converge("examplefailover").await;
    let primary = h.side(Failover::Primary);
    let alias = primary.alias.expect("alias");
    assert_eq!(alias.dns_name, "web-1.us-east-1.elb.amazonaws.com");
    assert_eq!(alias.hosted_zone_id, "Z35SXDOTRQ7X7K");
    assert!(alias.evaluate_target_health);
    assert!(
        h.fake.health_checks().is_empty(),
        "an alias evaluating target health needs no check"
    );

    h.api.put(
        format!("/api/v1/namespaces/{NS}/services/web"),
        service("web-2.us-west-2.elb.amazonaws.com"),
    );
    h.api.take_lines();
    h.reconcile("examplefailover").await.expect("reconcile");
    let primary = h.side(Failover::Primary);
    assert_eq!(
        primary.alias.map(|a| (a.dns_name, a.hosted_zone_id)),
        Some((
            "web-2.us-west-2.elb.amazonaws.com".to_string(),
            "Z1H1FL5HABSF5".to_string()
        ))
    );
    h.assert_event("Normal", "RecordsUpdated");
}

#[tokio::test]
async fn a_service_without_a_load_balancer_address_is_retried_not_invalid() {
    let h = Harness::new();
    h.api.put(
        format!("/api/v1/namespaces/{NS}/services/web"),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS}, "spec": {"type": "LoadBalancer"}}),
    );
    h.create(
        "examplefailover",
        &SPEC.replace("  addresses: [52.94.236.20]", "  serviceRef: {name: web}"),
    );
    h.reconcile("examplefailover").await.expect("finalizer");
    let error = h.reconcile("examplefailover").await.expect_err("pending");
    assert_eq!(error.category(), Category::TargetNotReady);
    assert_eq!(h.fake.write_calls(), 0);
    assert!(
        h.condition("examplefailover", "Ready")
            .2
            .contains("waiting for Service web to get a load balancer address")
    );
}

const GATEWAYS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces";

/// A Gateway whose controller has published these `status.addresses`.
fn gateway(addresses: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "public", "namespace": NS},
        "spec": {"gatewayClassName": "example", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
        "status": {"addresses": addresses}
    })
}

fn with_gateway_primary() -> String {
    SPEC.replace(
        "  addresses: [52.94.236.10]\n",
        "  gatewayRef: {name: public}\n",
    )
}

#[tokio::test]
async fn a_gateway_ref_takes_the_gateways_addresses_and_follows_them() {
    let h = Harness::with(Settings {
        gateway_api: true,
        ..cluster::settings()
    });
    let at = format!("{GATEWAYS}/{NS}/gateways/public");
    h.api.put(at.clone(), gateway(json!([])));
    h.create("examplefailover", &with_gateway_primary());
    h.reconcile("examplefailover").await.expect("finalizer");
    let error = h
        .reconcile("examplefailover")
        .await
        .expect_err("no address");
    assert_eq!(error.category(), Category::TargetNotReady);
    assert_eq!(h.fake.write_calls(), 0);
    assert!(
        h.condition("examplefailover", "Ready")
            .2
            .contains("waiting for Gateway public to get an address in status.addresses")
    );
    assert!(
        h.api.take_lines().contains(&format!("GET {at}")),
        "the Gateway is read from the Gateway API"
    );

    h.api.put(
        at.clone(),
        gateway(json!([{"type": "IPAddress", "value": "52.94.236.11"}])),
    );
    h.converge("examplefailover").await;
    assert_eq!(h.side(Failover::Primary).values, vec!["52.94.236.11"]);
    let check = h.fake.health_checks();
    assert_eq!(
        check
            .first()
            .and_then(|c| c.config.ip_address.clone())
            .as_deref(),
        Some("52.94.236.11"),
        "the health check defaults to the Gateway's first address"
    );

    h.api.put(
        at.clone(),
        gateway(json!([{"type": "IPAddress", "value": "52.94.236.12"}])),
    );
    h.reconcile("examplefailover").await.expect("follows");
    assert_eq!(h.side(Failover::Primary).values, vec!["52.94.236.12"]);

    // A Gateway with only a NamedAddress: the condition says what it has
    // and what is needed.
    h.api.put(
        at,
        gateway(json!([{"type": "NamedAddress", "value": "shared-lb"}])),
    );
    // Not retried: the Gateway's next change triggers a reconcile.
    let action = h.reconcile("examplefailover").await.expect("reported");
    assert_eq!(action, Action::await_change());
    let (_, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.contains("spec.primary.gatewayRef")
            && message.contains("NamedAddress shared-lb")
            && message.contains("IPAddress or Hostname"),
        "{message}"
    );
    assert_eq!(h.side(Failover::Primary).values, vec!["52.94.236.12"]);
}

#[tokio::test]
async fn a_missing_gateway_says_whether_the_cluster_serves_gateways_at_all() {
    let h = Harness::with(Settings {
        gateway_api: true,
        ..cluster::settings()
    });
    // No Gateway API in this cluster: kube-apiserver answers every request
    // under the group with a plain-text 404.
    h.api.unserve("/apis/gateway.networking.k8s.io/");
    h.create("examplefailover", &with_gateway_primary());
    h.reconcile("examplefailover").await.expect("finalizer");
    let error = h
        .reconcile("examplefailover")
        .await
        .expect_err("nothing to resolve");
    let message = error.to_string();
    assert!(
        message.contains("does not serve gateway.networking.k8s.io/v1 Gateways")
            && message.contains("install the Gateway API CRDs"),
        "{message}"
    );
    assert_eq!(h.fake.write_calls(), 0);

    // The CRDs installed, the Gateway not created yet.
    h.api.serve("/apis/gateway.networking.k8s.io/");
    h.api.put(
        "/apis/gateway.networking.k8s.io/v1".to_string(),
        json!({
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "gateway.networking.k8s.io/v1",
            "resources": [{"name": "gateways", "singularName": "gateway", "namespaced": true,
                           "kind": "Gateway", "verbs": ["get", "list", "watch"]}]
        }),
    );
    let message = h
        .reconcile("examplefailover")
        .await
        .expect_err("no Gateway yet")
        .to_string();
    assert!(message.contains("Gateway"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(
        !message.contains("install the Gateway API CRDs"),
        "{message}"
    );
}

#[tokio::test]
async fn a_gateway_ref_without_the_gateway_api_flag_says_how_to_enable_it() {
    let h = Harness::new();
    h.create("examplefailover", &with_gateway_primary());
    h.reconcile("examplefailover").await.expect("finalizer");
    h.api.take_lines();
    // Not retried: enabling the flag restarts the controller, which
    // reconciles everything again.
    let action = h.reconcile("examplefailover").await.expect("reported");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.fake.write_calls(), 0);
    assert!(
        !h.api.take_lines().iter().any(|l| l.contains("gateways")),
        "no Gateway is read without the flag"
    );
    let (status, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "InvalidSpec"));
    assert!(
        message.contains("spec.primary.gatewayRef")
            && message.contains("--gateway-api")
            && message.contains("gatewayAPI.enabled=true"),
        "{message}"
    );
}

#[tokio::test]
async fn a_gateway_event_maps_to_the_failover_records_that_refer_to_it() {
    use dnsfailover::controller::run::referring;
    use dnsfailover::controller::targets::Gateway;
    use kube::runtime::{reflector, watcher};
    let (store, mut writer) = reflector::store::<FailoverRecord>();
    let record = |name: &str, spec: &str| {
        let mut r = FailoverRecord::new(name, serde_yaml::from_str(spec).expect("spec"));
        r.metadata.namespace = Some(NS.into());
        r
    };
    writer.apply_watcher_event(&watcher::Event::Apply(record(
        "uses-gateway",
        &with_gateway_primary(),
    )));
    let with_service = SPEC.replace(
        "  addresses: [52.94.236.10]\n",
        "  serviceRef: {name: public}\n",
    );
    writer.apply_watcher_event(&watcher::Event::Apply(record(
        "uses-service",
        &with_service,
    )));
    let gw: Gateway = serde_json::from_value(gateway(json!([]))).expect("gateway");
    let found = referring(&store, &gw, |t| {
        t.gateway_ref.as_ref().map(|r| r.name.as_str())
    });
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["uses-gateway"]
    );
}

#[tokio::test]
async fn without_the_lease_nothing_is_written() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    h.api.take_lines();
    h.lease.send(false).expect("gate");
    let action = h.reconcile("examplefailover").await.expect("standby");
    assert_eq!(action, Action::requeue(Duration::from_secs(15)));
    assert_eq!(h.fake.write_calls(), 0);
    assert!(h.api.take_lines().is_empty(), "no status, no event");

    // Losing the lease stops writes at the Route 53 port too, even for work
    // already past the reconcile's own check.
    let engine = h.ctx.engine();
    let err = dnsfailover::route53::Route53::delete_health_check(engine.route53(), "any")
        .await
        .expect_err("refused");
    assert_eq!(err.kind, ErrorKind::Refused);
    assert_eq!(h.fake.write_calls(), 0);

    h.lease.send(true).expect("gate");
    h.reconcile("examplefailover").await.expect("leader again");
    assert_eq!(h.fake.health_checks().len(), 1);
}

#[tokio::test]
async fn missing_credentials_fail_readiness_with_a_condition_then_recover_without_restart() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    h.fake
        .inject_always(None, Fault::Fail(ErrorKind::Credentials));
    let error = h
        .reconcile("examplefailover")
        .await
        .expect_err("no credentials");
    assert_eq!(error.category(), Category::CredentialsMissing);
    let (status, reason, message) = h.condition("examplefailover", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "CredentialsMissing")
    );
    assert!(message.contains("provide AWS credentials"), "{message}");
    assert!(
        h.ctx
            .readiness()
            .problem()
            .is_some_and(|p| p.contains("credentials"))
    );
    h.assert_event("Warning", "CredentialsMissing");

    h.fake.clear_faults();
    h.reconcile("examplefailover").await.expect("recovers");
    assert_eq!(h.ctx.readiness().problem(), None);
    assert_eq!(h.condition("examplefailover", "Ready").0, "True");
}

#[tokio::test]
async fn drift_is_corrected_on_resync_with_an_event() {
    let h = Harness::with(Settings {
        resync: Duration::from_secs(300),
        ..Settings::default()
    });
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.reconcile("examplefailover").await.expect("INSYNC");
    let secondary = h.side(Failover::Secondary);
    h.fake.remove_record(&h.zone.id, &secondary.key());

    // The next resync reads Route 53 again.
    h.ctx.observer().invalidate_all().await;
    h.api.take_lines();
    h.reconcile("examplefailover").await.expect("reconcile");
    assert!(h.fake.records(&h.zone.id).contains(&secondary), "restored");
    h.assert_event("Warning", "DriftCorrected");
}

#[tokio::test]
async fn an_unowned_record_is_a_conflict_and_stays_untouched() {
    let h = Harness::new();
    let existing = dnsfailover::route53::RecordSet {
        name: "examplefailover.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec!["203.0.113.7".into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    h.fake.put_record(&h.zone.id, existing.clone());
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    let error = h.reconcile("examplefailover").await.expect_err("conflict");
    assert_eq!(error.category(), Category::RecordConflict);
    assert_eq!(h.fake.write_calls(), 0);
    assert_eq!(h.fake.records(&h.zone.id), vec![existing]);
    assert_eq!(
        h.condition("examplefailover", "RecordsSynced").1,
        "RecordConflict"
    );
    assert_eq!(
        h.api.events(),
        vec![("Warning".to_string(), "ConflictDetected".to_string())]
    );
}

#[tokio::test]
async fn records_of_one_zone_share_one_listing_and_one_change_batch() {
    let h = Harness::new();
    for name in ["a", "b", "c"] {
        h.create(
            name,
            &SPEC.replace("name: examplefailover", &format!("name: {name}")),
        );
        h.reconcile(name).await.expect("finalizer");
    }
    h.fake.clear_calls();
    let (a, b, c) = tokio::join!(h.reconcile("a"), h.reconcile("b"), h.reconcile("c"));
    for result in [a, b, c] {
        result.expect("reconcile");
    }
    let count = |op| h.fake.calls().iter().filter(|c| **c == op).count();
    assert_eq!(
        count(Operation::ListResourceRecordSets),
        1,
        "one listing for the zone"
    );
    assert_eq!(
        count(Operation::ListHealthChecks),
        1,
        "one listing of health checks"
    );
    assert_eq!(
        count(Operation::ChangeResourceRecordSets),
        1,
        "three records' changes in one batch"
    );
    assert_eq!(h.fake.records(&h.zone.id).len(), 9);
}

#[tokio::test]
async fn a_batch_sender_that_dies_does_not_wedge_the_zone() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    h.fake
        .inject(Some(Operation::ChangeResourceRecordSets), Fault::Panic, 1);
    let error = h
        .reconcile("examplefailover")
        .await
        .expect_err("the batch was never answered");
    assert!(error.to_string().contains("batch writer"), "{error}");

    // The next group of the zone gets a sender of its own.
    let written = tokio::time::timeout(Duration::from_secs(10), h.reconcile("examplefailover"))
        .await
        .expect("not wedged");
    written.expect("reconcile");
    assert_eq!(h.fake.records(&h.zone.id).len(), 3);
}

#[tokio::test]
async fn dry_run_writes_nothing_but_says_what_it_would_do() {
    let h = Harness::with(Settings {
        dry_run: true,
        ..Settings::default()
    });
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("dry run");
    assert_eq!(h.fake.write_calls(), 0);
    assert_eq!(
        h.api.take_lines(),
        vec![format!(
            "POST /apis/events.k8s.io/v1/namespaces/{NS}/events"
        )],
        "an event, no finalizer, no status"
    );
    let event = h.api.requests();
    assert!(event.is_empty());
}

#[tokio::test]
async fn a_service_event_maps_to_the_failover_records_that_refer_to_it() {
    use dnsfailover::controller::run::referring;
    use kube::runtime::{reflector, watcher};
    let (store, mut writer) = reflector::store::<FailoverRecord>();
    let record = |name: &str, ns: &str, spec: &str| {
        let mut r = FailoverRecord::new(name, serde_yaml::from_str(spec).expect("spec"));
        r.metadata.namespace = Some(ns.into());
        r
    };
    let with_ref = SPEC.replace("  addresses: [52.94.236.20]", "  serviceRef: {name: web}");
    writer.apply_watcher_event(&watcher::Event::Apply(record("uses-web", NS, &with_ref)));
    writer.apply_watcher_event(&watcher::Event::Apply(record(
        "other-namespace",
        "elsewhere",
        &with_ref,
    )));
    writer.apply_watcher_event(&watcher::Event::Apply(record("plain", NS, SPEC)));
    let service: k8s_openapi::api::core::v1::Service =
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}}))
            .expect("service");
    let found = referring(&store, &service, |t| {
        t.service_ref.as_ref().map(|r| r.name.as_str())
    });
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["uses-web"]
    );
}

#[tokio::test]
async fn metrics_use_fixed_labels_and_readiness_reports_why() {
    use tower::ServiceExt;
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.fake
        .inject_always(None, Fault::Fail(ErrorKind::Throttled));
    h.ctx.observer().invalidate_all().await;
    h.reconcile("examplefailover").await.expect_err("throttled");

    let router =
        dnsfailover::controller::http::router(h.ctx.metrics().clone(), h.ctx.readiness().clone());
    let get = |uri: &str| {
        http::Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request")
    };
    let response = router
        .clone()
        .oneshot(get("/metrics"))
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("dnsfailover_reconciles_total{result=\"ok\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("dnsfailover_reconcile_errors_total{category=\"Route53Throttled\"} 1"),
        "{text}"
    );
    // Object names only label the per-FailoverRecord families, which the
    // README documents; never error text.
    for line in text.lines().filter(|l| l.contains("examplefailover")) {
        assert!(
            [
                "dnsfailover_record_active_side{",
                "dnsfailover_record_endpoint_health{",
                "dnsfailover_record_ready{",
                "dnsfailover_failovers_total{",
            ]
            .iter()
            .any(|family| line.starts_with(family)),
            "object name outside the per-record families: {line}"
        );
    }
    assert!(
        !text.to_lowercase().contains("throttl") || !text.contains("Rate exceeded"),
        "no error text in labels"
    );
    assert_eq!(
        router
            .clone()
            .oneshot(get("/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        router
            .clone()
            .oneshot(get("/readyz"))
            .await
            .expect("readyz")
            .status(),
        200
    );

    h.ctx
        .readiness()
        .credentials_ok
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let response = router.oneshot(get("/readyz")).await.expect("readyz");
    assert_eq!(response.status(), 503);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    assert!(String::from_utf8_lossy(&body).contains("credentials"));
}

#[tokio::test]
async fn a_health_read_out_is_written_once_and_then_left_alone() {
    let h = Harness::new();
    h.fake.set_polls_until_insync(0);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.reconcile("examplefailover").await.expect("INSYNC");
    h.ctx.health().poll_once(h.ctx.engine().route53()).await;
    h.reconcile("examplefailover").await.expect("health");
    assert_eq!(
        h.status("examplefailover").primary.and_then(|p| p.health),
        Some(Health::Healthy)
    );
    // Date the transition in the past, so a re-stamp could not go unseen.
    let mut record = h.api.record(NS, "examplefailover");
    let long_ago = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    if let Some(primary) = record.status.as_mut().and_then(|s| s.primary.as_mut()) {
        primary.last_transition_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            long_ago,
        ));
    }
    h.api.put_record(&record);
    let written = h.status("examplefailover");
    h.api.take_lines();

    // A later reconcile with the same health must not patch status again:
    // each patch is a watch event, and each watch event another reconcile.
    h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(h.api.take_lines(), Vec::<String>::new());
    assert_eq!(
        h.status("examplefailover")
            .primary
            .and_then(|p| p.last_transition_time),
        written.primary.and_then(|p| p.last_transition_time),
        "the transition time moves only when health does"
    );
}

#[tokio::test]
async fn a_new_leadership_term_plans_from_route53_not_from_the_old_cache() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.lease.send(false).expect("gate");
    // While this replica stands by, the record sets change under it.
    let secondary = h.side(Failover::Secondary);
    h.fake.remove_record(&h.zone.id, &secondary.key());

    h.lease.send(true).expect("gate");
    h.reconcile("examplefailover").await.expect("leader again");
    assert!(
        h.fake.records(&h.zone.id).contains(&secondary),
        "restored without waiting for the resync period"
    );
}

#[tokio::test]
async fn deletion_looks_at_route53_before_concluding_nothing_is_left() {
    let h = Harness::new();
    h.create("first", SPEC);
    h.converge("first").await;
    // Another replica (or this one in an earlier term) created "second":
    // this replica's cached zone does not show its record sets.
    let other = h.restart_with(h.fake.clone(), Settings::default());
    other.create(
        "second",
        &SPEC.replace("name: examplefailover", "name: api"),
    );
    other.converge("second").await;
    assert_eq!(h.fake.records(&h.zone.id).len(), 6);

    h.delete("second");
    h.finish_deletion("second").await;
    assert_eq!(
        h.fake.records(&h.zone.id).len(),
        3,
        "only first's records remain: {:#?}",
        h.fake.records(&h.zone.id)
    );
    assert_eq!(h.fake.health_checks().len(), 1);
}

#[tokio::test]
async fn a_health_check_deleted_outside_is_recreated_once_the_poller_notices() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let old = h.fake.health_checks().remove(0);
    h.fake.remove_health_check(&old.id);

    let key = ObjectRef::from_obj(&h.api.record(NS, "examplefailover"));
    assert_eq!(
        h.ctx.health().poll_once(h.ctx.engine().route53()).await,
        Some(key)
    );
    assert_eq!(
        h.ctx.health().watched(),
        0,
        "a gone check is not read again"
    );
    h.reconcile("examplefailover").await.expect("reconcile");
    assert_eq!(h.ctx.health().watched(), 1, "its replacement is");
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 1, "recreated: {checks:#?}");
    assert_ne!(checks[0].id, old.id);
    let primary = h.side(Failover::Primary);
    assert_eq!(primary.health_check_id, Some(checks[0].id.clone()));
}

#[tokio::test]
async fn a_check_created_but_not_tagged_is_tagged_by_the_next_reconcile() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.reconcile("examplefailover").await.expect("finalizer");
    h.fake.inject(
        Some(Operation::ChangeTagsForResource),
        Fault::Fail(ErrorKind::AccessDenied),
        1,
    );
    h.reconcile("examplefailover")
        .await
        .expect_err("tagging failed");
    let check = h.fake.health_checks().remove(0);
    assert!(h.fake.tags_of(&check.id).unwrap_or_default().is_empty());

    h.reconcile("examplefailover").await.expect("reconcile");
    let tags = h.fake.tags_of(&check.id).unwrap_or_default();
    assert!(
        tags.keys().any(|k| k.contains("dnsfailover")),
        "tagged: {tags:?}"
    );
    assert_eq!(
        h.fake.health_checks().len(),
        1,
        "the same check, not another"
    );
}

#[tokio::test]
async fn moving_to_another_hosted_zone_removes_the_records_from_the_old_one() {
    let h = Harness::new();
    let other = h.fake.create_zone("example.net", false);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let check = h.fake.health_checks().remove(0);

    h.edit("examplefailover", |s| {
        s.hosted_zone.name = Some("example.net".into())
    });
    h.api.take_lines();
    h.reconcile("examplefailover").await.expect("move");
    assert_eq!(
        h.fake.records(&other.id).len(),
        3,
        "PRIMARY, SECONDARY, marker"
    );
    assert!(
        h.fake.records(&h.zone.id).is_empty(),
        "{:#?}",
        h.fake.records(&h.zone.id)
    );
    assert_eq!(
        h.fake.health_checks(),
        vec![check],
        "the check moves with the records"
    );
    assert_eq!(
        h.status("examplefailover").hosted_zone_id,
        Some(other.id.clone())
    );
    h.assert_event("Normal", "RecordsMoved");
}

#[tokio::test]
async fn a_deletion_during_a_zone_move_cleans_both_zones() {
    let h = Harness::new();
    let other = h.fake.create_zone("example.net", false);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.edit("examplefailover", |s| {
        s.hosted_zone.name = Some("example.net".into())
    });
    // The new zone is written, then the process stops before the old zone
    // is emptied: the status still names the old zone.
    h.fake
        .abort_after(Some(Operation::ChangeResourceRecordSets), 1);
    h.reconcile("examplefailover").await.expect_err("stopped");
    h.fake.clear_faults();
    assert_eq!(h.fake.records(&other.id).len(), 3);
    assert_eq!(h.fake.records(&h.zone.id).len(), 3);

    let restarted = h.restart_with(h.fake.clone(), cluster::settings());
    restarted.delete("examplefailover");
    restarted.finish_deletion("examplefailover").await;
    assert!(h.fake.records(&other.id).is_empty());
    assert!(h.fake.records(&h.zone.id).is_empty());
    assert!(h.fake.health_checks().is_empty());
}

#[tokio::test]
async fn a_replaced_check_is_deleted_only_once_the_repointing_change_is_insync() {
    let h = Harness::with(Settings {
        short_requeue: Duration::ZERO,
        ..Settings::default()
    });
    h.fake.set_polls_until_insync(2);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let old = h.fake.health_checks().remove(0);

    // The request interval cannot be updated in place: a new check replaces it.
    h.edit("examplefailover", |spec| {
        spec.primary
            .as_mut()
            .expect("side")
            .health_check
            .as_mut()
            .expect("check")
            .request_interval = 30
    });
    h.reconcile("examplefailover").await.expect("repoint");
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 2, "the old check waits: {checks:#?}");
    assert_eq!(
        h.status("examplefailover").change.map(|c| c.status),
        Some("PENDING".to_string())
    );

    h.fake.clear_calls();
    h.reconcile("examplefailover").await.expect("still pending");
    assert_eq!(h.fake.write_calls(), 0, "{:?}", h.fake.calls());
    assert_eq!(h.fake.health_checks().len(), 2);

    let mut rounds = 0;
    while h.status("examplefailover").change.map(|c| c.status) == Some("PENDING".to_string()) {
        assert_eq!(h.fake.health_checks().len(), 2, "still waiting");
        rounds += 1;
        assert!(rounds < 5, "the change never became INSYNC");
        h.reconcile("examplefailover").await.expect("poll");
    }
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 1, "deleted once INSYNC");
    assert_ne!(checks[0].id, old.id);
}

#[tokio::test]
async fn a_deletion_keeps_a_check_someone_else_still_uses_and_says_so() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let check = h.fake.health_checks().remove(0);
    let theirs = dnsfailover::route53::RecordSet {
        name: "other.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: Some("theirs".into()),
        failover: Some(Failover::Primary),
        ttl: Some(60),
        values: vec!["203.0.113.7".into()],
        alias: None,
        health_check_id: Some(check.id.clone()),
        other_routing: None,
    };
    h.fake.put_record(&h.zone.id, theirs.clone());
    h.ctx.observer().invalidate_all().await;
    h.api.take_lines();

    h.delete("examplefailover");
    h.finish_deletion("examplefailover").await;
    assert_eq!(h.fake.records(&h.zone.id), vec![theirs]);
    assert_eq!(h.fake.health_checks(), vec![check], "still in use: kept");
    h.assert_event("Warning", "CleanupDone");
}

#[tokio::test]
async fn a_restart_during_deletion_still_waits_for_the_record_removal_to_be_insync() {
    let h = Harness::new();
    h.fake.set_polls_until_insync(0);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    h.reconcile("examplefailover").await.expect("INSYNC");
    assert_eq!(
        h.status("examplefailover").change.map(|c| c.status),
        Some("INSYNC".to_string()),
        "the status's last change is settled"
    );
    h.fake.set_polls_until_insync(3);
    h.delete("examplefailover");
    h.reconcile("examplefailover")
        .await
        .expect_err("records removed, change PENDING");
    assert!(h.fake.records(&h.zone.id).is_empty());

    // A new process knows the change only from the status.
    let restarted = h.restart_with(h.fake.clone(), cluster::settings());
    let error = restarted
        .reconcile("examplefailover")
        .await
        .expect_err("still PENDING");
    assert_eq!(error.category(), Category::ChangesPending);
    assert_eq!(h.fake.health_checks().len(), 1, "the check waits");
    restarted.finish_deletion("examplefailover").await;
    assert!(h.fake.health_checks().is_empty());
}

#[tokio::test]
async fn a_taken_over_check_that_is_replaced_is_deleted_in_a_later_reconcile() {
    use dnsfailover::route53::{HealthCheckConfig, RecordSet, Route53};
    let h = Harness::new();
    // A pair made by hand, its PRIMARY with a check made by hand.
    let mut config = HealthCheckConfig::http("52.94.236.10", 10);
    config.resource_path = Some("/health".into());
    let console = h
        .fake
        .create_health_check("made-in-the-console", &config)
        .await
        .expect("a check");
    let side = |role: Failover, set: &str, ip: &str, check: Option<String>| RecordSet {
        name: "www.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: Some(set.into()),
        failover: Some(role),
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: check,
        other_routing: None,
    };
    h.fake.put_record(
        &h.zone.id,
        side(
            Failover::Primary,
            "primary",
            "52.94.236.10",
            Some(console.id.clone()),
        ),
    );
    h.fake.put_record(
        &h.zone.id,
        side(Failover::Secondary, "secondary", "52.95.110.20", None),
    );
    h.create(
        "www",
        r#"
hostedZone: {name: example.com}
name: www
ttl: 60
adoptExisting: true
primary:
  addresses: [52.94.236.10]
  healthCheck: {protocol: HTTP, port: 80, path: /health, requestInterval: 10}
secondary:
  addresses: [52.95.110.20]
"#,
    );
    h.converge("www").await;
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 1, "taken over, not replaced: {checks:?}");
    assert_eq!(checks[0].id, console.id);
    let marker = h
        .fake
        .records(&h.zone.id)
        .into_iter()
        .find(|r| r.rr_type == RrType::TXT)
        .expect("the marker");
    assert!(
        marker.values[0].contains(&format!("primary-check={}", console.id)),
        "the entry names the check taken over: {:?}",
        marker.values
    );

    // The interval cannot change in place: a new check replaces the one
    // taken over, which goes once the record uses the new one.
    h.edit("www", |spec| {
        if let Some(check) = spec.primary.as_mut().and_then(|p| p.health_check.as_mut()) {
            check.request_interval = 30;
        }
    });
    // Each reconcile does what Route 53 allows by then: the new check and
    // the record batch, then (INSYNC) the old check's deletion.
    for _ in 0..4 {
        h.reconcile("www").await.expect("reconcile");
    }
    let checks = h.fake.health_checks();
    assert_eq!(checks.len(), 1, "the old check is deleted: {checks:?}");
    assert_ne!(checks[0].id, console.id);
    assert_eq!(checks[0].config.request_interval, 30);
}
