//! The one backoff schedule, built on `backon`'s exponential backoff: the
//! retries of one Route 53 request, the requeues of a FailoverRecord whose
//! reconciles keep failing, and the polling of a change until it is INSYNC
//! all draw their delays from [`Schedule`].
//!
//! Jitter matters here because many clients (every reconcile of a throttled
//! account, every replica) fail at the same moment: without it they would
//! come back in step and be throttled again together.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use parking_lot::Mutex;

/// How a delay is spread below its ceiling `min(cap, base * 2^n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the ceiling: for polling, where nobody competes.
    None,
    /// Anywhere up to the ceiling ("full jitter"): the widest spread, for
    /// requests retried by many clients at once.
    Full,
    /// Between half the ceiling and the ceiling: spread, yet a retry never
    /// comes much sooner than the schedule says (per-object requeues).
    Half,
}

/// Delays doubling from `base` up to `cap`, with `jitter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub base: Duration,
    pub cap: Duration,
    pub jitter: Jitter,
}

/// The delays of a [`Schedule`], endless; `backon` takes it as a backoff.
pub type Delays = Box<dyn Iterator<Item = Duration> + Send + Sync + Unpin>;

impl Schedule {
    /// The delay before each retry, the first retry first. Endless: the caller
    /// bounds attempts (`take`) or total time.
    pub fn delays(&self) -> Delays {
        let ceilings = ExponentialBuilder::default()
            .with_factor(2.0)
            .with_min_delay(self.base)
            .with_max_delay(self.cap)
            .without_max_times()
            .build();
        match self.jitter {
            Jitter::None => Box::new(ceilings),
            Jitter::Full => Box::new(ceilings.map(|c| c.mul_f64(fastrand::f64()))),
            Jitter::Half => Box::new(ceilings.map(|c| c / 2 + (c / 2).mul_f64(fastrand::f64()))),
        }
    }
}

impl BackoffBuilder for Schedule {
    type Backoff = Delays;

    fn build(self) -> Delays {
        self.delays()
    }
}

/// A schedule's delays that start over on [`Restarting::reset`]: for a
/// stream that backs off while it fails and is fine again after one success.
pub struct Restarting {
    schedule: Schedule,
    delays: Delays,
}

impl Restarting {
    pub fn new(schedule: Schedule) -> Self {
        Self {
            delays: schedule.delays(),
            schedule,
        }
    }

    pub fn reset(&mut self) {
        self.delays = self.schedule.delays();
    }
}

impl Iterator for Restarting {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.delays.next()
    }
}

/// Per-key consecutive failures, each key with its own place in the
/// schedule: a FailoverRecord that keeps failing waits longer each time,
/// one that succeeds starts over, and the others are not affected.
pub struct Backoffs<K> {
    schedule: Schedule,
    running: Mutex<HashMap<K, Delays>>,
}

impl<K: Eq + Hash + Clone> Backoffs<K> {
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Record a failure of `key` and return how long to wait before retrying.
    pub fn failed(&self, key: &K) -> Duration {
        self.running
            .lock()
            .entry(key.clone())
            .or_insert_with(|| self.schedule.delays())
            .next()
            // The schedule is endless; the cap stands in should that change.
            .unwrap_or(self.schedule.cap)
    }

    /// A success: the next failure starts from the base delay again.
    pub fn succeeded(&self, key: &K) {
        self.running.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceiling(base: Duration, cap: Duration, n: u32) -> Duration {
        base.saturating_mul(2u32.saturating_pow(n)).min(cap)
    }

    #[test]
    fn a_restarting_schedule_starts_over_after_a_reset() {
        let mut delays = Restarting::new(Schedule {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(5),
            jitter: Jitter::None,
        });
        let first: Vec<u64> = delays.by_ref().take(4).map(|d| d.as_secs()).collect();
        assert_eq!(first, vec![1, 2, 4, 5]);
        delays.reset();
        assert_eq!(delays.next(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn without_jitter_delays_double_up_to_the_cap() {
        let schedule = Schedule {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15),
            jitter: Jitter::None,
        };
        let delays: Vec<u64> = schedule.delays().take(5).map(|d| d.as_secs()).collect();
        assert_eq!(delays, vec![2, 4, 8, 15, 15]);
    }

    #[test]
    fn full_jitter_grows_and_stays_under_the_cap() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
        let schedule = Schedule {
            base,
            cap,
            jitter: Jitter::Full,
        };
        for _ in 0..50 {
            for (n, delay) in schedule.delays().take(20).enumerate() {
                assert!(
                    delay <= ceiling(base, cap, n as u32),
                    "retry {n}: {delay:?}"
                );
            }
        }
        let nth = |n: usize| -> Duration {
            (0..200)
                .map(|_| schedule.delays().nth(n).unwrap_or_default())
                .sum()
        };
        assert!(nth(8) > nth(0) * 4, "later retries wait longer on average");
    }

    #[test]
    fn per_key_delays_grow_up_to_the_cap_and_reset_on_success() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(60));
        let backoffs = Backoffs::new(Schedule {
            base,
            cap,
            jitter: Jitter::Half,
        });
        let mut previous_floor = Duration::ZERO;
        for n in 0..10 {
            let delay = backoffs.failed(&"a");
            let ceiling = ceiling(base, cap, n);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "failure {n}: {delay:?}"
            );
            assert!(ceiling / 2 >= previous_floor, "the floor never shrinks");
            previous_floor = ceiling / 2;
        }
        assert!(backoffs.failed(&"b") <= base, "per key");
        backoffs.succeeded(&"a");
        assert!(backoffs.failed(&"a") <= base);
    }
}
