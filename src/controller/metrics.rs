//! Prometheus metrics. Labels come from fixed sets (operation names, error
//! categories, outcomes, sides, health), plus `namespace` and `name` on the
//! per-FailoverRecord series, whose number is bounded by the FailoverRecords
//! there are (their series go when they do): never error text.
//!
//! The per-FailoverRecord series are exported by the replica that leads
//! (the others drop theirs when they lose the lease), so alerts on them
//! never see two replicas disagree.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::{ActiveSide, FailoverRecordStatus, Health};
use crate::core::report::{self, ConditionStatus};
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
pub struct FailoverLabels {
    pub namespace: String,
    pub name: String,
    /// `secondary` (a failover) or `primary` (a failback).
    pub to: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecordLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActiveLabels {
    pub namespace: String,
    pub name: String,
    /// `primary`, `secondary` or `unknown`.
    pub side: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub namespace: String,
    pub name: String,
    /// `primary` or `secondary`.
    pub side: &'static str,
    /// `healthy`, `unhealthy` or `unknown`.
    pub health: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DnsQueryLabels {
    /// `answered`, `no_records` or `failed`.
    pub result: &'static str,
}

const SIDES: [(ActiveSide, &str); 3] = [
    (ActiveSide::Primary, "primary"),
    (ActiveSide::Secondary, "secondary"),
    (ActiveSide::Unknown, "unknown"),
];
const HEALTHS: [(Health, &str); 3] = [
    (Health::Healthy, "healthy"),
    (Health::Unhealthy, "unhealthy"),
    (Health::Unknown, "unknown"),
];

pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub errors: Family<CategoryLabels, Counter>,
    pub route53_requests: Family<RequestLabels, Counter>,
    pub rate_limit_wait: Counter<f64, std::sync::atomic::AtomicU64>,
    pub health_transitions: Family<HealthLabels, Counter>,
    pub failovers: Family<FailoverLabels, Counter>,
    pub records_managed: Gauge,
    pub leader: Gauge,
    pub active_side: Family<ActiveLabels, Gauge>,
    pub endpoint_health: Family<EndpointLabels, Gauge>,
    pub ready: Family<RecordLabels, Gauge>,
    pub dns_queries: Family<DnsQueryLabels, Counter>,
    pub dns_watched: Gauge,
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
            active_side: Family::default(),
            endpoint_health: Family::default(),
            ready: Family::default(),
            dns_queries: Family::default(),
            dns_watched: Gauge::default(),
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
            "Changes of the side DNS answers with, per FailoverRecord: to=secondary is a failover, to=primary a failback",
            metrics.failovers.clone(),
        );
        metrics.registry.register(
            "record_active_side",
            "1 for the side DNS answers with (primary, secondary or unknown), per FailoverRecord",
            metrics.active_side.clone(),
        );
        metrics.registry.register(
            "record_endpoint_health",
            "1 for Route 53's current view (healthy, unhealthy, unknown) of each side with a health check, per FailoverRecord",
            metrics.endpoint_health.clone(),
        );
        metrics.registry.register(
            "record_ready",
            "1 while the FailoverRecord's Ready condition is True",
            metrics.ready.clone(),
        );
        metrics.registry.register(
            "dns_queries",
            "DNS queries of the answer watch, by result",
            metrics.dns_queries.clone(),
        );
        metrics.registry.register(
            "dns_watched_records",
            "Records the DNS answer watch queries each period",
            metrics.dns_watched.clone(),
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

    /// A failover (`to` secondary) or failback (`to` primary) of one record.
    pub fn failed_over(&self, namespace: &str, name: &str, to: ActiveSide) {
        let to = match to {
            ActiveSide::Primary => "primary",
            ActiveSide::Secondary => "secondary",
            ActiveSide::Unknown => return,
        };
        self.failovers
            .get_or_create(&FailoverLabels {
                namespace: namespace.to_string(),
                name: name.to_string(),
                to,
            })
            .inc();
    }

    /// Set one FailoverRecord's gauges from its status.
    pub fn record_status(&self, namespace: &str, name: &str, status: &FailoverRecordStatus) {
        let record = || RecordLabels {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        for (side, label) in SIDES {
            let labels = ActiveLabels {
                namespace: namespace.to_string(),
                name: name.to_string(),
                side: label,
            };
            match status.active {
                Some(active) => {
                    self.active_side
                        .get_or_create(&labels)
                        .set(i64::from(active == side));
                }
                None => {
                    self.active_side.remove(&labels);
                }
            }
        }
        for (side, target) in [
            ("primary", status.primary.as_ref()),
            ("secondary", status.secondary.as_ref()),
        ] {
            let current = target.and_then(|t| t.health);
            for (health, label) in HEALTHS {
                let labels = EndpointLabels {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    side,
                    health: label,
                };
                match current {
                    Some(current) => {
                        self.endpoint_health
                            .get_or_create(&labels)
                            .set(i64::from(current == health));
                    }
                    None => {
                        self.endpoint_health.remove(&labels);
                    }
                }
            }
        }
        let ready = report::ready(Some(status))
            .is_some_and(|c| ConditionStatus::of(c) == ConditionStatus::True);
        self.ready.get_or_create(&record()).set(i64::from(ready));
    }

    /// Drop one FailoverRecord's gauges (it is gone).
    pub fn forget_record(&self, namespace: &str, name: &str) {
        self.record_status(namespace, name, &FailoverRecordStatus::default());
        self.ready.remove(&RecordLabels {
            namespace: namespace.to_string(),
            name: name.to_string(),
        });
    }

    /// Drop every FailoverRecord's gauges: this replica no longer leads, and
    /// the leader's are the ones that count.
    pub fn forget_records(&self) {
        self.active_side.clear();
        self.endpoint_health.clear();
        self.ready.clear();
    }

    pub fn dns_query(&self, result: &'static str) {
        self.dns_queries
            .get_or_create(&DnsQueryLabels { result })
            .inc();
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
