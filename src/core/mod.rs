//! The pure core: no I/O, no clock, no randomness. Everything here is a
//! function of its arguments, so it is tested with plain table tests.
//!
//! - [`validate`]: a FailoverRecord spec → [`desired`] state, or every problem;
//! - [`ownership`]: who owns a record set or a health check, and how that is
//!   written into Route 53 (markers, caller references, tags);
//! - [`plan`]: desired × observed → the ordered changes;
//! - [`health`]: Route 53's health read-outs → which side DNS answers with;
//! - [`answer`]: a DNS answer → the side it stands for;
//! - [`failback`]: when the failback latch holds, and when it lets go;
//! - [`report`]: what a reconcile found → `.status` and its conditions;
//! - [`import`]: existing Route 53 objects → the spec that describes them;
//! - [`cost`]: what health checks cost a month, from the published prices;
//! - [`gc`]: this owner's health checks that nothing uses any more.

pub mod answer;
pub mod cost;
pub mod desired;
pub mod failback;
pub mod gc;
pub mod health;
pub mod import;
pub mod ownership;
pub mod plan;
pub mod report;
pub mod validate;
