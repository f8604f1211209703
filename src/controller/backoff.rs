//! Per-object exponential backoff with jitter for failed reconciles.
//!
//! kube-runtime leaves retry timing to the error policy; a flat requeue would
//! hammer Route 53 when it throttles, in step across every object. Each object
//! here waits longer after each consecutive failure, with jitter so that many
//! objects failing together spread out, and starts over after a success.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use crate::sync::lock;

pub struct Backoffs<K> {
    base: Duration,
    cap: Duration,
    failures: Mutex<HashMap<K, u32>>,
}

impl<K: Eq + Hash + Clone> Backoffs<K> {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Record a failure of `key` and return how long to wait before retrying:
    /// between half and all of `min(cap, base * 2^failures)`.
    pub fn failed(&self, key: &K) -> Duration {
        let mut failures = lock(&self.failures);
        let count = failures.entry(key.clone()).or_insert(0);
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow((*count).min(20)))
            .min(self.cap);
        *count = count.saturating_add(1);
        ceiling / 2 + (ceiling / 2).mul_f64(fastrand::f64())
    }

    /// A success: the next failure starts from the base delay again.
    pub fn succeeded(&self, key: &K) {
        lock(&self.failures).remove(key);
    }

    pub fn failures(&self, key: &K) -> u32 {
        lock(&self.failures).get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_up_to_the_cap_and_reset_on_success() {
        let backoffs = Backoffs::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut previous_floor = Duration::ZERO;
        for n in 0..10 {
            let delay = backoffs.failed(&"a");
            let ceiling = Duration::from_secs(1 << n).min(Duration::from_secs(60));
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "failure {n}: {delay:?}"
            );
            assert!(ceiling / 2 >= previous_floor, "the floor never shrinks");
            previous_floor = ceiling / 2;
        }
        assert_eq!(backoffs.failures(&"a"), 10);
        assert_eq!(backoffs.failures(&"b"), 0, "per object");
        backoffs.succeeded(&"a");
        assert!(backoffs.failed(&"a") <= Duration::from_secs(1));
    }
}
