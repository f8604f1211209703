//! Client-side rate limiting and retry policy for the shared Route 53 budget.
//!
//! Route 53 throttles per AWS account with token buckets: 10 requests/s (burst
//! 50) across all operations, plus tighter buckets for some operations
//! (CreateHealthCheck refills at 0.5/s, GetHealthCheckStatus at 1/s with a burst
//! of 4). Every other tool in the account draws from the same buckets, so this
//! process claims a configurable share and spaces its own requests to fit.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Operation;
use crate::backoff::{Jitter, Schedule};

/// Route 53's published account buckets: (burst, refill per second).
const ACCOUNT_BUCKET: (f64, f64) = (50.0, 10.0);

fn account_operation_bucket(op: Operation) -> Option<(f64, f64)> {
    match op {
        Operation::CreateHealthCheck => Some((50.0, 0.5)),
        Operation::DeleteHealthCheck => Some((15.0, 3.0)),
        Operation::GetHealthCheckStatus => Some((4.0, 1.0)),
        _ => None,
    }
}

/// How much of the account's Route 53 request budget this process may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateBudget {
    /// Sustained requests per second across all operations.
    pub requests_per_second: f64,
    /// Requests that may go out back to back after a quiet period.
    pub burst: f64,
}

impl Default for RateBudget {
    /// Half of the account's budget, leaving the rest to other tools.
    fn default() -> Self {
        Self {
            requests_per_second: 5.0,
            burst: 10.0,
        }
    }
}

impl RateBudget {
    /// The share of the account's budget this is; operation-specific buckets
    /// are scaled by the same share.
    fn share(&self) -> f64 {
        self.requests_per_second / ACCOUNT_BUCKET.1
    }
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    refill_per_second: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, refill_per_second: f64) -> Self {
        let capacity = capacity.max(1.0);
        Self {
            capacity,
            refill_per_second: refill_per_second.max(f64::MIN_POSITIVE),
            tokens: capacity,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill_per_second).min(self.capacity);
        self.last = now;
    }

    /// Take a token now, or say how long until one is available.
    fn try_take(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        // A refill computed in floating point can stop a hair short of a whole
        // token; without the tolerance and the floor, the wait would round to
        // zero and the caller would spin.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            None
        } else {
            let missing = 1.0 - self.tokens;
            Some(
                Duration::from_secs_f64(missing / self.refill_per_second)
                    .max(Duration::from_millis(1)),
            )
        }
    }
}

/// Token buckets for the whole process: one across operations, and one for
/// each operation Route 53 limits more tightly.
#[derive(Debug)]
pub struct RateLimiter {
    overall: Mutex<Bucket>,
    per_operation: HashMap<Operation, Mutex<Bucket>>,
}

impl RateLimiter {
    pub fn new(budget: RateBudget) -> Self {
        let share = budget.share();
        let per_operation = Operation::ALL
            .iter()
            .filter_map(|&op| {
                account_operation_bucket(op)
                    .map(|(burst, rate)| (op, Mutex::new(Bucket::new(burst * share, rate * share))))
            })
            .collect();
        Self {
            overall: Mutex::new(Bucket::new(budget.burst, budget.requests_per_second)),
            per_operation,
        }
    }

    /// Wait until `op` may be sent; returns how long that took.
    pub async fn acquire(&self, op: Operation) -> Duration {
        let started = Instant::now();
        if let Some(bucket) = self.per_operation.get(&op) {
            take(bucket).await;
        }
        take(&self.overall).await;
        started.elapsed()
    }
}

async fn take(bucket: &Mutex<Bucket>) {
    loop {
        let wait = bucket.lock().await.try_take(Instant::now());
        match wait {
            None => return,
            Some(wait) => tokio::time::sleep(wait).await,
        }
    }
}

/// Exponential backoff with full jitter between attempts of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay ceiling of the first retry.
    pub base: Duration,
    /// Largest delay between two attempts.
    pub cap: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The delays between attempts, full jitter: a random duration up to
    /// `min(cap, base * 2^retry)`.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            base: self.base,
            cap: self.cap,
            jitter: Jitter::Full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn overall_bucket_spaces_requests_after_the_burst() {
        let limiter = RateLimiter::new(RateBudget {
            requests_per_second: 2.0,
            burst: 3.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(Operation::ListHealthChecks).await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst goes out at once"
        );
        for _ in 0..4 {
            limiter.acquire(Operation::ListHealthChecks).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (1.99..2.1).contains(&elapsed),
            "4 more at 2/s take 2s, took {elapsed}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn create_health_check_has_its_own_tighter_bucket() {
        // A share of 1.0 gives CreateHealthCheck Route 53's own bucket: 50 then 0.5/s.
        let limiter = RateLimiter::new(RateBudget {
            requests_per_second: 10.0,
            burst: 1000.0,
        });
        let start = Instant::now();
        for _ in 0..52 {
            limiter.acquire(Operation::CreateHealthCheck).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (3.9..4.2).contains(&elapsed),
            "2 beyond the burst at 0.5/s take 4s, took {elapsed}"
        );
    }
}
