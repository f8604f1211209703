//! An in-memory Route 53 that follows the real service's rules, for tests,
//! benchmarks and fault injection.
//!
//! Rules kept (each one covered by the contract suite in `tests/contract.rs`):
//! CallerReference idempotency (same reference and settings return the existing
//! check; different settings, or a deleted check's reference, fail with
//! HealthCheckAlreadyExists); HealthCheckInUse while a record refers to a check
//! (stricter than today's Route 53, which deletes it anyway: the fake makes a
//! planner that deleted a check in use fail loudly);
//! CREATE of an existing record set fails; DELETE must match the record exactly;
//! batches are atomic and limited to 1,000 values and 32,000 characters with
//! UPSERT counted twice; at most one PRIMARY and one SECONDARY per name and
//! type; a non-alias PRIMARY needs a health check; a CNAME shares its name with
//! nothing; changes start PENDING and become INSYNC.

mod changes;
mod port;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use super::{
    ErrorKind, HealthCheck, HealthObservation, Operation, RecordKey, RecordSet, Result,
    Route53Error, RrType, Tags, Zone,
};
use crate::route53::{HEALTH_CHECK_REGIONS, names};

/// Record sets per ListResourceRecordSets page, as Route 53.
pub const RECORD_PAGE_SIZE: usize = 300;
/// Health checks per ListHealthChecks page: the most Route 53 allows, as the
/// AWS adapter asks for.
pub const HEALTH_CHECK_PAGE_SIZE: usize = 1000;
/// Health checkers reporting on each check.
pub const CHECKERS: u32 = 16;
/// Route 53's limits on one change batch, written out here rather than taken
/// from the planner's packing, so that a planner that counts wrong meets a
/// refusal, as it would in Route 53.
pub const MAX_BATCH_VALUES: usize = 1000;
pub const MAX_BATCH_CHARS: usize = 32_000;

/// What an injected fault does to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The call fails before Route 53 does anything.
    Fail(ErrorKind),
    /// Route 53 does the work but the answer is lost: the caller sees an error.
    FailAfterApply(ErrorKind),
    /// The calling task panics before Route 53 does anything, standing in for
    /// a bug anywhere on the way (the controller must not wedge on it).
    Panic,
}

#[derive(Clone, Debug)]
struct FaultRule {
    operation: Option<Operation>,
    fault: Fault,
    remaining: Option<u32>,
}

/// Stop answering once a given call has been applied, as if the process
/// making the calls were killed right after it.
#[derive(Clone, Copy, Debug)]
struct AbortPoint {
    operation: Option<Operation>,
    remaining: u32,
}

#[derive(Debug)]
struct FakeZone {
    zone: Zone,
    records: BTreeMap<SortKey, RecordSet>,
}

/// Route 53 lists record sets by name with labels reversed, then type.
type SortKey = (Vec<String>, String, Option<String>);

pub(super) fn sort_key(key: &RecordKey) -> SortKey {
    let labels = key
        .name
        .trim_end_matches('.')
        .split('.')
        .rev()
        .map(str::to_string)
        .collect();
    (
        labels,
        key.rr_type.as_str().to_string(),
        key.set_identifier.clone(),
    )
}

#[derive(Debug)]
pub(super) struct State {
    zones: BTreeMap<String, FakeZone>,
    checks: BTreeMap<String, HealthCheck>,
    deleted_references: HashSet<String>,
    tags: BTreeMap<String, Tags>,
    health: BTreeMap<String, Vec<HealthObservation>>,
    /// Change id → GetChange calls still answered PENDING.
    changes: BTreeMap<String, u32>,
    next_id: u64,
    faults: Vec<FaultRule>,
    abort: Option<AbortPoint>,
    aborted: bool,
    throttle_probability: f64,
    chaos_probability: f64,
    rng: fastrand::Rng,
    calls: Vec<Operation>,
    max_health_checks: usize,
    polls_until_insync: u32,
}

/// The in-memory Route 53. Clones share state, so a test can keep one handle
/// while the code under test uses another.
#[derive(Clone, Debug)]
pub struct FakeRoute53 {
    state: Arc<Mutex<State>>,
}

impl Default for FakeRoute53 {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRoute53 {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                zones: BTreeMap::new(),
                checks: BTreeMap::new(),
                deleted_references: HashSet::new(),
                tags: BTreeMap::new(),
                health: BTreeMap::new(),
                changes: BTreeMap::new(),
                next_id: 1,
                faults: Vec::new(),
                abort: None,
                aborted: false,
                throttle_probability: 0.0,
                chaos_probability: 0.0,
                rng: fastrand::Rng::with_seed(7),
                calls: Vec::new(),
                max_health_checks: 200,
                polls_until_insync: 1,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    // ----- Test controls (not part of the port) -----

    /// Create a hosted zone; returns it.
    /// Another AWS account: ids (of zones, checks, changes) from `first`
    /// on, as Route 53's ids are unique across accounts.
    pub fn account(first: u64) -> Self {
        let fake = Self::new();
        fake.lock().next_id = first;
        fake
    }

    pub fn create_zone(&self, name: &str, private: bool) -> Zone {
        let mut state = self.lock();
        let id = format!("Z{:08}FAKE", state.next_id);
        state.next_id += 1;
        let zone = Zone {
            id: id.clone(),
            name: names::normalize(name),
            private,
            name_servers: Vec::new(),
        };
        state.zones.insert(
            id,
            FakeZone {
                zone: zone.clone(),
                records: BTreeMap::new(),
            },
        );
        zone
    }

    /// The name servers GetHostedZone reports for a zone (Route 53 assigns
    /// four; tests point them at a DNS server of their own).
    pub fn set_name_servers(&self, zone_id: &str, name_servers: Vec<String>) {
        if let Some(zone) = self.lock().zones.get_mut(zone_id) {
            zone.zone.name_servers = name_servers;
        }
    }

    /// What the checkers report for a check now, without counting a call
    /// (for a test DNS server that answers the way Route 53's name servers do).
    pub fn observations(&self, check_id: &str) -> Vec<HealthObservation> {
        self.lock()
            .health
            .get(check_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Put a record set in place directly, as another tool or a person would.
    pub fn put_record(&self, zone_id: &str, record: RecordSet) {
        let mut state = self.lock();
        if let Some(zone) = state.zones.get_mut(zone_id) {
            zone.records.insert(sort_key(&record.key()), record);
        }
    }

    /// Remove a record set directly, bypassing all rules.
    pub fn remove_record(&self, zone_id: &str, key: &RecordKey) -> Option<RecordSet> {
        let mut state = self.lock();
        state.zones.get_mut(zone_id)?.records.remove(&sort_key(key))
    }

    /// The record sets at one name and type in any zone, without counting
    /// a call (a test DNS server answers thousands of these a second).
    pub fn records_at(&self, name: &str, rr_type: &RrType) -> Vec<RecordSet> {
        let start = sort_key(&RecordKey {
            name: name.to_string(),
            rr_type: rr_type.clone(),
            set_identifier: None,
        });
        let state = self.lock();
        state
            .zones
            .values()
            .flat_map(|zone| {
                zone.records
                    .range(start.clone()..)
                    .take_while(|((labels, kind, _), _)| *labels == start.0 && *kind == start.1)
                    .map(|(_, record)| record.clone())
            })
            .collect()
    }

    /// One health check, without counting a call.
    pub fn health_check(&self, id: &str) -> Option<HealthCheck> {
        self.lock().checks.get(id).cloned()
    }

    pub fn zone_ids(&self) -> Vec<String> {
        self.lock().zones.keys().cloned().collect()
    }

    pub fn records(&self, zone_id: &str) -> Vec<RecordSet> {
        self.lock()
            .zones
            .get(zone_id)
            .map(|z| z.records.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn health_checks(&self) -> Vec<HealthCheck> {
        self.lock().checks.values().cloned().collect()
    }

    pub fn tags_of(&self, id: &str) -> Option<Tags> {
        self.lock().tags.get(id).cloned()
    }

    /// Remove a health check directly, as someone in the console would.
    pub fn remove_health_check(&self, id: &str) {
        let mut state = self.lock();
        if let Some(check) = state.checks.remove(id) {
            state.deleted_references.insert(check.caller_reference);
        }
    }

    /// Set how many checkers report the endpoint healthy.
    pub fn set_health(&self, check_id: &str, healthy: u32, total: u32) {
        let observations = observations(healthy, total);
        self.lock()
            .health
            .insert(check_id.to_string(), observations);
    }

    /// Every call received, in order, faulted ones included.
    pub fn calls(&self) -> Vec<Operation> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Calls received that change something in Route 53.
    pub fn write_calls(&self) -> usize {
        self.lock().calls.iter().filter(|op| op.is_write()).count()
    }

    /// The write calls made so far, in order.
    pub fn writes(&self) -> Vec<Operation> {
        self.lock()
            .calls
            .iter()
            .copied()
            .filter(|op| op.is_write())
            .collect()
    }

    /// The next `count` calls of `operation` (any operation if `None`) get `fault`.
    pub fn inject(&self, operation: Option<Operation>, fault: Fault, count: u32) {
        self.lock().faults.push(FaultRule {
            operation,
            fault,
            remaining: Some(count),
        });
    }

    /// Every call of `operation` gets `fault` until [`Self::clear_faults`].
    pub fn inject_always(&self, operation: Option<Operation>, fault: Fault) {
        self.lock().faults.push(FaultRule {
            operation,
            fault,
            remaining: None,
        });
    }

    /// After the `nth` (1-based) call of `operation` (of any call if `None`)
    /// has been applied, fail every call with [`ErrorKind::Aborted`].
    pub fn abort_after(&self, operation: Option<Operation>, nth: u32) {
        let mut state = self.lock();
        state.abort = Some(AbortPoint {
            operation,
            remaining: nth,
        });
        state.aborted = false;
    }

    /// Answer a share of all calls with `Throttling`, chosen by a seeded RNG.
    pub fn throttle_randomly(&self, probability: f64, seed: u64) {
        let mut state = self.lock();
        state.throttle_probability = probability;
        state.rng = fastrand::Rng::with_seed(seed);
    }

    /// Give a share of all calls a transient failure, chosen by a seeded
    /// RNG: throttling, a 5xx, a timeout before the work, or a timeout after
    /// it (the work done, the answer lost).
    pub fn faults_randomly(&self, probability: f64, seed: u64) {
        let mut state = self.lock();
        state.chaos_probability = probability;
        state.rng = fastrand::Rng::with_seed(seed);
    }

    /// Whether an [`abort_after`](Self::abort_after) point was reached.
    pub fn is_aborted(&self) -> bool {
        self.lock().aborted
    }

    pub fn clear_faults(&self) {
        let mut state = self.lock();
        state.faults.clear();
        state.abort = None;
        state.aborted = false;
        state.throttle_probability = 0.0;
        state.chaos_probability = 0.0;
    }

    pub fn set_max_health_checks(&self, max: usize) {
        self.lock().max_health_checks = max;
    }

    /// GetChange calls that answer PENDING before a change is INSYNC.
    pub fn set_polls_until_insync(&self, polls: u32) {
        self.lock().polls_until_insync = polls;
    }

    /// Every change submitted so far is INSYNC from now on.
    pub fn complete_changes(&self) {
        self.lock()
            .changes
            .values_mut()
            .for_each(|polls| *polls = 0);
    }

    /// Run one call: log it, apply faults, run `work` on the state.
    fn call<T>(&self, op: Operation, work: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.lock();
        state.calls.push(op);
        if state.aborted {
            return Err(aborted(op));
        }
        let throttle = state.throttle_probability;
        if throttle > 0.0 && state.rng.f64() < throttle {
            let code = if op == Operation::ChangeResourceRecordSets && state.rng.bool() {
                "PriorRequestNotComplete"
            } else {
                "Throttling"
            };
            return Err(
                Route53Error::new(op, ErrorKind::Throttled, "Rate exceeded").with_code(code)
            );
        }
        let chaos = state.chaos_probability;
        let fault = if chaos > 0.0 && state.rng.f64() < chaos {
            Some(match state.rng.u8(0..4) {
                0 => Fault::Fail(ErrorKind::Throttled),
                1 => Fault::Fail(ErrorKind::ServerError),
                2 => Fault::Fail(ErrorKind::Timeout),
                _ => Fault::FailAfterApply(ErrorKind::Timeout),
            })
        } else {
            take_fault(&mut state, op)
        };
        match fault {
            Some(Fault::Fail(kind)) => return Err(Route53Error::new(op, kind, "injected fault")),
            Some(Fault::Panic) => {
                drop(state);
                std::panic::panic_any(format!("injected panic in {op}"));
            }
            _ => {}
        }
        let result = work(&mut state);
        let trip = match state.abort.as_mut() {
            Some(abort) if abort.operation.is_none_or(|o| o == op) => {
                abort.remaining = abort.remaining.saturating_sub(1);
                abort.remaining == 0
            }
            _ => false,
        };
        if trip {
            state.abort = None;
            state.aborted = true;
        }
        match fault {
            Some(Fault::FailAfterApply(kind)) => Err(Route53Error::new(
                op,
                kind,
                "injected fault after the work was done",
            )),
            _ => result,
        }
    }
}

fn aborted(op: Operation) -> Route53Error {
    Route53Error::new(
        op,
        ErrorKind::Aborted,
        "the process was stopped here (injected)",
    )
}

fn take_fault(state: &mut State, op: Operation) -> Option<Fault> {
    let index = state
        .faults
        .iter()
        .position(|r| r.operation.is_none_or(|o| o == op) && r.remaining != Some(0))?;
    let rule = &mut state.faults[index];
    if let Some(remaining) = rule.remaining.as_mut() {
        *remaining -= 1;
    }
    Some(rule.fault)
}

pub(super) fn observations(healthy: u32, total: u32) -> Vec<HealthObservation> {
    (0..total)
        .map(|i| HealthObservation {
            region: HEALTH_CHECK_REGIONS[i as usize % HEALTH_CHECK_REGIONS.len()].to_string(),
            healthy: i < healthy,
            report: if i < healthy {
                "Success: HTTP Status Code 200, OK".to_string()
            } else {
                "Failure: Connection timed out.".to_string()
            },
        })
        .collect()
}
