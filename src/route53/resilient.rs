//! The one owner of retries, rate limiting and call counting, around any port.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use super::limiter::RateLimiter;
use super::{
    Backoff, CallStats, Change, ChangeInfo, ErrorKind, HealthCheck, HealthCheckConfig,
    HealthCheckUpdate, HealthObservation, Operation, Page, RateBudget, RecordCursor, RecordSet,
    Result, Route53, Tags, Zone,
};

/// Wraps a [`Route53`] implementation: every request waits for the shared rate
/// limiter, is counted, and is retried with exponential backoff and jitter when
/// Route 53 throttles, times out, or answers 5xx.
///
/// Retrying is safe for every operation used here: CreateHealthCheck is
/// idempotent through its caller reference, deletes treat "not found" as done,
/// and a change batch or update that did apply before a timeout fails its retry
/// cleanly (the records or the version no longer match), after which the next
/// reconcile re-reads Route 53 and converges.
#[derive(Clone)]
pub struct Resilient<R> {
    inner: R,
    limiter: Arc<RateLimiter>,
    backoff: Backoff,
    stats: CallStats,
    observer: Option<Observer>,
}

/// Told of every request: its operation, how it ended, and how long it waited
/// for the rate limiter. Used for metrics.
pub type Observer = Arc<dyn Fn(Operation, Result<(), ErrorKind>, Duration) + Send + Sync>;

impl<R: Route53> Resilient<R> {
    pub fn new(inner: R, budget: RateBudget, backoff: Backoff) -> Self {
        Self {
            inner,
            limiter: Arc::new(RateLimiter::new(budget)),
            backoff,
            stats: CallStats::default(),
            observer: None,
        }
    }

    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    pub fn inner(&self) -> &R {
        &self.inner
    }

    async fn call<T, F, Fut>(&self, op: Operation, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            let waited = self.limiter.acquire(op).await;
            self.stats.record_wait(waited);
            let outcome = request().await;
            let result = outcome.as_ref().map(|_| ()).map_err(|e| e.kind);
            self.stats.record(op, result);
            if let Some(observer) = &self.observer {
                observer(op, result, waited);
            }
            match outcome {
                Ok(value) => return Ok(value),
                Err(err) if err.kind.is_retryable() && retry + 1 < self.backoff.max_attempts => {
                    let delay = self.backoff.delay(retry);
                    debug!(operation = %op, error = %err, retry, ?delay, "retrying Route 53 request");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(err) => {
                    if err.kind.is_retryable() {
                        warn!(operation = %op, error = %err, attempts = retry + 1, "Route 53 request failed after retries");
                    }
                    return Err(err);
                }
            }
        }
    }
}

impl<R: Route53> Route53 for Resilient<R> {
    async fn get_hosted_zone(&self, id: &str) -> Result<Zone> {
        self.call(Operation::GetHostedZone, || self.inner.get_hosted_zone(id))
            .await
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        self.call(Operation::ListHostedZonesByName, || {
            self.inner.list_hosted_zones_by_name(name)
        })
        .await
    }

    async fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> Result<Page<RecordSet, RecordCursor>> {
        self.call(Operation::ListResourceRecordSets, || {
            self.inner.list_record_sets_page(zone_id, start)
        })
        .await
    }

    async fn change_record_sets(&self, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
        self.call(Operation::ChangeResourceRecordSets, || {
            self.inner.change_record_sets(zone_id, changes)
        })
        .await
    }

    async fn get_change(&self, id: &str) -> Result<ChangeInfo> {
        self.call(Operation::GetChange, || self.inner.get_change(id))
            .await
    }

    async fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> Result<Page<HealthCheck, String>> {
        self.call(Operation::ListHealthChecks, || {
            self.inner.list_health_checks_page(marker)
        })
        .await
    }

    async fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> Result<HealthCheck> {
        self.call(Operation::CreateHealthCheck, || {
            self.inner.create_health_check(caller_reference, config)
        })
        .await
    }

    async fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> Result<HealthCheck> {
        self.call(Operation::UpdateHealthCheck, || {
            self.inner.update_health_check(id, update)
        })
        .await
    }

    async fn delete_health_check(&self, id: &str) -> Result<()> {
        self.call(Operation::DeleteHealthCheck, || {
            self.inner.delete_health_check(id)
        })
        .await
    }

    async fn get_health_check_status(&self, id: &str) -> Result<Vec<HealthObservation>> {
        self.call(Operation::GetHealthCheckStatus, || {
            self.inner.get_health_check_status(id)
        })
        .await
    }

    async fn list_health_check_tags(&self, ids: &[String]) -> Result<BTreeMap<String, Tags>> {
        self.call(Operation::ListTagsForResources, || {
            self.inner.list_health_check_tags(ids)
        })
        .await
    }

    async fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> Result<()> {
        self.call(Operation::ChangeTagsForResource, || {
            self.inner.change_health_check_tags(id, add, remove)
        })
        .await
    }
}
