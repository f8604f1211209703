//! The chart installed, upgraded and uninstalled with Helm's own SDK into a
//! namespace that enforces the `restricted` Pod Security Standard.

use serde_json::{Value, json};

use crate::support::Moto;
use crate::support::control_plane::{Release, control_plane, eventually, test_values};
use crate::world::CONVERGE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_upgrade_uninstall_in_a_restricted_namespace() {
    let plane = control_plane();
    let ns = plane.namespace(
        "helm",
        &[
            ("pod-security.kubernetes.io/enforce", "restricted"),
            ("pod-security.kubernetes.io/warn", "restricted"),
        ],
    );
    let moto = Moto::start();
    let mut release = Release::install(plane, &ns, "hr", &test_values(&moto, "aws"));
    assert_eq!(release.summary["version"], 1, "{}", release.summary);
    let fullname = release.fullname();

    // The CRD came with the chart (or was already there) and is Established.
    let established = plane.kubectl_ok(&[
        "get",
        "crd",
        "failoverrecords.dnsfailover.io",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
    ]);
    assert_eq!(established, "True");

    // The Deployment passes `restricted` without a single warning: ask the
    // apiserver again in a dry run, which prints any Pod Security warning.
    let deployment = plane.kubectl_ok(&["get", "deployment", "-n", &ns, &fullname, "-o", "json"]);
    let mut deployment: Value = serde_json::from_str(&deployment).expect("JSON");
    for field in ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"] {
        deployment["metadata"].as_object_mut().map(|m| m.remove(field));
    }
    deployment["metadata"]["name"] = json!(format!("{fullname}-dry"));
    deployment.as_object_mut().map(|d| d.remove("status"));
    let out = plane.kubectl_with(
        &["create", "--dry-run=server", "-n", &ns, "-f", "-"],
        Some(&deployment.to_string()),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Warning"), "Pod Security warnings: {stderr}");

    // The controller manager turns the Deployment into a ReplicaSet and a
    // Pod, which `enforce: restricted` admits (it stays Pending: no kubelet).
    let selector = format!("app.kubernetes.io/instance={}", release.name);
    eventually(CONVERGE, "the ReplicaSet and its Pod", || async {
        let pods = plane.kubectl_ok(&["get", "pods", "-n", &ns, "-l", &selector, "-o", "name"]);
        let sets = plane.kubectl_ok(&["get", "replicasets", "-n", &ns, "-l", &selector, "-o", "name"]);
        if pods.lines().count() == 1 && sets.lines().count() == 1 {
            Ok(())
        } else {
            let events = plane.kubectl_ok(&["get", "events", "-n", &ns]);
            Err(format!("pods {pods:?}, replicasets {sets:?}; events:\n{events}"))
        }
    })
    .await;

    // A FailoverRecord that exists when the release goes.
    let record = json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": "kept", "namespace": ns},
        "spec": {
            "hostedZone": {"name": "example.com"}, "name": "kept",
            "primary": {"addresses": ["203.0.113.10"], "healthCheck": {"protocol": "HTTP"}},
            "secondary": {"addresses": ["198.51.100.10"]}
        }
    });
    plane.kubectl_with(&["create", "-f", "-"], Some(&record.to_string()));

    // An upgrade with other values changes the Deployment.
    let mut values = test_values(&moto, "aws");
    values["resync"] = json!("10m");
    values["logFormat"] = json!("text");
    release.upgrade(plane, &values);
    assert_eq!(release.summary["version"], 2, "{}", release.summary);
    let args = plane.kubectl_ok(&[
        "get",
        "deployment",
        "-n",
        &ns,
        &fullname,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].args}",
    ]);
    assert!(args.contains("--resync=10m") && args.contains("--log-format=text"), "{args}");

    // Uninstall removes the release's objects, keeps the CRD (Helm never
    // deletes CRDs) and so keeps existing FailoverRecords.
    release.uninstall(plane);
    eventually(CONVERGE, "the Deployment to be gone", || async {
        let out = plane.kubectl(&["get", "deployment", "-n", &ns, &fullname]);
        if out.status.success() {
            Err("still there".into())
        } else {
            Ok(())
        }
    })
    .await;
    plane.kubectl_ok(&["get", "crd", "failoverrecords.dnsfailover.io"]);
    plane.kubectl_ok(&["get", "failoverrecord", "-n", &ns, "kept"]);
    let out = plane.kubectl(&["get", "clusterrole", &fullname]);
    assert!(!out.status.success(), "the ClusterRole is removed with the release");
}
