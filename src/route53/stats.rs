//! Counts of Route 53 requests per operation: the scarce resource, measured.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;

use super::{ErrorKind, Operation};

/// Requests of one operation and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Requests Route 53 throttled.
    pub throttled: u64,
    /// Requests that failed for another reason.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Inner {
    operations: BTreeMap<Operation, OperationStats>,
    rate_limit_wait: Duration,
    /// Requests waiting for the rate limiter right now, by operation.
    waiting: BTreeMap<Operation, usize>,
}

/// Shared, cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CallStats {
    inner: Arc<Mutex<Inner>>,
}

impl CallStats {
    pub fn record(&self, op: Operation, outcome: Result<(), ErrorKind>) {
        let mut inner = self.lock();
        let stats = inner.operations.entry(op).or_default();
        stats.requests += 1;
        match outcome {
            Ok(()) => {}
            Err(ErrorKind::Throttled) => stats.throttled += 1,
            Err(_) => stats.failed += 1,
        }
    }

    pub fn record_wait(&self, wait: Duration) {
        self.lock().rate_limit_wait += wait;
    }

    /// A request of `op` starts (`true`) or stops (`false`) waiting for the
    /// rate limiter; for progress reports.
    pub fn waiting(&self, op: Operation, waiting: bool) {
        let mut inner = self.lock();
        let count = inner.waiting.entry(op).or_default();
        if waiting {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
        }
    }

    /// The operations with requests waiting for the rate limiter now.
    pub fn waiting_now(&self) -> Vec<Operation> {
        self.lock()
            .waiting
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(op, _)| *op)
            .collect()
    }

    /// Requests of `op` that succeeded.
    pub fn succeeded(&self, op: Operation) -> u64 {
        self.lock()
            .operations
            .get(&op)
            .map_or(0, |s| s.requests - s.throttled - s.failed)
    }

    pub fn snapshot(&self) -> BTreeMap<Operation, OperationStats> {
        self.lock().operations.clone()
    }

    pub fn rate_limit_wait(&self) -> Duration {
        self.lock().rate_limit_wait
    }

    pub fn total_requests(&self) -> u64 {
        self.lock().operations.values().map(|s| s.requests).sum()
    }

    pub fn write_requests(&self) -> u64 {
        self.lock()
            .operations
            .iter()
            .filter(|(op, _)| op.is_write())
            .map(|(_, s)| s.requests)
            .sum()
    }

    pub fn requests(&self, op: Operation) -> u64 {
        self.lock().operations.get(&op).map_or(0, |s| s.requests)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }
}
