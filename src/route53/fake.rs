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

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    Change, ChangeAction, ChangeInfo, ChangeState, ErrorKind, HealthCheck, HealthCheckConfig,
    HealthCheckUpdate, HealthObservation, Operation, Page, RecordCursor, RecordKey, RecordSet,
    ResettableElement, Result, Route53, Route53Error, RrType, TAGS_PER_REQUEST, Tags, Zone,
};
use crate::dns_name;
use crate::plan::batch::{BatchCost, BatchLimits};

/// Record sets per ListResourceRecordSets page, as Route 53.
pub const RECORD_PAGE_SIZE: usize = 300;
/// Health checks per ListHealthChecks page: the most Route 53 allows, as the
/// AWS adapter asks for.
pub const HEALTH_CHECK_PAGE_SIZE: usize = 1000;
/// Health checkers reporting on each check.
pub const CHECKERS: u32 = 16;

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

fn sort_key(key: &RecordKey) -> SortKey {
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
struct State {
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
        crate::sync::lock(&self.state)
    }

    // ----- Test controls (not part of the port) -----

    /// Create a hosted zone; returns it.
    pub fn create_zone(&self, name: &str, private: bool) -> Zone {
        let mut state = self.lock();
        let id = format!("Z{:08}FAKE", state.next_id);
        state.next_id += 1;
        let zone = Zone {
            id: id.clone(),
            name: dns_name::normalize(name),
            private,
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
                std::panic::panic_any(format!("injected panic in {}", op.as_str()));
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

fn observations(healthy: u32, total: u32) -> Vec<HealthObservation> {
    const REGIONS: [&str; 8] = [
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
    ];
    (0..total)
        .map(|i| HealthObservation {
            region: REGIONS[i as usize % REGIONS.len()].to_string(),
            healthy: i < healthy,
            report: if i < healthy {
                "Success: HTTP Status Code 200, OK".to_string()
            } else {
                "Failure: Connection timed out.".to_string()
            },
        })
        .collect()
}

fn invalid_batch(message: impl Into<String>) -> Route53Error {
    Route53Error::new(
        Operation::ChangeResourceRecordSets,
        ErrorKind::InvalidChangeBatch,
        message,
    )
    .with_code("InvalidChangeBatch")
}

fn describe(key: &RecordKey) -> String {
    format!(
        "[name='{}', type='{}'{}]",
        key.name,
        key.rr_type,
        key.set_identifier
            .as_ref()
            .map(|s| format!(", set-identifier='{s}'"))
            .unwrap_or_default()
    )
}

/// Record sets as Route 53 stores them compare equal even when values are in
/// another order.
fn same_record(a: &RecordSet, b: &RecordSet) -> bool {
    let sorted = |r: &RecordSet| {
        let mut v = r.values.clone();
        v.sort();
        v
    };
    a.key() == b.key()
        && a.failover == b.failover
        && a.ttl == b.ttl
        && sorted(a) == sorted(b)
        && a.alias == b.alias
        && a.health_check_id == b.health_check_id
}

fn apply_batch(state: &mut State, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
    let cost = BatchCost::of(changes);
    let limits = BatchLimits::default();
    if cost.values > limits.max_values {
        return Err(invalid_batch(format!(
            "[Number of records limit of {} exceeded.]",
            limits.max_values
        )));
    }
    if cost.chars > limits.max_chars {
        return Err(invalid_batch(format!(
            "[Number of characters limit of {} exceeded.]",
            limits.max_chars
        )));
    }
    if changes.is_empty() {
        return Err(Route53Error::new(
            Operation::ChangeResourceRecordSets,
            ErrorKind::InvalidInput,
            "a change batch needs at least one change",
        ));
    }
    let checks: HashSet<String> = state.checks.keys().cloned().collect();
    let zone = state.zones.get(zone_id).ok_or_else(|| {
        Route53Error::new(
            Operation::ChangeResourceRecordSets,
            ErrorKind::NotFound,
            format!("No hosted zone found with ID: {zone_id}"),
        )
        .with_code("NoSuchHostedZone")
    })?;
    let zone_name = zone.zone.name.clone();
    // Work on a copy so the batch applies all or nothing.
    let mut records = zone.records.clone();
    let mut touched: Vec<(String, RrType)> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for change in changes {
        let record = &change.record;
        let key = record.key();
        if !dns_name::is_within(&record.name, &zone_name) {
            errors.push(format!(
                "RRSet with DNS name {} is not permitted in zone {zone_name}",
                record.name
            ));
            continue;
        }
        if record.values.is_empty() == record.alias.is_none() {
            errors.push(format!(
                "{} needs either values or an alias target",
                describe(&key)
            ));
            continue;
        }
        if let Some(id) = &record.health_check_id
            && change.action != ChangeAction::Delete
            && !checks.contains(id)
        {
            errors.push(format!("The health check {id} does not exist"));
            continue;
        }
        let slot = sort_key(&key);
        match change.action {
            ChangeAction::Create => {
                if records.contains_key(&slot) {
                    errors.push(format!(
                        "Tried to create resource record set {} but it already exists",
                        describe(&key)
                    ));
                    continue;
                }
                records.insert(slot, record.clone());
            }
            ChangeAction::Delete => match records.get(&slot) {
                None => {
                    errors.push(format!(
                        "Tried to delete resource record set {} but it was not found",
                        describe(&key)
                    ));
                    continue;
                }
                Some(existing) if !same_record(existing, record) => {
                    errors.push(format!("Tried to delete resource record set {} but the values provided do not match the current values", describe(&key)));
                    continue;
                }
                Some(_) => {
                    records.remove(&slot);
                }
            },
            ChangeAction::Upsert => {
                records.insert(slot, record.clone());
            }
        }
        touched.push((record.name.clone(), record.rr_type.clone()));
    }
    for (name, rr_type) in &touched {
        let group: Vec<&RecordSet> = records
            .values()
            .filter(|r| &r.name == name && &r.rr_type == rr_type)
            .collect();
        let primaries = group
            .iter()
            .filter(|r| r.failover == Some(super::Failover::Primary))
            .count();
        let secondaries = group
            .iter()
            .filter(|r| r.failover == Some(super::Failover::Secondary))
            .count();
        if primaries > 1 || secondaries > 1 {
            errors.push(format!(
                "More than one {} failover record set for {name} {rr_type}",
                if primaries > 1 {
                    "PRIMARY"
                } else {
                    "SECONDARY"
                }
            ));
        }
        let simple = group.iter().any(|r| r.set_identifier.is_none());
        if simple && group.len() > 1 {
            errors.push(format!("RRSet of type {rr_type} with DNS name {name} is not permitted because a conflicting RRSet of type {rr_type} with the same DNS name already exists"));
        }
        if group.iter().any(|r| {
            r.failover == Some(super::Failover::Primary)
                && r.alias.is_none()
                && r.health_check_id.is_none()
        }) {
            errors.push(
                "A non-alias primary ResourceRecordSet must have an associated health check"
                    .to_string(),
            );
        }
        let types_here: HashSet<&RrType> = records
            .values()
            .filter(|r| &r.name == name)
            .map(|r| &r.rr_type)
            .collect();
        if types_here.contains(&RrType::CNAME) && types_here.len() > 1 {
            errors.push(format!("RRSet of type CNAME with DNS name {name} is not permitted because a conflicting RRSet of another type with the same DNS name already exists"));
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(invalid_batch(format!("[{}]", errors.join(", "))));
    }
    if let Some(zone) = state.zones.get_mut(zone_id) {
        zone.records = records;
    }
    let id = format!("C{:010}", state.next_id);
    state.next_id += 1;
    let polls = state.polls_until_insync;
    state.changes.insert(id.clone(), polls);
    Ok(ChangeInfo {
        id,
        status: ChangeState::Pending,
    })
}

impl Route53 for FakeRoute53 {
    async fn get_hosted_zone(&self, id: &str) -> Result<Zone> {
        self.call(Operation::GetHostedZone, |state| {
            state
                .zones
                .get(&super::bare_zone_id(id))
                .map(|z| z.zone.clone())
                .ok_or_else(|| {
                    Route53Error::new(
                        Operation::GetHostedZone,
                        ErrorKind::NotFound,
                        format!("No hosted zone found with ID: {id}"),
                    )
                    .with_code("NoSuchHostedZone")
                })
        })
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        let name = dns_name::normalize(name);
        self.call(Operation::ListHostedZonesByName, |state| {
            Ok(state
                .zones
                .values()
                .filter(|z| z.zone.name == name)
                .map(|z| z.zone.clone())
                .collect())
        })
    }

    async fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> Result<Page<RecordSet, RecordCursor>> {
        self.call(Operation::ListResourceRecordSets, |state| {
            let zone = state.zones.get(zone_id).ok_or_else(|| {
                Route53Error::new(
                    Operation::ListResourceRecordSets,
                    ErrorKind::NotFound,
                    format!("No hosted zone found with ID: {zone_id}"),
                )
                .with_code("NoSuchHostedZone")
            })?;
            let from = start.map(|c| {
                sort_key(&RecordKey {
                    name: dns_name::normalize(&c.name),
                    rr_type: RrType::parse(&c.rr_type),
                    set_identifier: c.set_identifier.clone(),
                })
            });
            let mut iter = zone
                .records
                .iter()
                .filter(|(k, _)| from.as_ref().is_none_or(|f| *k >= f))
                .map(|(_, r)| r);
            let items: Vec<RecordSet> = iter.by_ref().take(RECORD_PAGE_SIZE).cloned().collect();
            let next = iter.next().map(|r| RecordCursor {
                name: r.name.clone(),
                rr_type: r.rr_type.as_str().to_string(),
                set_identifier: r.set_identifier.clone(),
            });
            Ok(Page { items, next })
        })
    }

    async fn change_record_sets(&self, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
        self.call(Operation::ChangeResourceRecordSets, |state| {
            apply_batch(state, zone_id, changes)
        })
    }

    async fn get_change(&self, id: &str) -> Result<ChangeInfo> {
        self.call(Operation::GetChange, |state| {
            let polls = state.changes.get_mut(id).ok_or_else(|| {
                Route53Error::new(
                    Operation::GetChange,
                    ErrorKind::NotFound,
                    format!("No change found with ID: {id}"),
                )
                .with_code("NoSuchChange")
            })?;
            let status = if *polls == 0 {
                ChangeState::InSync
            } else {
                *polls -= 1;
                ChangeState::Pending
            };
            Ok(ChangeInfo {
                id: id.to_string(),
                status,
            })
        })
    }

    async fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> Result<Page<HealthCheck, String>> {
        self.call(Operation::ListHealthChecks, |state| {
            let mut iter = state
                .checks
                .iter()
                .filter(|(id, _)| marker.is_none_or(|m| id.as_str() >= m))
                .map(|(_, c)| c);
            let items: Vec<HealthCheck> = iter
                .by_ref()
                .take(HEALTH_CHECK_PAGE_SIZE)
                .cloned()
                .collect();
            let next = iter.next().map(|c| c.id.clone());
            Ok(Page { items, next })
        })
    }

    async fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> Result<HealthCheck> {
        self.call(Operation::CreateHealthCheck, |state| {
            let exists = || {
                Route53Error::new(
                    Operation::CreateHealthCheck,
                    ErrorKind::AlreadyExists,
                    format!("A health check with the caller reference {caller_reference} already exists, or existed and was deleted, with different settings"),
                )
                .with_code("HealthCheckAlreadyExists")
            };
            if state.deleted_references.contains(caller_reference) {
                return Err(exists());
            }
            if let Some(existing) = state.checks.values().find(|c| c.caller_reference == caller_reference) {
                return if &existing.config == config { Ok(existing.clone()) } else { Err(exists()) };
            }
            if state.checks.len() >= state.max_health_checks {
                return Err(Route53Error::new(Operation::CreateHealthCheck, ErrorKind::LimitExceeded, "This AWS account has reached the limit on the number of health checks")
                    .with_code("TooManyHealthChecks"));
            }
            let id = format!("{:08x}-0000-4000-8000-{:012x}", state.next_id, state.next_id);
            state.next_id += 1;
            let check = HealthCheck {
                id: id.clone(),
                caller_reference: caller_reference.to_string(),
                version: 1,
                config: config.clone(),
            };
            state.checks.insert(id.clone(), check.clone());
            state.health.insert(id, observations(CHECKERS, CHECKERS));
            Ok(check)
        })
    }

    async fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> Result<HealthCheck> {
        self.call(Operation::UpdateHealthCheck, |state| {
            let check = state.checks.get_mut(id).ok_or_else(|| not_found_check(Operation::UpdateHealthCheck, id))?;
            if check.version != update.version {
                return Err(Route53Error::new(
                    Operation::UpdateHealthCheck,
                    ErrorKind::VersionMismatch,
                    format!("The value of HealthCheckVersion ({}) does not match the current version ({})", update.version, check.version),
                )
                .with_code("HealthCheckVersionMismatch"));
            }
            if check.config.immutable_part() != update.config.immutable_part() {
                return Err(Route53Error::new(Operation::UpdateHealthCheck, ErrorKind::InvalidInput, "Type, RequestInterval, MeasureLatency and the IP-or-domain choice cannot be changed")
                    .with_code("InvalidInput"));
            }
            let mut config = update.config.clone();
            for reset in &update.reset {
                match reset {
                    ResettableElement::FullyQualifiedDomainName => config.fqdn = None,
                    ResettableElement::Regions => config.regions.clear(),
                    ResettableElement::ResourcePath => config.resource_path = None,
                }
            }
            check.config = config;
            check.version += 1;
            Ok(check.clone())
        })
    }

    async fn delete_health_check(&self, id: &str) -> Result<()> {
        self.call(Operation::DeleteHealthCheck, |state| {
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::DeleteHealthCheck, id));
            }
            let in_use = state
                .zones
                .values()
                .flat_map(|z| z.records.values())
                .find(|r| r.health_check_id.as_deref() == Some(id));
            if let Some(record) = in_use {
                return Err(Route53Error::new(
                    Operation::DeleteHealthCheck,
                    ErrorKind::InUse,
                    format!("The health check with id {id} is still referenced from resource record set {}", describe(&record.key())),
                )
                .with_code("HealthCheckInUse"));
            }
            if let Some(check) = state.checks.remove(id) {
                state.deleted_references.insert(check.caller_reference);
            }
            state.tags.remove(id);
            state.health.remove(id);
            Ok(())
        })
    }

    async fn get_health_check_status(&self, id: &str) -> Result<Vec<HealthObservation>> {
        self.call(Operation::GetHealthCheckStatus, |state| {
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::GetHealthCheckStatus, id));
            }
            Ok(state.health.get(id).cloned().unwrap_or_default())
        })
    }

    async fn list_health_check_tags(&self, ids: &[String]) -> Result<BTreeMap<String, Tags>> {
        self.call(Operation::ListTagsForResources, |state| {
            if ids.len() > TAGS_PER_REQUEST {
                return Err(Route53Error::new(
                    Operation::ListTagsForResources,
                    ErrorKind::InvalidInput,
                    "at most 10 resource ids per request",
                ));
            }
            ids.iter()
                .map(|id| {
                    if state.checks.contains_key(id) {
                        Ok((id.clone(), state.tags.get(id).cloned().unwrap_or_default()))
                    } else {
                        Err(not_found_check(Operation::ListTagsForResources, id))
                    }
                })
                .collect()
        })
    }

    async fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> Result<()> {
        self.call(Operation::ChangeTagsForResource, |state| {
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::ChangeTagsForResource, id));
            }
            let tags = state.tags.entry(id.to_string()).or_default();
            for key in remove {
                tags.remove(key);
            }
            tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
    }
}

fn not_found_check(op: Operation, id: &str) -> Route53Error {
    Route53Error::new(
        op,
        ErrorKind::NotFound,
        format!("No health check exists with the specified ID {id}"),
    )
    .with_code("NoSuchHealthCheck")
}
