//! dnsfailover: declarative Route 53 DNS failover for Kubernetes.
//!
//! Data flows one way, and the folders show the layers it passes through
//! (each layer uses only those listed before it):
//!
//! - [`route53`]: the port, one narrow trait through which everything talks
//!   to Route 53, its plain data types and field normalisation; the AWS SDK
//!   adapter, the rate limiter and retries ([`route53::resilient`]), and
//!   (with the `testing` feature) the in-memory fake.
//! - [`api`]: the `FailoverRecord` CRD types, what is wrong with one
//!   ([`api::InvalidSpec`]), and client-side admission (schema and CEL rules).
//! - [`core`]: the pure steps, no I/O: validate (spec → desired state), plan
//!   (desired × observed → ordered changes), ownership, health and the status
//!   report.
//! - [`engine`]: the I/O around the core that the CLI and the controller
//!   share: zone resolution, observation, and the one executor of plans,
//!   which owns the order of the writes and the INSYNC rule.
//! - [`cli`] and [`controller`]: the two callers, each passing in what differs
//!   (the controller's cache upkeep and batch writer; the CLI's waiting for
//!   INSYNC), with the options they share in [`settings`].
//!
//! [`backoff`] is the one backoff schedule every retry and requeue uses;
//! [`manifest`] reads manifest files.

pub mod api;
pub mod backoff;
pub mod cli;
pub mod controller;
pub mod core;
pub mod engine;
pub mod manifest;
pub mod route53;
pub mod settings;
