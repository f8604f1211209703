//! The Helm chart (`charts/dnsfailover`), linted and rendered by Helm's own Go
//! SDK through `scripts/chart.py` (helm-python-sdk in `.venv`; no helm binary).
//!
//! Every rendered document is parsed strictly as the Kubernetes type it claims
//! to be: k8s-openapi ignores unknown fields, so each document is also
//! serialized back and must have kept every field it had. Then the content:
//! RBAC rules exactly as documented, the hardened pod, the namespaced and HA
//! modes, and a schema that rejects bad values by name. The alerting rules
//! are evaluated by `promtool test rules` against recorded series
//! (`tests/alerts/alerts_test.yaml`); promtool comes from `DNSFAILOVER_PROMTOOL`,
//! else `scripts/promtool.sh --path`, which builds it when it is not cached.
//!
//! The interpreter comes from `DNSFAILOVER_PYTHON`, else `.venv/bin/python`.
//! Without it the tests fail and say `run make venv`; they never skip.
//!
//! Long because it checks every rendered object of the chart in turn (RBAC,
//! security contexts, probes, schema), all from one render per values file.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Probe, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const NAMESPACE: &str = "dnsfailover";

// ---------------------------------------------------------------------------
// Running scripts/chart.py
// ---------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart_dir() -> PathBuf {
    root().join("charts/dnsfailover")
}

fn python() -> PathBuf {
    let python = std::env::var_os("DNSFAILOVER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} does not exist: run `make venv` (it installs helm-python-sdk), or set DNSFAILOVER_PYTHON to a python that has it",
        python.display()
    );
    python
}

/// Runs `scripts/chart.py ARGS` and returns its output, whatever the exit code.
fn chart_py(args: &[&str]) -> Output {
    Command::new(python())
        .arg(root().join("scripts/chart.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running scripts/chart.py {args:?}: {e}"))
}

/// Runs `scripts/chart.py ARGS`, which must succeed, and parses its JSON.
fn chart_py_json(args: &[&str]) -> Value {
    let out = chart_py(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/chart.py {args:?} failed ({}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("scripts/chart.py {args:?} printed no JSON ({e}); stderr:\n{stderr}")
    })
}

/// `None` (the chart's defaults), then every `ci/*.yaml`, sorted.
fn value_files() -> Vec<Option<PathBuf>> {
    let ci = chart_dir().join("ci");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ci)
        .unwrap_or_else(|e| panic!("{}: {e}", ci.display()))
        .map(|entry| entry.expect("a ci/ directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no *.yaml values file",
        ci.display()
    );
    std::iter::once(None)
        .chain(files.into_iter().map(Some))
        .collect()
}

fn label(values: &Option<PathBuf>) -> String {
    values
        .as_ref()
        .map_or_else(|| "default values".into(), |p| p.display().to_string())
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// One rendered YAML document, with the template it came from.
struct Doc {
    template: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
    fn namespace(&self) -> &str {
        self.value["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
    fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.value.clone())
            .unwrap_or_else(|e| panic!("{} {} ({}): {e}", self.kind(), self.name(), self.template))
    }
}

/// Renders the chart with a values file and `--set-json` overrides, in
/// namespace `dnsfailover`; returns the documents of every manifest.
fn render(values: Option<&Path>, set_json: Option<Value>) -> Vec<Doc> {
    let chart = chart_dir();
    let mut args = vec!["render".to_string(), chart.display().to_string()];
    args.extend(values.map(|p| p.display().to_string()));
    args.extend(["--namespace".into(), NAMESPACE.into()]);
    if let Some(overrides) = set_json {
        args.extend(["--set-json".into(), overrides.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let manifests = chart_py_json(&args)["manifests"]
        .as_object()
        .cloned()
        .expect("render prints {\"manifests\": {...}}");
    let mut docs = Vec::new();
    for (template, text) in manifests {
        if template.ends_with("NOTES.txt") {
            continue;
        }
        let text = text
            .as_str()
            .unwrap_or_else(|| panic!("{template}: manifest is not a string"));
        for document in serde_yaml::Deserializer::from_str(text) {
            let yaml = serde_yaml::Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{template}: invalid YAML: {e}\n{text}"));
            if yaml.is_null() {
                continue; // an empty document (a disabled template, or `---` alone)
            }
            let value = serde_json::to_value(&yaml)
                .unwrap_or_else(|e| panic!("{template}: not JSON-compatible: {e}"));
            docs.push(Doc {
                template: template.clone(),
                value,
            });
        }
    }
    docs
}

fn render_default() -> Vec<Doc> {
    render(None, None)
}

fn render_namespaced_ha() -> Vec<Doc> {
    render(Some(&chart_dir().join("ci/namespaced-ha.yaml")), None)
}

fn of_kind<'a>(docs: &'a [Doc], kind: &str) -> Vec<&'a Doc> {
    docs.iter().filter(|d| d.kind() == kind).collect()
}

fn one<'a>(docs: &'a [Doc], kind: &str) -> &'a Doc {
    match of_kind(docs, kind).as_slice() {
        [doc] => doc,
        found => panic!("expected exactly one {kind}, found {}", found.len()),
    }
}

fn deployment(docs: &[Doc]) -> Deployment {
    one(docs, "Deployment").parse()
}

fn pod_spec(docs: &[Doc]) -> PodSpec {
    deployment(docs)
        .spec
        .and_then(|s| s.template.spec)
        .expect("the Deployment has a pod spec")
}

fn container(docs: &[Doc]) -> Container {
    match pod_spec(docs).containers.as_slice() {
        [c] => c.clone(),
        cs => panic!("expected one container, found {}", cs.len()),
    }
}

fn args(docs: &[Doc]) -> Vec<String> {
    container(docs).args.unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Strict parsing
// ---------------------------------------------------------------------------

/// The Prometheus Operator's ServiceMonitor, only the fields the chart uses.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    metadata: MonitorMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorMeta {
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceMonitorSpec {
    selector: MonitorSelector,
    endpoints: Vec<MonitorEndpoint>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MonitorSelector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MonitorEndpoint {
    port: String,
    path: String,
    honor_labels: bool,
    interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scrape_timeout: Option<String>,
}

/// The Prometheus Operator's PrometheusRule, only the fields the chart uses.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrometheusRule {
    api_version: String,
    kind: String,
    metadata: MonitorMeta,
    spec: RuleSpec,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    groups: Vec<RuleGroup>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<AlertRule>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertRule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// Deserializes `value` as `T` and serializes it back.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// The first path of `original` that `round_tripped` lacks or holds differently.
fn first_difference(path: &str, original: &Value, round_tripped: &Value) -> Option<String> {
    match (original, round_tripped) {
        (Value::Object(a), Value::Object(b)) => {
            a.iter().find_map(|(key, value)| match b.get(key) {
                Some(other) => first_difference(&format!("{path}.{key}"), value, other),
                None => Some(format!(
                    "{path}.{key} is unknown (dropped by the typed round trip)"
                )),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path} is {a} but round-trips as {b}")),
    }
}

/// Parses a document strictly as the type its apiVersion and kind claim.
fn check_strictly(doc: &Doc) -> Result<(), String> {
    let api_version = doc.value["apiVersion"].as_str().unwrap_or_default();
    let round_tripped = match (api_version, doc.kind()) {
        ("apps/v1", "Deployment") => round_trip::<Deployment>(&doc.value),
        ("v1", "ServiceAccount") => round_trip::<ServiceAccount>(&doc.value),
        ("v1", "Service") => round_trip::<Service>(&doc.value),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => round_trip::<ClusterRole>(&doc.value),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            round_trip::<ClusterRoleBinding>(&doc.value)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => round_trip::<Role>(&doc.value),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => round_trip::<RoleBinding>(&doc.value),
        ("policy/v1", "PodDisruptionBudget") => round_trip::<PodDisruptionBudget>(&doc.value),
        ("networking.k8s.io/v1", "NetworkPolicy") => round_trip::<NetworkPolicy>(&doc.value),
        ("monitoring.coreos.com/v1", "ServiceMonitor") => round_trip::<ServiceMonitor>(&doc.value),
        ("monitoring.coreos.com/v1", "PrometheusRule") => round_trip::<PrometheusRule>(&doc.value),
        ("v1", "ConfigMap") => round_trip::<ConfigMap>(&doc.value),
        (api_version, kind) => return Err(format!("unexpected kind {api_version} {kind}")),
    }?;
    first_difference("", &doc.value, &round_tripped).map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------

/// (API group, resource) → verbs.
type Grants = BTreeMap<(String, String), BTreeSet<String>>;

fn grants(rules: &[PolicyRule]) -> Grants {
    let mut grants = Grants::new();
    for rule in rules {
        assert!(
            rule.resource_names.is_none() && rule.non_resource_urls.is_none(),
            "unexpected rule shape: {rule:?}"
        );
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                let verbs = grants.entry((group.clone(), resource.clone())).or_default();
                for verb in &rule.verbs {
                    assert!(
                        verbs.insert(verb.clone()),
                        "{verb} on {group}/{resource} is granted twice"
                    );
                }
            }
        }
    }
    grants
}

fn expected(entries: &[(&str, &str, &[&str])]) -> Grants {
    entries
        .iter()
        .map(|(group, resource, verbs)| {
            (
                (group.to_string(), resource.to_string()),
                verbs.iter().map(|v| v.to_string()).collect(),
            )
        })
        .collect()
}

/// What every installation needs on FailoverRecords and Events, plus the
/// Service and Ingress reads when cluster targets are on.
fn watch_grants(cluster_targets: bool) -> Grants {
    let mut grants = expected(&[
        (
            "dnsfailover.io",
            "failoverrecords",
            &["get", "list", "watch", "patch"],
        ),
        ("dnsfailover.io", "failoverrecords/status", &["patch"]),
        (
            "dnsfailover.io",
            "failoverrecords/finalizers",
            &["update", "patch"],
        ),
        ("events.k8s.io", "events", &["create", "patch"]),
    ]);
    if cluster_targets {
        grants.extend(expected(&[
            ("", "services", &["get", "list", "watch"]),
            ("networking.k8s.io", "ingresses", &["get", "list", "watch"]),
        ]));
    }
    grants
}

fn lease_grants() -> Grants {
    expected(&[(
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update", "patch"],
    )])
}

/// Every Role and ClusterRole as (kind, namespace, name) → its grants.
fn roles(docs: &[Doc]) -> BTreeMap<(String, String, String), Grants> {
    let mut roles = BTreeMap::new();
    for doc in docs {
        let rules = match doc.kind() {
            "Role" => doc.parse::<Role>().rules,
            "ClusterRole" => doc.parse::<ClusterRole>().rules,
            _ => continue,
        };
        let key = (
            doc.kind().to_string(),
            doc.namespace().to_string(),
            doc.name().to_string(),
        );
        roles.insert(key, grants(&rules.unwrap_or_default()));
    }
    roles
}

fn key(kind: &str, namespace: &str, name: &str) -> (String, String, String) {
    (kind.into(), namespace.into(), name.into())
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn lint_is_clean_with_default_and_ci_values() {
    let chart = chart_dir().display().to_string();
    let mut problems = Vec::new();
    for values in value_files() {
        let mut args = vec!["lint".to_string(), chart.clone()];
        args.extend(values.as_ref().map(|p| p.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let report = chart_py_json(&args);
        let messages = report["messages"].as_array().cloned().unwrap_or_default();
        for message in messages
            .iter()
            .filter(|m| m["severity"].as_u64().unwrap_or(3) >= 2)
        {
            problems.push(format!("{}: {message}", label(&values)));
        }
        for error in report["errors"].as_array().into_iter().flatten() {
            problems.push(format!("{}: {error}", label(&values)));
        }
    }
    assert!(
        problems.is_empty(),
        "helm lint --strict:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_rendered_document_is_a_strict_kubernetes_object() {
    for values in value_files() {
        let docs = render(values.as_deref(), None);
        assert!(!docs.is_empty(), "{}: nothing rendered", label(&values));
        for doc in &docs {
            if let Err(problem) = check_strictly(doc) {
                panic!(
                    "{} — {} {} ({}): {problem}\n{:#}",
                    label(&values),
                    doc.kind(),
                    doc.name(),
                    doc.template,
                    doc.value
                );
            }
        }
    }
}

#[test]
fn the_strict_check_catches_unknown_and_misplaced_fields() {
    let misplaced = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "annotation": {}}});
    let doc = Doc {
        template: "test".into(),
        value: misplaced,
    };
    let problem = check_strictly(&doc).expect_err("metadata.annotation is not a field");
    assert!(problem.contains(".metadata.annotation"), "{problem}");
    let other = Doc {
        template: "test".into(),
        value: json!({"apiVersion": "v1", "kind": "Secret"}),
    };
    assert!(
        check_strictly(&other).is_err(),
        "a kind outside the list is refused"
    );
}

#[test]
fn default_install_watches_all_namespaces_with_cluster_rbac() {
    let docs = render_default();
    let roles = roles(&docs);
    assert_eq!(
        roles,
        BTreeMap::from([
            (key("ClusterRole", "", "dnsfailover"), watch_grants(true)),
            (
                key("Role", NAMESPACE, "dnsfailover-leader-election"),
                lease_grants()
            ),
        ])
    );
    let binding: ClusterRoleBinding = one(&docs, "ClusterRoleBinding").parse();
    assert_eq!(binding.role_ref.name, "dnsfailover");
    let subjects = binding.subjects.unwrap_or_default();
    assert!(
        subjects.iter().any(|s| s.kind == "ServiceAccount"
            && s.name == "dnsfailover"
            && s.namespace.as_deref() == Some(NAMESPACE)),
        "the ClusterRoleBinding binds the controller's ServiceAccount: {subjects:?}"
    );
    let args = args(&docs);
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace")),
        "{args:?}"
    );
    for expected in [
        "run",
        "--leader-election=true",
        "--cluster-targets=true",
        "--http-address=0.0.0.0:8080",
        "--owner-id=dnsfailover",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} missing from {args:?}"
        );
    }
    assert!(!args.iter().any(|a| a == "--dry-run"), "{args:?}");
    assert!(
        of_kind(&docs, "PodDisruptionBudget").is_empty(),
        "one replica needs no PDB"
    );
    assert!(
        of_kind(&docs, "ServiceMonitor").is_empty() && of_kind(&docs, "NetworkPolicy").is_empty()
    );
    let account: ServiceAccount = one(&docs, "ServiceAccount").parse();
    assert_eq!(account.automount_service_account_token, Some(true));
}

#[test]
fn namespaced_ha_install_has_roles_per_namespace_pdb_monitor_and_policy() {
    let docs = render_namespaced_ha();
    let roles = roles(&docs);
    assert_eq!(
        roles,
        BTreeMap::from([
            (key("Role", "web", "dnsfailover"), watch_grants(true)),
            (key("Role", "payments", "dnsfailover"), watch_grants(true)),
            (
                key("Role", NAMESPACE, "dnsfailover-leader-election"),
                lease_grants()
            ),
        ]),
        "a Role in each watched namespace, the lease Role, no ClusterRole"
    );
    assert!(of_kind(&docs, "ClusterRoleBinding").is_empty());
    let bound: BTreeSet<(String, String)> = of_kind(&docs, "RoleBinding")
        .iter()
        .map(|d| {
            (
                d.namespace().to_string(),
                d.parse::<RoleBinding>().role_ref.name,
            )
        })
        .collect();
    assert_eq!(
        bound,
        BTreeSet::from([
            ("web".into(), "dnsfailover".into()),
            ("payments".into(), "dnsfailover".into()),
            (NAMESPACE.into(), "dnsfailover-leader-election".into()),
        ])
    );

    assert_eq!(deployment(&docs).spec.and_then(|s| s.replicas), Some(2));
    let args = args(&docs);
    for expected in [
        "--leader-election=true",
        "--namespace=web",
        "--namespace=payments",
        "--label-selector=team in (web,payments),tier!=test",
        "--route53-endpoint=https://route53.amazonaws.com",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} missing from {args:?}"
        );
    }
    assert!(!args.iter().any(|a| a == "--dry-run"), "{args:?}");

    let account: ServiceAccount = one(&docs, "ServiceAccount").parse();
    let annotations = account.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some("arn:aws:iam::123456789012:role/dnsfailover"),
        "IRSA annotation"
    );

    let pdb: PodDisruptionBudget = one(&docs, "PodDisruptionBudget").parse();
    assert!(
        pdb.spec
            .is_some_and(|s| s.max_unavailable.is_some() || s.min_available.is_some())
    );
    let monitor = one(&docs, "ServiceMonitor");
    assert_eq!(monitor.value["spec"]["endpoints"][0]["port"], "http");
    // The series' own `namespace` (the FailoverRecord's) must survive the
    // scrape: the alerts group by it.
    assert_eq!(monitor.value["spec"]["endpoints"][0]["honorLabels"], true);
    let policy: NetworkPolicy = one(&docs, "NetworkPolicy").parse();
    let spec = policy.spec.expect("a NetworkPolicy spec");
    assert_eq!(
        spec.policy_types,
        Some(vec!["Ingress".to_string(), "Egress".to_string()])
    );
    let egress_ports: Vec<(Option<IntOrString>, String)> = spec
        .egress
        .iter()
        .flatten()
        .flat_map(|rule| rule.ports.iter().flatten())
        .map(|p| {
            (
                p.port.clone(),
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            )
        })
        .collect();
    for (port, protocol) in [(53, "UDP"), (53, "TCP"), (443, "TCP"), (6443, "TCP")] {
        assert!(
            egress_ports.contains(&(Some(IntOrString::Int(port)), protocol.into())),
            "egress to {port}/{protocol}: {egress_ports:?}"
        );
    }
    let ingress = spec.ingress.unwrap_or_default();
    let ingress_ports: Vec<_> = ingress
        .iter()
        .flat_map(|r| r.ports.iter().flatten())
        .map(|p| p.port.clone())
        .collect();
    assert_eq!(
        ingress_ports,
        [Some(IntOrString::String("http".into()))],
        "ingress only to the http port"
    );
}

#[test]
fn rbac_follows_leader_election_and_cluster_targets() {
    let without_targets = render(None, Some(json!({"clusterTargets": {"enabled": false}})));
    assert_eq!(
        roles(&without_targets)[&key("ClusterRole", "", "dnsfailover")],
        watch_grants(false)
    );
    assert!(
        args(&without_targets)
            .iter()
            .any(|a| a == "--cluster-targets=false")
    );

    let without_election = render(
        None,
        Some(json!({"leaderElection": {"enabled": false}, "replicaCount": 1})),
    );
    assert_eq!(
        roles(&without_election),
        BTreeMap::from([(key("ClusterRole", "", "dnsfailover"), watch_grants(true))]),
        "no lease permission without leader election"
    );
    assert!(of_kind(&without_election, "RoleBinding").is_empty());
    assert!(
        args(&without_election)
            .iter()
            .any(|a| a == "--leader-election=false")
    );

    let namespaced = render(
        None,
        Some(json!({"watchNamespaces": ["web"], "clusterTargets": {"enabled": false}})),
    );
    assert_eq!(
        roles(&namespaced)[&key("Role", "web", "dnsfailover")],
        watch_grants(false)
    );
}

/// The Gateway read that `gatewayAPI.enabled` adds.
fn gateway_grant() -> Grants {
    expected(&[(
        "gateway.networking.k8s.io",
        "gateways",
        &["get", "list", "watch"],
    )])
}

#[test]
fn gateways_are_read_only_with_gateway_api_enabled_in_both_rbac_modes() {
    let default = render(None, None);
    assert_eq!(
        roles(&default)[&key("ClusterRole", "", "dnsfailover")],
        watch_grants(true),
        "no Gateway permission by default"
    );
    assert!(args(&default).iter().any(|a| a == "--gateway-api=false"));

    let enabled = render(None, Some(json!({"gatewayAPI": {"enabled": true}})));
    let mut with_gateways = watch_grants(true);
    with_gateways.extend(gateway_grant());
    assert_eq!(
        roles(&enabled)[&key("ClusterRole", "", "dnsfailover")],
        with_gateways
    );
    assert!(args(&enabled).iter().any(|a| a == "--gateway-api=true"));

    let namespaced = |enabled: bool| {
        render(
            None,
            Some(json!({"watchNamespaces": ["web", "shop"], "gatewayAPI": {"enabled": enabled}})),
        )
    };
    let off = namespaced(false);
    let on = namespaced(true);
    for ns in ["web", "shop"] {
        assert_eq!(
            roles(&off)[&key("Role", ns, "dnsfailover")],
            watch_grants(true)
        );
        assert_eq!(roles(&on)[&key("Role", ns, "dnsfailover")], with_gateways);
    }
    assert!(
        !roles(&on).keys().any(|(kind, _, _)| kind == "ClusterRole"),
        "no cluster-wide permission with watchNamespaces"
    );
    assert!(args(&on).iter().any(|a| a == "--gateway-api=true"));
}

#[test]
fn more_than_one_replica_requires_leader_election() {
    let out = chart_py(&[
        "render",
        &chart_dir().display().to_string(),
        "--set-json",
        r#"{"replicaCount": 2, "leaderElection": {"enabled": false}}"#,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "two replicas without leader election must not render"
    );
    assert!(
        stderr.contains("leaderElection.enabled"),
        "the message names the value: {stderr}"
    );
}

#[test]
fn the_pod_is_hardened_and_probed() {
    for values in value_files() {
        let docs = render(values.as_deref(), None);
        let pod = pod_spec(&docs);
        let context = label(&values);
        assert_eq!(pod.automount_service_account_token, Some(true), "{context}");
        let sc = pod
            .security_context
            .unwrap_or_else(|| panic!("{context}: no pod securityContext"));
        assert_eq!(sc.run_as_non_root, Some(true), "{context}");
        assert_eq!(
            (sc.run_as_user, sc.run_as_group, sc.fs_group),
            (Some(65532), Some(65532), Some(65532)),
            "{context}"
        );
        assert_eq!(
            sc.seccomp_profile.map(|p| p.type_),
            Some("RuntimeDefault".into()),
            "{context}"
        );

        let c = container(&docs);
        let csc = c
            .security_context
            .clone()
            .unwrap_or_else(|| panic!("{context}: no container securityContext"));
        assert_eq!(csc.allow_privilege_escalation, Some(false), "{context}");
        assert_eq!(csc.read_only_root_filesystem, Some(true), "{context}");
        assert_eq!(
            csc.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_string()]),
            "{context}"
        );
        let resources = c.resources.clone().unwrap_or_default();
        assert!(
            resources.requests.is_some() && resources.limits.is_some(),
            "{context}: requests and limits"
        );

        let port = c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some("http"));
        assert!(port.is_some(), "{context}: a container port named http");
        let probe_path = |probe: Option<&Probe>| {
            probe
                .and_then(|p| p.http_get.as_ref())
                .map(|g| (g.path.clone().unwrap_or_default(), g.port.clone()))
        };
        let http = IntOrString::String("http".into());
        assert_eq!(
            probe_path(c.liveness_probe.as_ref()),
            Some(("/healthz".into(), http.clone())),
            "{context}"
        );
        assert_eq!(
            probe_path(c.readiness_probe.as_ref()),
            Some(("/readyz".into(), http)),
            "{context}"
        );

        let env: Vec<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
        assert!(
            env.contains(&"POD_NAME") && env.contains(&"POD_NAMESPACE"),
            "{context}: {env:?}"
        );
    }
}

#[test]
fn credentials_come_from_a_secret_when_named() {
    let docs = render(
        None,
        Some(json!({"aws": {"credentialsSecret": {"name": "route53-keys"}}})),
    );
    let env = container(&docs).env.unwrap_or_default();
    let from_secret: BTreeMap<&str, (String, String, Option<bool>)> = env
        .iter()
        .filter_map(|e| {
            let r = e.value_from.as_ref()?.secret_key_ref.as_ref()?;
            Some((e.name.as_str(), (r.name.clone(), r.key.clone(), r.optional)))
        })
        .collect();
    assert_eq!(
        from_secret,
        BTreeMap::from([
            (
                "AWS_ACCESS_KEY_ID",
                ("route53-keys".into(), "AWS_ACCESS_KEY_ID".into(), None)
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                ("route53-keys".into(), "AWS_SECRET_ACCESS_KEY".into(), None)
            ),
            (
                "AWS_SESSION_TOKEN",
                (
                    "route53-keys".into(),
                    "AWS_SESSION_TOKEN".into(),
                    Some(true)
                )
            ),
        ])
    );
    let default_env = container(&render_default()).env.unwrap_or_default();
    assert!(
        !default_env.iter().any(|e| e.name.starts_with("AWS_")),
        "no credentials by default (IRSA)"
    );
}

#[test]
fn the_schema_rejects_bad_values_by_name() {
    let chart = chart_dir().display().to_string();
    for (values, key) in [
        (json!({"replicaCount": -1}), "replicaCount"),
        (json!({"logFormat": "xml"}), "logFormat"),
        (json!({"replicaCaunt": 2}), "replicaCaunt"),
        (json!({"healthPollRate": 2}), "healthPollRate"),
        (json!({"resync": "5 minutes"}), "resync"),
        (json!({"ownerId": "Prod_EU"}), "ownerId"),
        (json!({"watchNamespaces": ["Web"]}), "watchNamespaces"),
        (json!({"leaderElection": {"enabled": "yes"}}), "enabled"),
        (
            json!({"metrics": {"serviceMonitor": {"enabled": true, "intervall": "30s"}}}),
            "intervall",
        ),
    ] {
        let out = chart_py(&["validate", &chart, &values.to_string()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{values} passed the schema");
        assert!(
            stderr.contains(key),
            "the message for {values} names {key}: {stderr}"
        );
    }
    let good = json!({"replicaCount": 3, "logFormat": "text", "watchNamespaces": ["web"], "aws": {"region": "eu-west-1"}});
    let out = chart_py(&["validate", &chart, &good.to_string()]);
    assert!(
        out.status.success(),
        "{good} is valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zones_in_other_accounts_become_zone_roles_and_bad_roles_are_refused() {
    let docs = render(
        None,
        Some(json!({"aws": {
            "zoneRoles": {
                "example.com": "arn:aws:iam::111111111111:role/dns",
                "Z0123456789ABC": "arn:aws:iam::222222222222:role/dns"
            },
            "stsEndpoint": "https://sts.eu-west-1.amazonaws.com",
            "roleExternalId": "dnsfailover-prod"
        }})),
    );
    let rendered = args(&docs);
    for expected in [
        "--zone-role=Z0123456789ABC=arn:aws:iam::222222222222:role/dns",
        "--zone-role=example.com=arn:aws:iam::111111111111:role/dns",
        "--sts-endpoint=https://sts.eu-west-1.amazonaws.com",
        "--role-external-id=dnsfailover-prod",
    ] {
        assert!(
            rendered.iter().any(|a| a == expected),
            "{expected} in {rendered:?}"
        );
    }
    assert!(
        !args(&render_default())
            .iter()
            .any(|a| a.starts_with("--zone-role") || a.starts_with("--sts-endpoint")),
        "none by default"
    );
    let chart = chart_dir().display().to_string();
    let bad = json!({"aws": {"zoneRoles": {"example.com": "arn:aws:iam::1111:user/dns"}}});
    let out = chart_py(&["validate", &chart, &bad.to_string()]);
    assert!(!out.status.success(), "a user ARN passed the schema");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("zoneRoles"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// Alerts and dashboard
// ---------------------------------------------------------------------------

/// Every sample name the controller exports (from its own registry, so a
/// renamed metric fails here) and, per name, the label pairs its series carry
/// once each kind of label value has been seen.
fn exported() -> BTreeMap<String, BTreeSet<(String, String)>> {
    use dnsfailover::api::{ActiveSide, FailoverRecordStatus, Health, TargetStatus};
    use dnsfailover::controller::metrics::Metrics;
    use dnsfailover::route53::{ErrorKind, Operation};
    let metrics = Metrics::default();
    for (i, (active, health)) in [
        (ActiveSide::Primary, Health::Healthy),
        (ActiveSide::Secondary, Health::Unhealthy),
        (ActiveSide::Unknown, Health::Unknown),
    ]
    .into_iter()
    .enumerate()
    {
        let side = Some(TargetStatus {
            health: Some(health),
            ..TargetStatus::default()
        });
        let status = FailoverRecordStatus {
            active: Some(active),
            primary: side.clone(),
            secondary: side,
            ..FailoverRecordStatus::default()
        };
        metrics.record_status("web", &format!("r{i}"), &status);
        metrics.failed_over("web", &format!("r{i}"), active);
    }
    for result in [Ok(()), Err(ErrorKind::Throttled), Err(ErrorKind::Timeout)] {
        metrics.route53_request(Operation::GetHealthCheckStatus, result, Default::default());
    }
    for result in ["answered", "no_records", "failed"] {
        metrics.dns_query(result);
    }
    use dnsfailover::controller::metrics::{CategoryLabels, HealthLabels, ResultLabels};
    metrics
        .errors
        .get_or_create(&CategoryLabels {
            category: "Route53Throttled",
        })
        .inc();
    metrics
        .reconciles
        .get_or_create(&ResultLabels { result: "ok" })
        .inc();
    metrics.reconcile_duration.observe(0.1);
    metrics
        .health_transitions
        .get_or_create(&HealthLabels {
            health: "unhealthy",
        })
        .inc();
    let text = metrics.encode();
    let mut names: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let samples: Vec<String> = match kind {
                "counter" => vec![format!("{name}_total")],
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{name}{s}"))
                    .collect(),
                _ => vec![name.to_string()],
            };
            for sample in samples {
                names.entry(sample).or_default();
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let labels = line
                .split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
                .map(|(labels, _)| labels)
                .unwrap_or_default();
            let pairs = names.entry(name.to_string()).or_default();
            for pair in labels.split(',').filter(|p| !p.is_empty()) {
                if let Some((k, v)) = pair.split_once('=') {
                    pairs.insert((k.to_string(), v.trim_matches('"').to_string()));
                }
            }
        }
    }
    names
}

/// Each `dnsfailover_*` selector in a PromQL expression: the metric, and its
/// exact-match label pairs.
fn selectors(expr: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("dnsfailover_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].to_string();
        let mut pairs = Vec::new();
        let after = &tail[end..];
        if let Some(inside) = after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            for matcher in inside.0.split(',') {
                // Regular-expression matchers (`=~`) select by pattern; only
                // exact matches name a label value.
                if let Some((k, v)) = matcher.split_once('=')
                    && !v.starts_with('~')
                    && !k.ends_with('!')
                {
                    pairs.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
                }
            }
        }
        found.push((name, pairs));
        rest = &tail[end..];
    }
    found
}

fn assert_refers_to_exported(what: &str, expr: &str) {
    let exported = exported();
    let found = selectors(expr);
    assert!(!found.is_empty(), "{what}: no dnsfailover metric in {expr}");
    for (name, pairs) in found {
        let Some(labels) = exported.get(&name) else {
            panic!("{what}: {name} is not a metric the controller exports ({expr})");
        };
        for pair in pairs {
            assert!(
                labels.contains(&pair),
                "{what}: {name} has no series with {}={:?} ({expr}); it has {labels:?}",
                pair.0,
                pair.1
            );
        }
    }
}

fn render_monitoring() -> Vec<Doc> {
    render(
        None,
        Some(json!({"metrics": {
            "prometheusRule": {"enabled": true, "labels": {"release": "prometheus"}, "primaryUnhealthyFor": "5m"},
            "grafanaDashboard": {"enabled": true}
        }})),
    )
}

#[test]
fn the_prometheus_rule_is_off_by_default_and_its_alerts_use_exported_metrics() {
    let default = render_default();
    assert!(of_kind(&default, "PrometheusRule").is_empty());
    assert!(of_kind(&default, "ConfigMap").is_empty());

    let docs = render_monitoring();
    let rule: PrometheusRule = one(&docs, "PrometheusRule").parse();
    assert_eq!(
        rule.metadata.labels.get("release").map(String::as_str),
        Some("prometheus")
    );
    let alerts: BTreeMap<&str, &AlertRule> = rule
        .spec
        .groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .map(|r| (r.alert.as_str(), r))
        .collect();
    assert_eq!(
        alerts.keys().copied().collect::<Vec<_>>(),
        vec![
            "DNSFailoverFailedOver",
            "DNSFailoverPrimaryUnhealthy",
            "DNSFailoverRecordNotReady",
            "DNSFailoverRoute53Throttling"
        ]
    );
    assert_eq!(alerts["DNSFailoverPrimaryUnhealthy"].for_, "5m");
    for (name, alert) in &alerts {
        assert_refers_to_exported(name, &alert.expr);
        assert!(
            alert
                .annotations
                .get("description")
                .is_some_and(|d| !d.is_empty()),
            "{name} says what happened"
        );
    }
    // Per-record alerts keep one series per FailoverRecord.
    for name in [
        "DNSFailoverFailedOver",
        "DNSFailoverPrimaryUnhealthy",
        "DNSFailoverRecordNotReady",
    ] {
        assert!(alerts[name].expr.contains("by (namespace, name)"), "{name}");
    }
}

#[test]
fn the_selector_check_rejects_what_the_controller_does_not_export() {
    let result = std::panic::catch_unwind(|| {
        assert_refers_to_exported("typo", "dnsfailover_record_active_sides == 1")
    });
    assert!(result.is_err(), "an unknown metric is caught");
    let result = std::panic::catch_unwind(|| {
        assert_refers_to_exported(
            "value",
            r#"dnsfailover_record_active_side{side="standby"} == 1"#,
        )
    });
    assert!(result.is_err(), "a label value no series has is caught");
}

// ---------------------------------------------------------------------------
// The alerts evaluated by promtool
// ---------------------------------------------------------------------------

/// The promtool rule tests (`promtool test rules`) of the PrometheusRule with
/// the chart's default values; their `rule_files` is `rules.yaml` in the same
/// directory, where the tests write the rendered rule.
const ALERT_TESTS: &str = "tests/alerts/alerts_test.yaml";

/// promtool, from `DNSFAILOVER_PROMTOOL` (`make test` and `make chart-check`
/// set it), else from `scripts/promtool.sh --path`, which builds it from its
/// Go module once per machine (a few minutes) when it is not cached yet.
/// Without it the tests fail and say why; they never skip.
fn promtool() -> PathBuf {
    static PROMTOOL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PROMTOOL.get_or_init(|| {
        if let Some(path) = std::env::var_os("DNSFAILOVER_PROMTOOL") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "DNSFAILOVER_PROMTOOL={} is not a file: run `make promtool`, or unset it",
                    path.display()
                ))
            };
        }
        let script = root().join("scripts/promtool.sh");
        let out = Command::new(&script)
            .arg("--path")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "no promtool to evaluate the alerting rules with: scripts/promtool.sh --path failed ({}):\n{stderr}",
                out.status
            ))
        }
    });
    found.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `promtool ARGS` and returns whether it succeeded, and what it printed.
fn run_promtool(args: &[&OsStr]) -> (bool, String) {
    let promtool = promtool();
    let out = Command::new(&promtool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {} {args:?}: {e}", promtool.display()));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// The PrometheusRule's `spec`, rendered once with the chart's default
/// values and the rule enabled: a Prometheus rule file (`groups:`).
fn default_rule_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let docs = render(
            None,
            Some(json!({"metrics": {"prometheusRule": {"enabled": true}}})),
        );
        one(&docs, "PrometheusRule").value["spec"].clone()
    })
}

/// A directory holding the rendered rule as `rules.yaml` and `tests` as
/// `alerts_test.yaml` next to it.
fn rules_dir(tests: &serde_yaml::Value) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = dir.path().join("rules.yaml");
    let spec = serde_yaml::to_string(default_rule_spec()).expect("YAML");
    std::fs::write(&rules, spec).expect("write rules.yaml");
    let test_file = dir.path().join("alerts_test.yaml");
    std::fs::write(&test_file, serde_yaml::to_string(tests).expect("YAML"))
        .expect("write alerts_test.yaml");
    (dir, rules, test_file)
}

fn alert_tests() -> serde_yaml::Value {
    let text = std::fs::read_to_string(root().join(ALERT_TESTS))
        .unwrap_or_else(|e| panic!("{ALERT_TESTS}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{ALERT_TESTS}: {e}"))
}

/// Every `alert_rule_test` case of a promtool test file, in order.
fn alert_cases(tests: &mut serde_yaml::Value) -> Vec<&mut serde_yaml::Value> {
    tests["tests"]
        .as_sequence_mut()
        .expect("tests:")
        .iter_mut()
        .flat_map(|t| {
            t["alert_rule_test"]
                .as_sequence_mut()
                .expect("alert_rule_test:")
                .iter_mut()
        })
        .collect()
}

/// A series of a promtool test's `input_series`: its metric, its labels.
fn series_labels(series: &str) -> (String, Vec<(String, String)>) {
    let (name, rest) = series.split_once('{').unwrap_or((series, "}"));
    let labels = rest.trim_end().trim_end_matches('}');
    let pairs = labels
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("{series}"));
            (k.trim().to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect();
    (name.trim().to_string(), pairs)
}

#[test]
fn the_alerts_fire_on_recorded_series_as_promtool_evaluates_them() {
    let tests = alert_tests();
    assert_eq!(
        tests["rule_files"],
        serde_yaml::from_str::<serde_yaml::Value>("[rules.yaml]").unwrap(),
        "{ALERT_TESTS} reads the rule the tests render, rules.yaml next to it"
    );

    // The input series are what the controller exports: its metric names, its
    // label values (the record's namespace and name, and the operation, are
    // free), plus what a scrape adds.
    use dnsfailover::route53::Operation;
    let exported = exported();
    let mut series_count = 0;
    for test in tests["tests"].as_sequence().expect("tests:") {
        for input in test["input_series"].as_sequence().expect("input_series:") {
            let series = input["series"].as_str().expect("series:");
            let (name, pairs) = series_labels(series);
            let labels = exported.get(&name).unwrap_or_else(|| {
                panic!("{series}: {name} is not a metric the controller exports")
            });
            for (k, v) in pairs {
                let known = match k.as_str() {
                    "job" | "pod" => true,
                    "namespace" | "name" => labels.iter().any(|(key, _)| *key == k),
                    "operation" => {
                        labels.iter().any(|(key, _)| key == "operation")
                            && Operation::ALL.iter().any(|op| op.as_str() == v)
                    }
                    _ => labels.contains(&(k.clone(), v.clone())),
                };
                assert!(
                    known,
                    "{series}: {name} has no series with {k}={v:?}; it has {labels:?}"
                );
            }
            series_count += 1;
        }
    }
    assert!(series_count >= 20, "{series_count} input series");

    // Each alert is tested both firing and not (yet) firing, and no case names
    // an alert the rule does not have (promtool would find none, and pass).
    let spec: RuleSpec =
        serde_json::from_value(default_rule_spec().clone()).expect("the rule's spec");
    let alerts: BTreeSet<String> = spec
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| r.alert.clone()))
        .collect();
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    let mut cases = tests.clone();
    for case in alert_cases(&mut cases) {
        let alert = case["alertname"].as_str().expect("alertname:").to_string();
        assert!(
            alerts.contains(&alert),
            "{ALERT_TESTS} tests {alert}, which the rule does not have"
        );
        let expected = case["exp_alerts"].as_sequence().expect("exp_alerts:");
        for firing in expected {
            for label in ["namespace", "name", "severity"] {
                assert!(
                    (alert == "DNSFailoverRoute53Throttling" && label != "severity")
                        || firing["exp_labels"][label].is_string(),
                    "{alert}: the expected alert has no {label} label"
                );
            }
        }
        if expected.is_empty() {
            &mut quiet
        } else {
            &mut fires
        }
        .insert(alert);
    }
    assert_eq!(fires, alerts, "every alert is expected to fire");
    assert_eq!(quiet, alerts, "every alert is expected not to fire (yet)");

    let (_dir, rules, test_file) = rules_dir(&tests);
    let (ok, printed) = run_promtool(&["check".as_ref(), "rules".as_ref(), rules.as_os_str()]);
    assert!(ok, "promtool check rules:\n{printed}");
    assert!(printed.contains("SUCCESS: 4 rules found"), "{printed}");
    let (ok, printed) = run_promtool(&["test".as_ref(), "rules".as_ref(), test_file.as_os_str()]);
    assert!(ok, "promtool test rules {ALERT_TESTS}:\n{printed}");
    assert!(printed.contains("SUCCESS"), "{printed}");
}

/// promtool's verdict is what the test above reads: each expectation of the
/// rule tests, made wrong on its own (no alert where one fires; where none
/// fires yet, the alert that fires later), makes `promtool test rules` fail.
#[test]
fn promtool_fails_the_rule_tests_when_an_expectation_is_wrong() {
    let tests = alert_tests();
    let mut firing_of: BTreeMap<String, serde_yaml::Value> = BTreeMap::new();
    let mut scratch = tests.clone();
    for case in alert_cases(&mut scratch) {
        let alert = case["alertname"].as_str().expect("alertname:").to_string();
        if case["exp_alerts"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty())
        {
            firing_of
                .entry(alert)
                .or_insert_with(|| case["exp_alerts"].clone());
        }
    }
    let cases = alert_cases(&mut scratch).len();
    assert!(cases >= 8, "{cases} cases");
    for i in 0..cases {
        let mut wrong = tests.clone();
        let case = alert_cases(&mut wrong).swap_remove(i);
        let alert = case["alertname"].as_str().expect("alertname:").to_string();
        let at = case["eval_time"].as_str().unwrap_or_default().to_string();
        let fired = case["exp_alerts"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty());
        case["exp_alerts"] = if fired {
            serde_yaml::Value::Sequence(Vec::new())
        } else {
            firing_of[&alert].clone()
        };
        let (_dir, _rules, test_file) = rules_dir(&wrong);
        let (ok, printed) =
            run_promtool(&["test".as_ref(), "rules".as_ref(), test_file.as_os_str()]);
        assert!(
            !ok,
            "promtool passed {alert} at {at} expected {}:\n{printed}",
            if fired { "not to fire" } else { "to fire" }
        );
        assert!(
            printed.contains("FAILED") && printed.contains(&alert),
            "promtool test rules, {alert} at {at}:\n{printed}"
        );
    }
}

#[test]
fn the_grafana_dashboard_is_valid_json_whose_queries_use_exported_metrics() {
    let docs = render_monitoring();
    let map: ConfigMap = one(&docs, "ConfigMap").parse();
    assert_eq!(
        map.metadata
            .labels
            .unwrap_or_default()
            .get("grafana_dashboard")
            .map(String::as_str),
        Some("1")
    );
    let json = map
        .data
        .unwrap_or_default()
        .remove("dnsfailover.json")
        .expect("the dashboard");
    let dashboard: Value = serde_json::from_str(&json).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8);
    let mut queries = 0;
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a query");
            assert_refers_to_exported(panel["title"].as_str().unwrap_or("panel"), expr);
            queries += 1;
        }
    }
    assert!(queries >= 10);
}

#[test]
fn the_dns_watch_is_on_by_default_and_dns_egress_is_allowed_to_any_address() {
    let default = args(&render_default());
    assert!(
        default.contains(&"--dns-watch=true".to_string()),
        "{default:?}"
    );
    assert!(
        default.contains(&"--dns-watch-period=30s".to_string()),
        "{default:?}"
    );
    let docs = render(
        None,
        Some(json!({
            "networkPolicy": {"enabled": true},
            "dnsWatch": {"resolvers": ["169.254.169.253"], "servers": ["192.0.2.53:5353"]}
        })),
    );
    let given = args(&docs);
    assert!(
        given.contains(&"--dns-resolver=169.254.169.253".to_string()),
        "{given:?}"
    );
    assert!(
        given.contains(&"--dns-server=192.0.2.53:5353".to_string()),
        "{given:?}"
    );
    let policy: NetworkPolicy = one(&docs, "NetworkPolicy").parse();
    let dns_rule = policy
        .spec
        .and_then(|s| s.egress)
        .unwrap_or_default()
        .into_iter()
        .find(|rule| {
            rule.ports
                .iter()
                .flatten()
                .any(|p| p.port == Some(IntOrString::Int(53)))
        })
        .expect("a DNS egress rule");
    assert!(
        dns_rule.to.is_none_or(|to| to.is_empty()),
        "the zones' name servers are on the internet: port 53 to any address"
    );
    let off = render(None, Some(json!({"dnsWatch": {"enabled": false}})));
    assert!(args_of_off(&off));
}

fn args_of_off(docs: &[Doc]) -> bool {
    let args = args(docs);
    args.contains(&"--dns-watch=false".to_string())
        && !args.iter().any(|a| a.starts_with("--dns-watch-period"))
}
