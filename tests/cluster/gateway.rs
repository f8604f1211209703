//! A Gateway API Gateway as the primary, on the real API server with the
//! Gateway API's published CRDs: no Gateway implementation runs here, so the
//! test writes `status.addresses` through the status subresource as one
//! would, and the records in the emulator follow.

use dnsfailover::route53::Failover;
use serde_json::{Value, json};

use crate::support::control_plane::{control_plane, eventually, root};
use crate::world::{CONVERGE, World, condition};

const FQDN: &str = "storefront.example.com.";

/// The shipped example (a Gateway and a FailoverRecord), in `ns`.
fn example(ns: &str) -> String {
    std::fs::read_to_string(root().join("examples/gateway-backed.yaml"))
        .expect("the example")
        .replace("namespace: web", &format!("namespace: {ns}"))
}

/// Writes the Gateway's addresses, as its implementation would.
fn set_addresses(w: &World, addresses: Value) {
    let patch = json!({"status": {"addresses": addresses}});
    w.kubectl_ok(&[
        "patch",
        "gateway",
        "public",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ]);
}

async fn primary_values(w: &World, expected: &[&str]) {
    eventually(
        CONVERGE,
        &format!("the PRIMARY values {expected:?}"),
        || async {
            let primary = w.side(FQDN, Failover::Primary).await;
            match &primary {
                Some(p) if p.values == expected => Ok(()),
                _ => Err(format!("{primary:?}")),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateways_addresses_become_the_primary_and_are_followed() {
    let plane = control_plane();
    plane.install_gateway_api();
    let ns = plane.namespace("gateway", &[]);
    let w = World::in_namespace(ns, json!({"gatewayAPI": {"enabled": true}})).await;
    let _controller = w.controller("dnsfailover-0").await;
    w.apply(&example(&w.ns));

    // No address published yet: the condition says what is awaited.
    w.wait_status("storefront", "TargetNotReady", |o| {
        match condition(o, "Ready") {
            Some((status, reason, message))
                if status == "False"
                    && reason == "TargetNotReady"
                    && message.contains("waiting for Gateway")
                    && message.contains("public") =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        w.records().await.is_empty(),
        "nothing written while waiting"
    );

    set_addresses(&w, json!([{"type": "IPAddress", "value": "203.0.113.10"}]));
    primary_values(&w, &["203.0.113.10"]).await;
    w.wait_ready("storefront");
    let checks = w.health_checks().await;
    assert!(
        checks
            .iter()
            .any(|c| c.config.ip_address.as_deref() == Some("203.0.113.10")),
        "the primary's check is on the Gateway's address: {checks:?}"
    );
    let secondary = w.side(FQDN, Failover::Secondary).await.expect("SECONDARY");
    assert_eq!(secondary.values, vec!["198.51.100.40"]);

    // The implementation moves the Gateway: the record follows.
    set_addresses(&w, json!([{"type": "IPAddress", "value": "203.0.113.11"}]));
    primary_values(&w, &["203.0.113.11"]).await;

    // Behind an AWS load balancer: its host name becomes an alias.
    let lb = "k8s-web-public-0123456789.elb.us-east-1.amazonaws.com";
    set_addresses(&w, json!([{"type": "Hostname", "value": lb}]));
    eventually(
        CONVERGE,
        "the PRIMARY alias to the load balancer",
        || async {
            let primary = w.side(FQDN, Failover::Primary).await;
            match primary.as_ref().and_then(|p| p.alias.as_ref()) {
                Some(alias)
                    if alias.dns_name.trim_end_matches('.') == lb
                        && alias.hosted_zone_id == "Z26RNL4JYFTOTI" =>
                {
                    Ok(())
                }
                _ => Err(format!("{primary:?}")),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gateway_api_enabled_a_gateway_ref_says_how_to_enable_it() {
    let plane = control_plane();
    plane.install_gateway_api();
    let w = World::new("gateway-off").await;
    let _controller = w.controller("dnsfailover-0").await;
    w.apply(&example(&w.ns));
    set_addresses(&w, json!([{"type": "IPAddress", "value": "203.0.113.10"}]));

    let object = w
        .wait_status("storefront", "InvalidSpec", |o| {
            match condition(o, "Ready") {
                Some((status, reason, _)) if status == "False" && reason == "InvalidSpec" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    let (_, _, message) = condition(&object, "Ready").expect("Ready");
    assert!(
        message.contains("spec.primary.gatewayRef")
            && message.contains("--gateway-api")
            && message.contains("gatewayAPI.enabled=true"),
        "{message}"
    );
    assert!(w.records().await.is_empty(), "nothing written");
}
