//! One test's world on the real control plane: a namespace for its
//! FailoverRecords, a namespace for the chart's release (as a real
//! installation keeps the controller apart from the workloads), its own Route
//! 53 emulator with the zone `example.com`, and the chart installed with Helm
//! watching the records' namespace.

// Shared by two test binaries, each using a part of it.
#![allow(dead_code)]

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use dnsfailover::route53::aws::AwsRoute53;
use dnsfailover::route53::{self, Failover, HealthCheck, RecordSet, RrType, Zone};
use serde_json::{Value, json};

use crate::support::Moto;
use crate::support::control_plane::{
    ControlPlane, ControllerProcess, Release, control_plane, eventually, test_values,
};

/// How long a change may take to reach Route 53 and the status. The
/// controller batches a lone change for 5 s; everything else is fast here.
pub const CONVERGE: Duration = Duration::from_secs(60);

pub struct World {
    pub plane: &'static ControlPlane,
    /// Where the FailoverRecords live.
    pub ns: String,
    /// Where the chart is installed (ServiceAccount, Deployment, Lease).
    pub system: String,
    pub moto: Arc<Moto>,
    pub zone: Zone,
    pub release: Release,
    r53: AwsRoute53,
}

impl World {
    /// A world whose records' namespace has a fresh name.
    pub async fn new(prefix: &str) -> Self {
        let plane = control_plane();
        let ns = plane.namespace(prefix, &[]);
        Self::in_namespace(ns, json!({})).await
    }

    /// A world for the records' namespace `ns` (created if missing), with
    /// these chart values over the test defaults.
    pub async fn in_namespace(ns: String, values: Value) -> Self {
        let moto = Arc::new(Moto::start());
        let zone = moto.create_zone("example.com").await;
        Self::with_route53(ns, values, moto, zone).await
    }

    /// Another installation (its own release, chart values and namespaces,
    /// standing for another cluster) sharing this world's Route 53.
    pub async fn beside(&self, ns: String, values: Value) -> Self {
        Self::with_route53(ns, values, self.moto.clone(), self.zone.clone()).await
    }

    async fn with_route53(ns: String, values: Value, moto: Arc<Moto>, zone: Zone) -> Self {
        let plane = control_plane();
        ensure_namespace(plane, &ns);
        let system = plane.namespace(&format!("{ns}-sys"), &[]);
        let mut all = test_values(&moto, "route53-credentials");
        all["watchNamespaces"] = json!([ns]);
        merge(&mut all, values);
        // Cluster-wide objects (ClusterRole) are named after the release.
        let name = format!("df{:04x}", fastrand::u16(..));
        let release = Release::install(plane, &system, &name, &all);
        let r53 = moto.route53().await;
        Self {
            plane,
            ns,
            system,
            moto,
            zone,
            release,
            r53,
        }
    }

    /// The controller as the chart runs it, named like a pod.
    pub async fn controller(&self, pod: &str) -> ControllerProcess {
        self.release.controller(self.plane, pod).await
    }

    /// The controller restricted to one namespace with `--namespace`, for a
    /// release with cluster-wide RBAC in a cluster other tests share.
    pub async fn controller_for_namespace(&self, pod: &str, ns: &str) -> ControllerProcess {
        self.release
            .controller_with(self.plane, pod, &[format!("--namespace={ns}")])
            .await
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.plane.kubectl(args)
    }

    /// `kubectl -n NS ARGS`, which must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.ns];
        all.extend_from_slice(args);
        self.plane.kubectl_ok(&all)
    }

    /// `kubectl apply -n NS -f -` of this YAML; must succeed.
    pub fn apply(&self, yaml: &str) -> String {
        let out = self
            .plane
            .kubectl_with(&["apply", "-n", &self.ns, "-f", "-"], Some(yaml));
        assert!(
            out.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl patch failoverrecord NAME --type merge -p PATCH`.
    pub fn patch(&self, name: &str, patch: Value) {
        self.kubectl_ok(&[
            "patch",
            "failoverrecord",
            name,
            "--type",
            "merge",
            "-p",
            &patch.to_string(),
        ]);
    }

    /// The FailoverRecord as `kubectl get -o json` shows it, if it exists.
    pub fn get(&self, name: &str) -> Option<Value> {
        let out = self.kubectl(&["-n", &self.ns, "get", "failoverrecord", name, "-o", "json"]);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("NotFound"), "kubectl get {name}: {stderr}");
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).expect("kubectl prints JSON"))
    }

    /// `kubectl wait --for=condition=Ready failoverrecord/NAME`.
    pub fn wait_ready(&self, name: &str) {
        let out = self.kubectl(&[
            "-n",
            &self.ns,
            "wait",
            "--for=condition=Ready",
            &format!("--timeout={}s", CONVERGE.as_secs()),
            &format!("failoverrecord/{name}"),
        ]);
        assert!(
            out.status.success(),
            "kubectl wait for {name} Ready: {}\nthe object: {}",
            String::from_utf8_lossy(&out.stderr),
            self.get(name)
                .map(|v| v["status"].to_string())
                .unwrap_or_default()
        );
    }

    /// Waits until the status satisfies `check` (which says what it saw
    /// when it does not).
    pub async fn wait_status(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Value {
        eventually(CONVERGE, what, || async {
            let object = self.get(name).ok_or_else(|| "no such object".to_string())?;
            check(&object).map(|()| object.clone())
        })
        .await
    }

    /// Record sets in the zone, without its SOA and NS.
    pub async fn records(&self) -> Vec<RecordSet> {
        route53::list_all_record_sets(&self.r53, &self.zone.id)
            .await
            .expect("list the emulator's record sets")
            .into_iter()
            .filter(|r| !matches!(&r.rr_type, RrType::Other(t) if t == "SOA" || t == "NS"))
            .collect()
    }

    /// The failover record set of one side at `fqdn`.
    pub async fn side(&self, fqdn: &str, role: Failover) -> Option<RecordSet> {
        self.records()
            .await
            .into_iter()
            .find(|r| r.name == fqdn && r.failover == Some(role))
    }

    pub async fn health_checks(&self) -> Vec<HealthCheck> {
        route53::list_all_health_checks(&self.r53)
            .await
            .expect("list the emulator's health checks")
    }

    pub fn r53(&self) -> &AwsRoute53 {
        &self.r53
    }

    /// The reasons of the Events about one object, as `kubectl get events`
    /// lists them.
    pub fn event_reasons(&self, name: &str) -> Vec<String> {
        let out = self.kubectl_ok(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "json",
        ]);
        let list: Value = serde_json::from_str(&out).expect("events as JSON");
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["reason"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn wait_event(&self, name: &str, reason: &str) {
        eventually(CONVERGE, &format!("a {reason} event on {name}"), || async {
            let reasons = self.event_reasons(name);
            if reasons.iter().any(|r| r == reason) {
                Ok(())
            } else {
                Err(format!("{reasons:?}"))
            }
        })
        .await
    }
}

/// A status condition's (status, reason, message).
pub fn condition(object: &Value, kind: &str) -> Option<(String, String, String)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

pub fn ensure_namespace(plane: &ControlPlane, ns: &str) {
    let manifest = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let out = plane.kubectl_with(&["apply", "-f", "-"], Some(&manifest.to_string()));
    assert!(
        out.status.success(),
        "create namespace {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `over` merged into `base`, objects recursively (as Helm merges values).
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The Route 53 write operations, as the controller's metrics label them.
pub const WRITES: &[&str] = &[
    "CreateHealthCheck",
    "UpdateHealthCheck",
    "DeleteHealthCheck",
    "ChangeResourceRecordSets",
    "ChangeTagsForResource",
];

/// Route 53 writes a controller process made, from its /metrics.
pub fn writes(controller: &ControllerProcess) -> f64 {
    WRITES
        .iter()
        .map(|op| {
            controller.metric(&format!(
                "dnsfailover_route53_requests_total{{operation=\"{op}\",outcome=\"ok\"}}"
            ))
        })
        .sum()
}

/// A FailoverRecord like the seed example, named `name`, in YAML.
pub fn record_yaml(name: &str, primary: &str, secondary: &str) -> String {
    format!(
        r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata:
  name: {name}
spec:
  hostedZone: {{name: example.com}}
  name: {name}
  type: A
  ttl: 60
  primary:
    addresses: [{primary}]
    healthCheck: {{protocol: HTTP, port: 80, path: /index.html, requestInterval: 10}}
  secondary:
    addresses: [{secondary}]
"#
    )
}
