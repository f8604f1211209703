//! The chart's RBAC is exactly what its comments and the README claim: what
//! `kubectl auth can-i --list` grants the controller's ServiceAccount, in the
//! watched namespace, the release namespace and elsewhere. (That the
//! controller works with it is what every other test in this binary shows:
//! they all run it with that ServiceAccount's token.)

use std::collections::BTreeSet;

use serde_json::json;

use crate::world::World;

/// Rows of `kubectl auth can-i --list` as (resource, verbs), without what
/// every authenticated user gets from the default cluster roles
/// (system:basic-user's self-reviews, system:discovery's URLs).
fn granted(w: &World, namespace: &str) -> BTreeSet<(String, String)> {
    let user = format!(
        "system:serviceaccount:{}:{}",
        w.system,
        w.release.fullname()
    );
    let table = w.plane.kubectl_ok(&[
        "auth",
        "can-i",
        "--list",
        "--as",
        &user,
        "-n",
        namespace,
    ]);
    let mut rows = BTreeSet::new();
    for line in table.lines().skip(1) {
        // Resources  Non-Resource URLs  Resource Names  Verbs
        let Some(open) = line.find('[') else { continue };
        let resource = line[..open].trim();
        if resource.is_empty() || resource.starts_with("selfsubject") {
            continue;
        }
        let verbs = line
            .rfind('[')
            .map(|i| line[i..].trim().to_string())
            .unwrap_or_default();
        rows.insert((resource.to_string(), verbs));
    }
    rows
}

fn rows(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(r, v)| (r.to_string(), v.to_string()))
        .collect()
}

/// What `dnsfailover.rules` in the chart's `_helpers.tpl` grants, with its
/// comments' reasons: watch and finalize FailoverRecords, write their status,
/// publish Events, follow Services and Ingresses.
const WATCHED: &[(&str, &str)] = &[
    ("failoverrecords.dnsfailover.io", "[get list watch patch]"),
    ("failoverrecords.dnsfailover.io/status", "[patch]"),
    ("failoverrecords.dnsfailover.io/finalizers", "[update patch]"),
    ("events.events.k8s.io", "[create patch]"),
    ("services", "[get list watch]"),
    ("ingresses.networking.k8s.io", "[get list watch]"),
];

/// The leader-election Role in the release namespace.
const LEASE: &[(&str, &str)] = &[("leases.coordination.k8s.io", "[get create update patch]")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_account_gets_exactly_the_documented_rights_and_no_secrets() {
    // Namespaced mode: Roles in the watched namespace only.
    let w = World::new("rbac").await;
    assert_eq!(granted(&w, &w.ns), rows(WATCHED), "in the watched namespace");
    assert_eq!(granted(&w, &w.system), rows(LEASE), "in the release namespace");
    let elsewhere = w.plane.namespace("rbac-other", &[]);
    assert_eq!(granted(&w, &elsewhere), rows(&[]), "in any other namespace");

    // Cluster-wide mode (the default): the same rules everywhere.
    let wide = World::in_namespace(
        w.plane.namespace("rbac-wide", &[]),
        json!({"watchNamespaces": []}),
    )
    .await;
    let anywhere = w.plane.namespace("rbac-any", &[]);
    assert_eq!(granted(&wide, &anywhere), rows(WATCHED));
    let mut with_lease = rows(WATCHED);
    with_lease.extend(rows(LEASE));
    assert_eq!(granted(&wide, &wide.system), with_lease);

    // Nothing grants secrets or a wildcard, in any of these namespaces.
    for (world, ns) in [(&w, &w.ns), (&w, &w.system), (&wide, &anywhere)] {
        for (resource, verbs) in granted(world, ns) {
            assert!(!resource.contains("secrets"), "{resource} {verbs}");
            assert!(!resource.contains('*') && !verbs.contains('*'), "{resource} {verbs}");
        }
    }
}
