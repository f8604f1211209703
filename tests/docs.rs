//! The shipped examples and the IAM policy stay true to the code.

use std::collections::BTreeSet;

use dnsfailover::api::admission;
use dnsfailover::core::ownership::Owner;
use dnsfailover::core::validate;
use dnsfailover::manifest;
use dnsfailover::route53::Operation;

fn examples() -> Vec<manifest::Document> {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"));
    manifest::load(&[dir]).expect("examples load")
}

#[test]
fn every_example_failover_record_passes_the_api_servers_validation() {
    let records: Vec<_> = examples()
        .into_iter()
        .filter(|d| d.object["kind"] == "FailoverRecord")
        .collect();
    assert!(
        records.len() >= 5,
        "the IP pair, ELB alias, HTTPS string match, Service-backed and drill examples"
    );
    for doc in &records {
        let record = admission::admit(&doc.object).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let refs = [&record.spec.primary, &record.spec.secondary]
            .into_iter()
            .flatten()
            .any(|t| t.service_ref.is_some() || t.ingress_ref.is_some() || t.gateway_ref.is_some());
        let owner = Owner::new(
            "docs",
            "web",
            record.metadata.name.clone().unwrap_or_default(),
        );
        match validate::desired_from_spec(owner, &record.spec) {
            Ok(_) => assert!(!refs, "{doc}: the CLI must refuse cluster references"),
            Err(e) => assert!(refs, "{doc}: {e}"),
        }
    }
}

#[test]
fn the_iam_policy_grants_every_route53_action_the_code_uses_and_nothing_else() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json");
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("policy"))
            .expect("policy is JSON");
    let granted: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let used: BTreeSet<String> = Operation::ALL
        .iter()
        .map(|op| format!("route53:{}", op.as_str()))
        .collect();
    assert_eq!(granted, used);
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
    }
}

/// The control plane's versions (and promtool's) are pinned twice: in the Go
/// wrapper modules that build them (`tools/`) and in
/// `scripts/cluster-versions.sh`, which keys the binary cache and is what
/// `/version` must report. They must agree, or the cache would hold binaries
/// of another version than its name says.
#[test]
fn the_control_plane_versions_agree_between_the_go_modules_and_the_scripts() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| {
        std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let pinned = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in scripts/cluster-versions.sh"))
            .trim()
            .to_string()
    };
    let versions = read("scripts/cluster-versions.sh");
    let k8s = pinned(&versions, "K8S_VERSION");
    let etcd = pinned(&versions, "ETCD_VERSION");
    let kubernetes_mod = read("tools/kubernetes/go.mod");
    assert!(
        kubernetes_mod.contains(&format!("require k8s.io/kubernetes {k8s}\n")),
        "tools/kubernetes/go.mod must require k8s.io/kubernetes {k8s}"
    );
    // Every staging module is replaced by the published v0.x of the same release.
    let staging = format!("v0.{}", k8s.trim_start_matches("v1."));
    let replaced: Vec<&str> = kubernetes_mod
        .lines()
        .filter(|l| l.contains("=> k8s.io/"))
        .collect();
    assert!(replaced.len() >= 30, "{replaced:?}");
    for line in replaced {
        assert!(line.ends_with(&staging), "{line} should be {staging}");
    }
    assert!(
        read("tools/etcd/go.mod").contains(&format!("require go.etcd.io/etcd/server/v3 {etcd}\n")),
        "tools/etcd/go.mod must require go.etcd.io/etcd/server/v3 {etcd}"
    );
    // promtool (the chart's rule tests): its cache directory is named after
    // the pin, so the module must build that version.
    let prometheus = pinned(&versions, "PROMETHEUS_VERSION");
    assert!(
        read("tools/promtool/go.mod").contains(&format!(
            "require github.com/prometheus/prometheus {prometheus}\n"
        )),
        "tools/promtool/go.mod must require github.com/prometheus/prometheus {prometheus}"
    );
    // The Gateway API CRDs the cluster tests install: the README names the
    // version and its cache directory.
    let gateway_api = pinned(&versions, "GATEWAY_API_VERSION");
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("gateway-api-{gateway_api}/crd/standard"))
            && readme.contains(&format!("Gateway API {gateway_api}")),
        "README.md must name the Gateway API version the tests install ({gateway_api})"
    );
}
