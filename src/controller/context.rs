//! What every reconcile shares: the engine and its caches, the batch writer,
//! the health poller, events, metrics, the lease gate, and what this process
//! remembers of each FailoverRecord beyond its status.
//!
//! Built with [`Context::builder`]; the fields stay private so that the
//! reconcile code is the only one to change them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use parking_lot::{Mutex, MutexGuard};

use super::cache::Observer;
use super::dnswatch::DnsWatch;
use super::leader::{Gate, Terms};
use super::metrics::Metrics;
use super::poller::HealthMonitor;
use super::writer::BatchWriter;
use crate::api::FailoverRecord;
use crate::backoff::{Backoffs, Jitter, Schedule};
use crate::core::report;
use crate::engine::Engine;
use crate::route53::{ChangeInfo, Route53};

/// How the controller behaves.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Period after which Route 53 is read again and drift corrected.
    pub resync: Duration,
    /// Compute, log and event plans; write nothing to Route 53 or status.
    pub dry_run: bool,
    /// Whether `serviceRef` and `ingressRef` may be used.
    pub cluster_targets: bool,
    /// Whether `gatewayRef` may be used (the Gateway API's CRDs are
    /// installed and Gateways are watched).
    pub gateway_api: bool,
    /// How soon to look again while a change batch is PENDING (after
    /// submitting one, and while a deletion waits for one).
    pub short_requeue: Duration,
    /// Requeues of a FailoverRecord whose reconciles keep failing.
    pub retry: Schedule,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(300),
            dry_run: false,
            cluster_targets: true,
            gateway_api: false,
            short_requeue: Duration::from_secs(30),
            retry: Schedule {
                base: Duration::from_secs(2),
                cap: Duration::from_secs(300),
                jitter: Jitter::Half,
            },
        }
    }
}

/// What `/readyz` reports besides the watch being synced.
#[derive(Debug)]
pub struct Readiness {
    /// False after Route 53 refused the credentials; true again once a
    /// reconcile reads Route 53 successfully.
    pub credentials_ok: AtomicBool,
    pub synced: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            credentials_ok: AtomicBool::new(true),
            synced: AtomicBool::new(false),
        }
    }
}

impl Readiness {
    /// Why the controller is not ready, or `None` when it is.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.synced.load(Ordering::Relaxed) {
            Some("waiting for the first list of FailoverRecords")
        } else if !self.credentials_ok.load(Ordering::Relaxed) {
            Some(
                "Route 53 rejects or lacks AWS credentials; see the CredentialsMissing condition on FailoverRecords",
            )
        } else {
            None
        }
    }
}

/// A SHA-256 digest of a desired state.
pub(super) type Fingerprint = [u8; 32];

/// What a reconcile learns that the status may not hold.
#[derive(Default)]
struct Memory {
    /// What the FailoverRecord last asked of Route 53 (a digest of its
    /// desired state: kept for every record, so 32 bytes, not the state),
    /// to tell drift from a changed spec or target.
    fingerprint: Option<Fingerprint>,
    /// The last change batch its record sets went into, so that deleting the
    /// checks they stopped using waits for it even when the status that
    /// would have recorded it was not written.
    change: Option<ChangeInfo>,
}

/// Everything a reconcile needs, shared.
pub struct Context<R> {
    pub(super) client: Client,
    pub(super) engine: Arc<Engine<R>>,
    pub(super) observer: Observer,
    pub(super) writer: BatchWriter<R>,
    pub(super) health: Arc<HealthMonitor>,
    /// The DNS answer watch; `None` with `--dns-watch=false`.
    pub(super) dns: Option<Arc<DnsWatch>>,
    pub(super) recorder: Recorder,
    pub(super) metrics: Arc<Metrics>,
    pub(super) gate: Gate,
    pub(super) backoffs: Backoffs<ObjectRef<FailoverRecord>>,
    pub(super) readiness: Arc<Readiness>,
    pub(super) settings: Settings,
    /// What this process knows of each FailoverRecord beyond its status.
    memory: Mutex<HashMap<ObjectRef<FailoverRecord>, Memory>>,
    /// Another replica may have written while this one stood by, so a new
    /// leadership term starts from Route 53 as it is, not as it was.
    terms: tokio::sync::Mutex<Terms>,
}

/// Builds a [`Context`]; what is not set gets a working default.
pub struct ContextBuilder<R> {
    client: Client,
    engine: Arc<Engine<R>>,
    health: Option<Arc<HealthMonitor>>,
    dns: Option<Arc<DnsWatch>>,
    recorder: Option<Recorder>,
    metrics: Option<Arc<Metrics>>,
    gate: Option<Gate>,
    readiness: Option<Arc<Readiness>>,
    settings: Settings,
    batch_window: Duration,
}

impl<R: Route53 + 'static> ContextBuilder<R> {
    /// The poller whose read-outs status shows (default: one check every 2 s).
    pub fn health(mut self, health: Arc<HealthMonitor>) -> Self {
        self.health = Some(health);
        self
    }

    /// The DNS answer watch whose observations status shows (default: none).
    pub fn dns(mut self, dns: Arc<DnsWatch>) -> Self {
        self.dns = Some(dns);
        self
    }

    /// Where Events go (default: reported as `dnsfailover`).
    pub fn recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The lease gate (default: always open, no leader election).
    pub fn gate(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn readiness(mut self, readiness: Arc<Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// How long a zone's batch waits for more record changes (default 5 s).
    pub fn batch_window(mut self, window: Duration) -> Self {
        self.batch_window = window;
        self
    }

    pub fn build(self) -> Context<R> {
        let gate = self.gate.unwrap_or_else(Gate::open);
        let recorder = self.recorder.unwrap_or_else(|| {
            Recorder::new(
                self.client.clone(),
                Reporter {
                    controller: "dnsfailover".into(),
                    instance: None,
                },
            )
        });
        Context {
            terms: tokio::sync::Mutex::new(gate.terms()),
            observer: Observer::new(self.settings.resync),
            writer: BatchWriter::new(self.engine.clone(), self.batch_window),
            backoffs: Backoffs::new(self.settings.retry),
            health: self
                .health
                .unwrap_or_else(|| Arc::new(HealthMonitor::new(Duration::from_secs(2)))),
            dns: self.dns,
            metrics: self.metrics.unwrap_or_default(),
            readiness: self.readiness.unwrap_or_default(),
            client: self.client,
            engine: self.engine,
            recorder,
            gate,
            settings: self.settings,
            memory: Mutex::default(),
        }
    }
}

impl<R: Route53 + 'static> Context<R> {
    pub fn builder(client: Client, engine: Arc<Engine<R>>) -> ContextBuilder<R> {
        ContextBuilder {
            client,
            engine,
            health: None,
            dns: None,
            recorder: None,
            metrics: None,
            gate: None,
            readiness: None,
            settings: Settings::default(),
            batch_window: Duration::from_secs(5),
        }
    }

    /// A context for tests: `settings`, the lease `gate`, synced, and a
    /// batch window short enough not to slow a test down.
    #[cfg(any(test, feature = "testing"))]
    pub fn for_tests(
        client: Client,
        engine: Arc<Engine<R>>,
        gate: Gate,
        settings: Settings,
    ) -> Self {
        let readiness = Arc::new(Readiness::default());
        readiness.synced.store(true, Ordering::Relaxed);
        Self::builder(client, engine)
            .gate(gate)
            .readiness(readiness)
            .settings(settings)
            .batch_window(Duration::from_millis(20))
            .build()
    }

    /// [`Self::for_tests`] with a DNS answer watch.
    #[cfg(any(test, feature = "testing"))]
    pub fn for_tests_with_dns(
        client: Client,
        engine: Arc<Engine<R>>,
        gate: Gate,
        settings: Settings,
        dns: super::dnswatch::DnsWatchSettings,
    ) -> Self {
        let mut ctx = Self::for_tests(client, engine, gate, settings);
        ctx.dns = Some(Arc::new(DnsWatch::new(dns, ctx.metrics.clone())));
        ctx
    }

    pub fn engine(&self) -> &Engine<R> {
        &self.engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn health(&self) -> &HealthMonitor {
        &self.health
    }

    pub fn dns(&self) -> Option<&Arc<DnsWatch>> {
        self.dns.as_ref()
    }

    /// The engine and the health poller, for tasks that outlive a reconcile
    /// (the DNS answer watch).
    pub fn shared(&self) -> (Arc<Engine<R>>, Arc<HealthMonitor>) {
        (self.engine.clone(), self.health.clone())
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn readiness(&self) -> &Arc<Readiness> {
        &self.readiness
    }

    /// The shared cache of Route 53 (to drop it, as a resync period does).
    pub fn observer(&self) -> &Observer {
        &self.observer
    }

    fn memory(&self) -> MutexGuard<'_, HashMap<ObjectRef<FailoverRecord>, Memory>> {
        self.memory.lock()
    }

    /// The desired state last applied for `key`, if known.
    pub(super) fn recall(&self, key: &ObjectRef<FailoverRecord>) -> Option<Fingerprint> {
        self.memory().get(key).and_then(|m| m.fingerprint)
    }

    /// Remember the desired state Route 53 now holds for `key`.
    pub(super) fn remember(&self, key: &ObjectRef<FailoverRecord>, fingerprint: Fingerprint) {
        self.memory().entry(key.clone()).or_default().fingerprint = Some(fingerprint);
    }

    /// The last change batch of the FailoverRecord's record sets: this
    /// process's memory, else what the status recorded.
    pub(super) fn last_change(&self, obj: &FailoverRecord) -> Option<ChangeInfo> {
        let remembered = self
            .memory()
            .get(&ObjectRef::from_obj(obj))
            .and_then(|m| m.change.clone());
        remembered.or_else(|| {
            obj.status
                .as_ref()
                .and_then(|s| s.change.as_ref())
                .map(report::recorded_change)
        })
    }

    pub(super) fn note_change(&self, key: &ObjectRef<FailoverRecord>, change: ChangeInfo) {
        self.memory().entry(key.clone()).or_default().change = Some(change);
    }

    /// A FailoverRecord is gone: drop what was remembered about it.
    pub(super) fn forget(&self, key: &ObjectRef<FailoverRecord>) {
        self.memory().remove(key);
    }

    /// Called by every reconcile while leading: the first of a new term
    /// forgets what was cached in an earlier one, and the others wait for it.
    pub(super) async fn begin_term(&self) {
        let mut terms = self.terms.lock().await;
        if terms.new_term() {
            self.observer.invalidate_all().await;
            self.memory().clear();
            if let Some(dns) = &self.dns {
                dns.reset();
            }
        }
    }
}
