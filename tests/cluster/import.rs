//! Importing a pair made by hand, on the real control plane: `dnsfailover
//! import` prints the FailoverRecord, `kubectl apply` hands it to the
//! controller, which takes the pair over with no record change and keeps
//! its health check.

use std::process::Command;

use dnsfailover::route53::{
    Change, ChangeAction, Failover, HealthCheckConfig, HealthCheckKind, RecordSet, Route53, RrType,
};

use crate::support::control_plane::eventually;
use crate::world::{CONVERGE, World};

const FQDN: &str = "shop.example.com.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_pair_is_taken_over_by_the_controller_with_no_record_change() {
    let w = World::new("import").await;
    let controller = w.controller("dnsfailover-0").await;

    // The pair as someone made it in the console.
    let mut config = HealthCheckConfig::http("52.94.236.10", 10);
    config.kind = HealthCheckKind::HttpStrMatch;
    config.resource_path = Some("/index.html".into());
    config.search_string = Some("EC2 Primary".into());
    let check = w
        .r53()
        .create_health_check("console-shop-primary", &config)
        .await
        .expect("a check");
    let side = |role: Failover, set: &str, ip: &str, check: Option<String>| RecordSet {
        name: FQDN.into(),
        rr_type: RrType::A,
        set_identifier: Some(set.into()),
        failover: Some(role),
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: check,
        other_routing: None,
    };
    w.r53()
        .change_record_sets(
            &w.zone.id,
            &[
                Change {
                    action: ChangeAction::Create,
                    record: side(
                        Failover::Primary,
                        "Primary",
                        "52.94.236.10",
                        Some(check.id.clone()),
                    ),
                },
                Change {
                    action: ChangeAction::Create,
                    record: side(Failover::Secondary, "Secondary", "52.95.110.20", None),
                },
            ],
        )
        .await
        .expect("the pair");
    let pair = || async {
        w.records()
            .await
            .into_iter()
            .filter(|r| r.name == FQDN)
            .collect::<Vec<_>>()
    };
    let before = pair().await;

    let out = Command::new(env!("CARGO_BIN_EXE_dnsfailover"))
        .args([
            "import",
            "--zone",
            "example.com",
            "--name",
            "shop",
            "--namespace",
            &w.ns,
        ])
        .envs(w.moto.env())
        .output()
        .expect("run dnsfailover import");
    let manifest = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{manifest}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.apply(&manifest);
    w.wait_ready("shop");

    assert_eq!(pair().await, before, "the records are exactly as they were");
    let checks = w.health_checks().await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].id, check.id, "the same check, reused");
    let status = w.get("shop").expect("the object")["status"].clone();
    assert_eq!(status["primary"]["healthCheckId"], check.id.as_str());
    let written = |op: &str| {
        controller.metric(&format!(
            "dnsfailover_route53_requests_total{{operation=\"{op}\",outcome=\"ok\"}}"
        ))
    };
    assert_eq!(written("CreateHealthCheck"), 0.0);
    assert_eq!(written("UpdateHealthCheck"), 0.0);
    assert_eq!(
        written("ChangeResourceRecordSets"),
        1.0,
        "one batch: the ownership marker"
    );
    let tags =
        dnsfailover::route53::list_all_health_check_tags(w.r53(), std::slice::from_ref(&check.id))
            .await
            .expect("tags");
    assert_eq!(
        tags.get(&check.id)
            .and_then(|t| t.get("dnsfailover.io/resource"))
            .cloned(),
        Some(format!("{}/shop", w.ns)),
        "tagged as this FailoverRecord's"
    );

    // Deleted like any other: the pair and the check taken over go too (the
    // marker entry that names the check goes with the records, before the
    // check is deleted once that change is INSYNC).
    w.kubectl_ok(&["delete", "failoverrecord", "shop", "--wait=false"]);
    eventually(CONVERGE, "the object to be gone", || async {
        match w.get("shop") {
            None => Ok(()),
            Some(o) => Err(o["status"].to_string()),
        }
    })
    .await;
    assert!(pair().await.is_empty(), "{:?}", pair().await);
    let left = w.health_checks().await;
    assert!(left.is_empty(), "the taken-over check is deleted: {left:?}");
}
