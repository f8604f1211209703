//! Route 53's view of health, read within a small share of a tiny budget.
//!
//! GetHealthCheckStatus allows 1 request per second (burst 4) for the whole AWS
//! account, and AWS calls it a development tool. So reconciles never call it:
//! one poller walks all known health checks in turn at a configured rate,
//! least recently read first, caches the result, and asks for a reconcile of
//! the FailoverRecord whose health changed. With N checks at rate r, each
//! check is read every N / r seconds; 1,000 checks never burst the budget.
//! Checks the DNS answer watch asks for (their record's answer changed) are
//! read first, in the same slots, so the rate stays what it is.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, warn};

use super::leader::Gate;
use crate::api::FailoverRecord;
use crate::core::health::{self, HealthSummary};
use crate::route53::{ErrorKind, HealthCheck, HealthCheckConfig, Route53};

struct Watched {
    owner: ObjectRef<FailoverRecord>,
    config: HealthCheckConfig,
    last_read: Option<Instant>,
}

#[derive(Default)]
struct State {
    watched: BTreeMap<String, Watched>,
    results: HashMap<String, HealthSummary>,
    /// A watched check was found deleted since the last `take_vanished`.
    vanished: bool,
    /// Checks to read before the round-robin goes on.
    soon: VecDeque<String>,
}

/// The cache of health read-outs, and the checks to read.
pub struct HealthMonitor {
    interval: Duration,
    state: Mutex<State>,
}

impl HealthMonitor {
    /// Read one health check every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The checks `owner` uses now; others it used before are forgotten.
    pub fn watch(&self, owner: &ObjectRef<FailoverRecord>, checks: &[&HealthCheck]) {
        let mut state = self.lock();
        let stale: Vec<String> = state
            .watched
            .iter()
            .filter(|(id, w)| &w.owner == owner && !checks.iter().any(|c| &c.id == *id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            state.watched.remove(&id);
            state.results.remove(&id);
        }
        for check in checks {
            let entry = state
                .watched
                .entry(check.id.clone())
                .or_insert_with(|| Watched {
                    owner: owner.clone(),
                    config: check.config.clone(),
                    last_read: None,
                });
            entry.config = check.config.clone();
        }
    }

    /// Stop reading `owner`'s checks (it is being deleted).
    pub fn forget(&self, owner: &ObjectRef<FailoverRecord>) {
        self.watch(owner, &[]);
    }

    /// The last read-out of a check, if it was read yet.
    pub fn health(&self, check_id: &str) -> Option<HealthSummary> {
        self.lock().results.get(check_id).cloned()
    }

    /// Whether a watched check was found deleted (outside dnsfailover) since
    /// the last call; the cached list of checks is then out of date.
    pub fn take_vanished(&self) -> bool {
        std::mem::take(&mut self.lock().vanished)
    }

    pub fn watched(&self) -> usize {
        self.lock().watched.len()
    }

    /// Read these checks next, ahead of the round-robin.
    pub fn read_soon(&self, checks: &[String]) {
        let mut state = self.lock();
        for id in checks {
            if state.watched.contains_key(id) && !state.soon.contains(id) {
                state.soon.push_back(id.clone());
            }
        }
    }

    /// Read a check asked for by [`Self::read_soon`], else the one read least
    /// recently (never-read first). Returns the owner to reconcile if its
    /// health changed.
    pub async fn poll_once<R: Route53>(&self, r53: &R) -> Option<ObjectRef<FailoverRecord>> {
        let (id, config) = {
            let mut state = self.lock();
            let mut next = None;
            while let Some(id) = state.soon.pop_front() {
                if let Some(watched) = state.watched.get(&id) {
                    next = Some((id, watched.config.clone()));
                    break;
                }
            }
            match next {
                Some(next) => next,
                None => {
                    let (id, watched) = state.watched.iter().min_by_key(|(_, w)| w.last_read)?;
                    (id.clone(), watched.config.clone())
                }
            }
        };
        let result = r53.get_health_check_status(&id).await;
        let mut state = self.lock();
        let watched = state.watched.get_mut(&id)?;
        watched.last_read = Some(Instant::now());
        let owner = watched.owner.clone();
        match result {
            Ok(observations) => {
                let summary = health::summarize(&observations, &config);
                let changed = state.results.get(&id).map(|s| s.health) != Some(summary.health);
                state.results.insert(id.clone(), summary);
                changed.then_some(owner)
            }
            Err(e) if e.kind == ErrorKind::NotFound => {
                debug!(check = %id, "health check is gone; its FailoverRecord will recreate it");
                state.results.remove(&id);
                // Read it no more: the reconcile watches its replacement.
                state.watched.remove(&id);
                state.vanished = true;
                Some(owner)
            }
            Err(e) => {
                warn!(check = %id, error = %e, "cannot read health");
                None
            }
        }
    }

    /// Poll forever while this replica leads, asking for reconciles on change.
    pub async fn run<R: Route53>(
        &self,
        r53: &R,
        mut gate: Gate,
        changed: mpsc::Sender<ObjectRef<FailoverRecord>>,
    ) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if !gate.is_open() {
                gate.opened().await;
                continue;
            }
            if let Some(owner) = self.poll_once(r53).await
                && changed.send(owner).await.is_err()
            {
                return;
            }
        }
    }
}
