//! Prometheus metrics. Labels come from fixed sets (operation names, error
//! categories, outcomes): never object names or error text, so the number of
//! series stays bounded however many FailoverRecords exist.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::route53::{ErrorKind, Operation};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HealthLabels {
    pub health: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SideLabels {
    pub to: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub errors: Family<CategoryLabels, Counter>,
    pub route53_requests: Family<RequestLabels, Counter>,
    pub rate_limit_wait: Counter<f64, std::sync::atomic::AtomicU64>,
    pub health_transitions: Family<HealthLabels, Counter>,
    pub failovers: Family<SideLabels, Counter>,
    pub records_managed: Gauge,
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            reconciles: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            errors: Family::default(),
            route53_requests: Family::default(),
            rate_limit_wait: Counter::default(),
            health_transitions: Family::default(),
            failovers: Family::default(),
            records_managed: Gauge::default(),
            leader: Gauge::default(),
            registry: Registry::with_prefix("dnsfailover"),
        };
        metrics.registry.register(
            "reconciles",
            "Reconciles of FailoverRecords by result",
            metrics.reconciles.clone(),
        );
        metrics.registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile takes",
            metrics.reconcile_duration.clone(),
        );
        metrics.registry.register(
            "reconcile_errors",
            "Failed reconciles by error category",
            metrics.errors.clone(),
        );
        metrics.registry.register(
            "route53_requests",
            "Route 53 requests by operation and outcome",
            metrics.route53_requests.clone(),
        );
        metrics.registry.register(
            "route53_rate_limit_wait_seconds",
            "Time Route 53 requests waited for the client-side rate limiter",
            metrics.rate_limit_wait.clone(),
        );
        metrics.registry.register(
            "health_transitions",
            "Changes of Route 53's view of an endpoint, by new health",
            metrics.health_transitions.clone(),
        );
        metrics.registry.register(
            "failovers",
            "Changes of the side DNS answers with",
            metrics.failovers.clone(),
        );
        metrics.registry.register(
            "records_managed",
            "FailoverRecords this replica manages",
            metrics.records_managed.clone(),
        );
        metrics.registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            metrics.leader.clone(),
        );
        metrics
    }
}

impl Metrics {
    /// Count a Route 53 request; hooked into the resilient port.
    pub fn route53_request(&self, op: Operation, result: Result<(), ErrorKind>, waited: Duration) {
        let outcome = match result {
            Ok(()) => "ok",
            Err(ErrorKind::Throttled) => "throttled",
            Err(_) => "error",
        };
        self.route53_requests
            .get_or_create(&RequestLabels {
                operation: op.as_str(),
                outcome,
            })
            .inc();
        self.rate_limit_wait.inc_by(waited.as_secs_f64());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A shared handle.
pub type SharedMetrics = Arc<Metrics>;
