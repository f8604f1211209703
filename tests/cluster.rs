//! dnsfailover on a real Kubernetes control plane: kube-apiserver,
//! kube-controller-manager and etcd built from their Go modules and started
//! on loopback once for this test binary (`tests/support/control_plane.rs`).
//! The controller runs as its real binary with only the chart's ServiceAccount
//! token; the chart is installed with Helm's own SDK; users' steps are `kubectl`
//! commands; Route 53 is the emulator. Each test has its own namespaces and
//! its own emulator, so they run in parallel.
//!
//! The apiserver-restart scenario stops the shared apiserver, so it lives in
//! its own binary: `tests/cluster_faults.rs`.

mod support;

#[path = "cluster/world.rs"]
mod world;

#[path = "cluster/accounts.rs"]
mod accounts;
#[path = "cluster/crd.rs"]
mod crd;
#[path = "cluster/dnswatch.rs"]
mod dnswatch;
#[path = "cluster/gateway.rs"]
mod gateway;
#[path = "cluster/gc.rs"]
mod gc;
#[path = "cluster/helm.rs"]
mod helm;
#[path = "cluster/import.rs"]
mod import;
#[path = "cluster/leader.rs"]
mod leader;
#[path = "cluster/rbac.rs"]
mod rbac;
#[path = "cluster/split.rs"]
mod split;
#[path = "cluster/targets.rs"]
mod targets;
#[path = "cluster/walkthrough.rs"]
mod walkthrough;
