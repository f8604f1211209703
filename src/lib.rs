//! dnsfailover: declarative Route 53 DNS failover for Kubernetes.
//!
//! Data flows one way: `observe` (Route 53 snapshot) → `validate` (spec → desired
//! state) → `plan` (desired × observed → changes) → `apply` (through the
//! [`route53::Route53`] port) → report. The planner and validation are pure; all
//! I/O sits behind the port, so the controller and the CLI share one core.

pub mod api;
pub mod cli;
pub mod controller;
pub mod desired;
pub mod dns_name;
pub mod health;
pub mod manifest;
pub mod ownership;
pub mod plan;
pub mod reconcile;
pub mod route53;
pub mod status;
pub mod sync;
pub mod validate;
