//! The one owner of retries, rate limiting and call counting, around any port.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, Retryable};
use tracing::{debug, warn};

use super::limiter::RateLimiter;
use super::{Backoff, CallStats, ErrorKind, Operation, RateBudget, Result, Route53};
use crate::backoff::{Delays, Schedule};

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

    /// Each attempt waits for the rate limiter and is counted; retryable
    /// failures are retried on the backoff schedule.
    async fn call<T, F, Fut>(&self, op: Operation, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let attempts = AtomicU32::new(0);
        let attempt = || {
            // Futures are lazy: nothing is sent before the limiter lets it.
            let sent = request();
            async {
                attempts.fetch_add(1, Ordering::Relaxed);
                self.stats.waiting(op, true);
                let waited = self.limiter.acquire(op).await;
                self.stats.waiting(op, false);
                self.stats.record_wait(waited);
                let outcome = sent.await;
                let result = outcome.as_ref().map(|_| ()).map_err(|e| e.kind);
                self.stats.record(op, result);
                if let Some(observer) = &self.observer {
                    observer(op, result, waited);
                }
                outcome
            }
        };
        let retries = self.backoff.max_attempts.saturating_sub(1) as usize;
        let outcome = attempt
            .retry(Retries(self.backoff.schedule(), retries))
            .sleep(tokio::time::sleep)
            .when(|e| e.kind.is_retryable())
            .notify(|e, delay| {
                debug!(operation = %op, error = %e, ?delay, "retrying Route 53 request");
            })
            .await;
        if let Err(e) = &outcome
            && e.kind.is_retryable()
        {
            warn!(operation = %op, error = %e, attempts = attempts.load(Ordering::Relaxed), "Route 53 request failed after retries");
        }
        outcome
    }
}

/// At most `.1` retries on the schedule `.0`.
struct Retries(Schedule, usize);

impl BackoffBuilder for Retries {
    type Backoff = std::iter::Take<Delays>;

    fn build(self) -> Self::Backoff {
        self.0.delays().take(self.1)
    }
}

super::forward::forward_route53!(Resilient);
