//! The topologies of issue 13 through the standalone CLI, against the
//! Route 53 emulator: one name split between two owners, importing an
//! existing pair, checker regions and cost, garbage checks, and zones in
//! other accounts.

mod support;

use dnsfailover::route53::{self, Failover};
use support::Moto;
use support::command::{dnsfailover_with, manifest};

const SIDE_A: &str = r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {name: www, namespace: web}
spec:
  hostedZone: {name: example.com}
  name: www
  manage: Primary
  primary:
    addresses: [52.94.236.10]
    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}
"#;

const SIDE_B: &str = r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {name: www, namespace: web}
spec:
  hostedZone: {name: example.com}
  name: www
  manage: Secondary
  secondary:
    addresses: [52.95.110.20]
"#;

#[tokio::test]
async fn two_owner_ids_share_a_name_from_the_cli() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = manifest(dir.path(), "a.yaml", SIDE_A);
    let b = manifest(dir.path(), "b.yaml", SIDE_B);
    let as_a = [("DNSFAILOVER_OWNER_ID", "cluster-a")];
    let as_b = [("DNSFAILOVER_OWNER_ID", "cluster-b")];

    let run = dnsfailover_with(&moto, &as_a, &["apply", "-f", &a]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &b]);
    assert_eq!(run.code, 0, "{}", run.all());
    for (env, file) in [(&as_a, &a), (&as_b, &b)] {
        let plan = dnsfailover_with(&moto, env, &["plan", "--exit-code", "-f", file]);
        assert_eq!(plan.code, 0, "converged: {}", plan.all());
    }

    let status = dnsfailover_with(&moto, &as_b, &["status", "-f", &b, "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let primary = &json["records"][0]["status"]["primary"];
    assert_eq!(
        primary["managedBy"], "owner cluster-a, FailoverRecord web/www",
        "{json}"
    );
    assert_eq!(primary["health"], "Healthy", "{json}");

    // Cluster B also claims the PRIMARY: exit code 4 from both owners.
    let greedy = manifest(
        dir.path(),
        "greedy.yaml",
        &SIDE_A.replace("name: www, namespace: web", "name: greedy, namespace: web"),
    );
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &greedy]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stdout.contains("! dispute:"), "{}", run.stdout);
    let run = dnsfailover_with(&moto, &as_a, &["plan", "-f", &a]);
    assert_eq!(run.code, 4, "A hears of it too: {}", run.all());
    assert!(run.stdout.contains("web/greedy"), "{}", run.stdout);

    // Cluster A goes: its side goes with it, B's stays, and the FailoverRecord
    // that waited for the PRIMARY takes it at its next run.
    let r53 = moto.route53().await;
    let secondary = || async {
        route53::list_all_record_sets(&r53, &zone.id)
            .await
            .expect("list")
            .into_iter()
            .find(|r| r.name == "www.example.com." && r.failover == Some(Failover::Secondary))
    };
    let before = secondary().await.expect("B's SECONDARY");
    let run = dnsfailover_with(&moto, &as_a, &["delete", "-f", &a]);
    assert_eq!(run.code, 0, "{}", run.all());
    let sides: Vec<Option<Failover>> = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list")
        .iter()
        .filter(|r| r.name == "www.example.com.")
        .map(|r| r.failover)
        .collect();
    assert_eq!(sides, vec![Some(Failover::Secondary)]);
    assert_eq!(secondary().await, Some(before.clone()));
    let plan = dnsfailover_with(&moto, &as_b, &["plan", "--exit-code", "-f", &b]);
    assert_eq!(plan.code, 0, "B has nothing to do: {}", plan.all());
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &greedy]);
    assert_eq!(
        run.code,
        0,
        "the waiting claim takes the free side: {}",
        run.all()
    );
    assert_eq!(secondary().await, Some(before));
}
