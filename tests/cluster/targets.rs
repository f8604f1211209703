//! A Service of type LoadBalancer as the primary: when the cloud writes its
//! load balancer into `status.loadBalancer.ingress`, the alias follows.

use dnsfailover::route53::Failover;
use serde_json::json;

use crate::support::control_plane::eventually;
use crate::world::{CONVERGE, World};

const FQDN: &str = "shop.example.com.";

/// Writes the Service's load balancer status, as the cloud controller would.
fn set_load_balancer(w: &World, hostname: &str) {
    let patch = json!({"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}});
    w.kubectl_ok(&[
        "patch",
        "service",
        "shop",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ]);
}

async fn primary_alias(w: &World, expected_name: &str, expected_zone: &str) {
    eventually(CONVERGE, &format!("the PRIMARY alias to {expected_name}"), || async {
        let primary = w.side(FQDN, Failover::Primary).await;
        match primary.as_ref().and_then(|p| p.alias.as_ref()) {
            Some(alias)
                if alias.dns_name.trim_end_matches('.') == expected_name
                    && alias.hosted_zone_id == expected_zone =>
            {
                Ok(())
            }
            _ => Err(format!("{primary:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_balancer_service_becomes_the_alias_and_is_followed() {
    let w = World::new("targets").await;
    let _controller = w.controller("dnsfailover-0").await;
    let example = std::fs::read_to_string(
        crate::support::control_plane::root().join("examples/service-backed.yaml"),
    )
    .expect("the example")
    .replace("namespace: web", &format!("namespace: {}", w.ns));
    w.apply(&example);

    // No load balancer yet: the condition says what is awaited.
    let waiting = w
        .wait_status("shop", "TargetNotReady", |o| {
            let ready = crate::world::condition(o, "Ready");
            match ready {
                Some((status, reason, _)) if status == "False" && reason == "TargetNotReady" => {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    assert!(waiting["status"]["conditions"].to_string().contains("shop"));

    // A Network Load Balancer in us-east-1 (its canonical zone Z26RNL4JYFTOTI).
    let first = "k8s-web-shop-0123456789.elb.us-east-1.amazonaws.com";
    set_load_balancer(&w, first);
    primary_alias(&w, first, "Z26RNL4JYFTOTI").await;
    w.wait_ready("shop");

    // Replaced by a Classic/Application Load Balancer in eu-west-1.
    let second = "shop-987654321.eu-west-1.elb.amazonaws.com";
    set_load_balancer(&w, second);
    primary_alias(&w, second, "Z32O12XQLNTSW2").await;
    let secondary = w.side(FQDN, Failover::Secondary).await.expect("SECONDARY");
    assert_eq!(secondary.values, vec!["198.51.100.30"]);
}
