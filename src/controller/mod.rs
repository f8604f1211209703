//! The Kubernetes controller: thin wiring around the shared engine.
//!
//! A reconcile enters at [`entry`] (leader check, finalizer, error policy),
//! plans with [`apply::plan_for`] and executes through the engine's executor
//! with the controller's [`effects`] (batch writer, cache upkeep, INSYNC
//! asked once); [`cleanup`] runs while the finalizer holds a deleted object.
//! [`events`] chooses what to announce, [`patch`] writes `.status`, and
//! [`targets`] turns `serviceRef`/`ingressRef`/`gatewayRef` into addresses or aliases.
//! Around them: the shared [`cache`] of Route 53, the [`writer`] that shares
//! change batches, the health [`poller`], the DNS answer watch
//! ([`dnswatch`]), the lease gate ([`leader`]),
//! [`metrics`], [`http`] probes, all wired by [`run`].

mod apply;
pub mod cache;
mod cleanup;
mod context;
pub mod dnswatch;
mod effects;
mod entry;
pub mod events;
pub mod http;
pub mod leader;
pub mod metrics;
mod patch;
pub mod poller;
pub mod run;
pub mod targets;
pub mod writer;

pub use context::{Context, ContextBuilder, Readiness, Settings};
pub use entry::{Error, FINALIZER, error_policy, reconcile};
pub use patch::FIELD_MANAGER;
