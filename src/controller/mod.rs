//! The Kubernetes controller: thin wiring around the reconcile core.

pub mod backoff;
pub mod cache;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod reconciler;
pub mod run;
pub mod targets;
pub mod writer;
