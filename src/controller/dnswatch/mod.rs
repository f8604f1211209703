//! The DNS answer watch: which side users are sent to, observed for free.
//!
//! GetHealthCheckStatus allows 1 request per second for the whole account,
//! so at 1,000 checks the poller reads each one every half hour. The zone's
//! authoritative name servers, though, answer a query for a failover name
//! with the PRIMARY's values while Route 53 counts it healthy and with the
//! SECONDARY's after failover, and asking them costs nothing of the Route 53
//! budget. So every managed record is queried once per period (default 30 s,
//! jittered by shortening it up to 10%, the queries spread evenly over the
//! period, each record at the same place in every round), the answer is mapped
//! to a side ([`crate::core::answer`]), and when it changes the record's
//! health checks are read at once, ahead of the poller's round-robin, and the
//! FailoverRecord is reconciled, which writes `status.active`, the Event and
//! the metrics.
//!
//! Public zones are asked at their own name servers (GetHostedZone, once an
//! hour per zone); private zones through a recursive resolver, since their
//! name servers answer only inside the VPC. When no answer comes, the record
//! falls back to health-check polling alone and its `DNSAnswer` condition
//! says so; the next answer ends the fallback.

mod lookup;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::ObjectRef;
use parking_lot::Mutex;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tracing::{debug, info};

pub use lookup::{Dns, Queried};

use super::leader::Gate;
use super::metrics::Metrics;
use super::poller::HealthMonitor;
use crate::api::FailoverRecord;
use crate::core::answer::{self, AnswerSide, Expected};
use crate::core::desired::{PlacedRecord, SideTarget};
use crate::core::report::DnsSeen;
use crate::engine::Engine;
use crate::route53::{Failover, RecordSet, Route53, RrType};

/// How long a zone's name servers are trusted before GetHostedZone is asked again.
const ZONE_SERVERS_TTL: Duration = Duration::from_secs(3600);
/// Queries in flight at once.
const IN_FLIGHT: usize = 256;
/// Consecutive failed queries before a record falls back to polling alone:
/// one lost UDP packet is not an outage.
const FAILURES_BEFORE_FALLBACK: u32 = 2;

/// What a changed answer asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Health checks to read ahead of the poller's round-robin.
    pub read_now: Vec<String>,
}

/// How the watch runs.
#[derive(Clone, Debug)]
pub struct DnsWatchSettings {
    /// Each record is queried once per period.
    pub period: Duration,
    /// Ask these servers instead of each zone's own name servers
    /// (split-horizon setups, tests).
    pub servers: Vec<SocketAddr>,
    /// The recursive resolver for private zones, alias targets and the name
    /// servers' host names; empty: the system's.
    pub resolvers: Vec<SocketAddr>,
    /// How long one query may take.
    pub timeout: Duration,
}

impl Default for DnsWatchSettings {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(30),
            servers: Vec::new(),
            resolvers: Vec::new(),
            timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Want {
    Values(Vec<String>),
    Alias(String),
    /// A side another installation manages (`spec.manage`) that is not in
    /// Route 53 yet: nothing to compare an answer with.
    Absent,
}

impl Want {
    fn describe(&self) -> String {
        match self {
            Self::Values(values) => values.join(", "),
            Self::Alias(target) => format!("alias to {target}"),
            Self::Absent => "no record set yet".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    zone_id: String,
    private: bool,
    fqdn: String,
    rr_type: RrType,
    primary: Want,
    secondary: Want,
}

struct Entry {
    target: Target,
    checks: Vec<String>,
    seen: Option<DnsSeen>,
    failures: u32,
}

/// Where a zone's records are asked.
#[derive(Clone, Debug)]
enum Servers {
    /// Authoritative servers, or a resolver (`recursive`).
    At {
        addresses: Vec<SocketAddr>,
        recursive: bool,
    },
    /// The system's resolver.
    System,
}

/// A zone's servers (or why they are not known), and when that was learnt.
type Learnt = (Result<Servers, String>, Instant);

/// The watch: what to query, what was seen.
pub struct DnsWatch {
    settings: DnsWatchSettings,
    dns: Dns,
    entries: Mutex<HashMap<ObjectRef<FailoverRecord>, Entry>>,
    zones: tokio::sync::Mutex<HashMap<String, Learnt>>,
    aliases: Mutex<HashMap<(String, RrType), (Expected, Instant)>>,
    metrics: Arc<Metrics>,
}

impl DnsWatch {
    pub fn new(settings: DnsWatchSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            dns: Dns::new(settings.resolvers.clone(), settings.timeout),
            settings,
            entries: Mutex::default(),
            zones: tokio::sync::Mutex::default(),
            aliases: Mutex::default(),
            metrics,
        }
    }

    pub fn period(&self) -> Duration {
        self.settings.period
    }

    /// Query `key`'s record from now on; `checks` are the health checks to
    /// read at once when its answer changes. `others`: the record sets of the
    /// sides another installation manages, as Route 53 holds them.
    pub fn watch(
        &self,
        key: &ObjectRef<FailoverRecord>,
        placed: &PlacedRecord,
        others: &[&RecordSet],
        checks: Vec<String>,
    ) {
        let want = |role: Failover| match placed.desired.side(role).map(|s| &s.target) {
            Some(SideTarget::Values(values)) => Want::Values(values.clone()),
            Some(SideTarget::Alias(alias)) => Want::Alias(alias.dns_name.clone()),
            None => match others.iter().find(|r| r.failover == Some(role)) {
                Some(RecordSet {
                    alias: Some(alias), ..
                }) => Want::Alias(alias.dns_name.clone()),
                Some(record) => Want::Values(record.values.clone()),
                None => Want::Absent,
            },
        };
        let target = Target {
            zone_id: placed.zone.id.clone(),
            private: placed.zone.private,
            fqdn: placed.fqdn.clone(),
            rr_type: placed.desired.rr_type.clone(),
            primary: want(Failover::Primary),
            secondary: want(Failover::Secondary),
        };
        let mut entries = self.entries.lock();
        match entries.get_mut(key) {
            Some(entry) if entry.target == target => entry.checks = checks,
            _ => {
                entries.insert(
                    key.clone(),
                    Entry {
                        target,
                        checks,
                        seen: None,
                        failures: 0,
                    },
                );
            }
        }
        self.metrics.dns_watched.set(entries.len() as i64);
    }

    /// Stop querying `key`'s record (it is being deleted).
    pub fn forget(&self, key: &ObjectRef<FailoverRecord>) {
        let mut entries = self.entries.lock();
        entries.remove(key);
        self.metrics.dns_watched.set(entries.len() as i64);
    }

    /// What the last answers said about `key`'s record.
    pub fn seen(&self, key: &ObjectRef<FailoverRecord>) -> Option<DnsSeen> {
        self.entries.lock().get(key).and_then(|e| e.seen.clone())
    }

    /// Forget what was seen (a new leadership term starts afresh).
    pub fn reset(&self) {
        for entry in self.entries.lock().values_mut() {
            entry.seen = None;
            entry.failures = 0;
        }
    }

    async fn servers<R: Route53>(&self, r53: &R, target: &Target) -> Result<Servers, String> {
        if !self.settings.servers.is_empty() {
            return Ok(Servers::At {
                addresses: self.settings.servers.clone(),
                recursive: false,
            });
        }
        if target.private {
            return Ok(match self.dns.configured_resolvers() {
                Some(addresses) => Servers::At {
                    addresses: addresses.to_vec(),
                    recursive: true,
                },
                None => Servers::System,
            });
        }
        let mut zones = self.zones.lock().await;
        if let Some((servers, at)) = zones.get(&target.zone_id) {
            let ttl = if servers.is_ok() {
                ZONE_SERVERS_TTL
            } else {
                self.settings.period
            };
            if at.elapsed() < ttl {
                return servers.clone();
            }
        }
        let servers = self.zone_servers(r53, &target.zone_id).await;
        zones.insert(target.zone_id.clone(), (servers.clone(), Instant::now()));
        servers
    }

    async fn zone_servers<R: Route53>(&self, r53: &R, zone_id: &str) -> Result<Servers, String> {
        let zone = r53
            .get_hosted_zone(zone_id)
            .await
            .map_err(|e| format!("cannot read the zone's name servers: {e}"))?;
        if zone.name_servers.is_empty() {
            return Err("Route 53 reports no name servers for the zone".to_string());
        }
        let mut addresses = Vec::new();
        let mut failures = Vec::new();
        for server in &zone.name_servers {
            match self.dns.server_addresses(server).await {
                Ok(found) => addresses.extend(found),
                Err(e) => failures.push(format!("{server}: {e}")),
            }
        }
        if addresses.is_empty() {
            Err(format!(
                "cannot resolve the zone's name servers ({})",
                failures.join("; ")
            ))
        } else {
            Ok(Servers::At {
                addresses,
                recursive: false,
            })
        }
    }

    async fn expected(&self, want: &Want, rr_type: &RrType) -> Expected {
        match want {
            Want::Values(values) => Expected::values(rr_type, values),
            Want::Absent => Expected::Unresolved,
            Want::Alias(target) => {
                let key = (target.clone(), rr_type.clone());
                if let Some((expected, at)) = self.aliases.lock().get(&key)
                    && at.elapsed() < self.settings.period
                {
                    return expected.clone();
                }
                let expected = match self.dns.resolve(target, rr_type).await {
                    Queried::Values(values) => Expected::values(rr_type, &values),
                    Queried::NoRecords | Queried::Failed(_) => Expected::Unresolved,
                };
                self.aliases
                    .lock()
                    .insert(key, (expected.clone(), Instant::now()));
                expected
            }
        }
    }

    /// Query `key`'s record once. Returns what to do when what the answer
    /// means changed: reconcile the record, and, unless this is its first
    /// answer (after a start every record has one, and reading all their
    /// checks at once would only be the round-robin again), read its checks
    /// at once.
    pub async fn observe<R: Route53>(
        &self,
        r53: &R,
        key: &ObjectRef<FailoverRecord>,
    ) -> Option<Observed> {
        let target = self.entries.lock().get(key)?.target.clone();
        let (queried, servers_named) = match self.servers(r53, &target).await {
            Ok(Servers::At {
                addresses,
                recursive,
            }) => (
                self.dns
                    .query(&addresses, recursive, &target.fqdn, &target.rr_type)
                    .await,
                lookup::join(&addresses),
            ),
            Ok(Servers::System) => (
                self.dns.resolve(&target.fqdn, &target.rr_type).await,
                self.dns.resolver_names(),
            ),
            Err(e) => (Queried::Failed(e), "(unknown)".to_string()),
        };
        let result = match &queried {
            Queried::Values(_) => "answered",
            Queried::NoRecords => "no_records",
            Queried::Failed(_) => "failed",
        };
        self.metrics.dns_query(result);
        let answer = match queried {
            Queried::Values(values) => Ok(values),
            // A public zone's own name servers saying "no such record" is an
            // answer; a resolver saying so about a private zone means it
            // cannot see the zone.
            Queried::NoRecords if !target.private => Ok(Vec::new()),
            Queried::NoRecords => Err(
                "it does not know the name: the zone may not be associated with the VPC the resolver serves"
                    .to_string(),
            ),
            Queried::Failed(e) => Err(e),
        };
        let seen = match answer {
            Ok(values) => {
                let primary = self.expected(&target.primary, &target.rr_type).await;
                let secondary = self.expected(&target.secondary, &target.rr_type).await;
                let side = answer::side_of(&target.rr_type, &values, &primary, &secondary);
                Some((side, values))
            }
            Err(error) => {
                debug!(fqdn = %target.fqdn, servers = %servers_named, %error, "no DNS answer");
                let mut entries = self.entries.lock();
                let entry = entries.get_mut(key)?;
                entry.failures += 1;
                if entry.failures < FAILURES_BEFORE_FALLBACK {
                    return None;
                }
                let unreachable = DnsSeen::Unreachable {
                    private: target.private,
                    servers: servers_named,
                    error,
                };
                let changed = !matches!(entry.seen, Some(DnsSeen::Unreachable { .. }));
                let first = entry.seen.is_none();
                entry.seen = Some(unreachable);
                return changed.then(|| Observed {
                    read_now: if first {
                        Vec::new()
                    } else {
                        entry.checks.clone()
                    },
                });
            }
        };
        let (side, values) = seen?;
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(key)?;
        if entry.target != target {
            // The spec changed while the query was out.
            return None;
        }
        entry.failures = 0;
        let mut sorted = values.clone();
        sorted.sort();
        let first = entry.seen.is_none();
        let (changed, since) = match &entry.seen {
            Some(DnsSeen::Answer {
                side: was,
                answer,
                since,
                ..
            }) if *was == side => (*answer != sorted, since.clone()),
            _ => (true, now()),
        };
        entry.seen = Some(DnsSeen::Answer {
            side,
            answer: sorted,
            primary: target.primary.describe(),
            secondary: target.secondary.describe(),
            since,
        });
        if changed && side != AnswerSide::Ambiguous {
            info!(fqdn = %target.fqdn, ?side, "DNS answer changed");
        }
        changed.then(|| Observed {
            read_now: if first {
                Vec::new()
            } else {
                entry.checks.clone()
            },
        })
    }

    /// The records in a stable order, so each keeps its place in the period.
    fn keys(&self) -> Vec<ObjectRef<FailoverRecord>> {
        let mut keys: Vec<_> = self.entries.lock().keys().cloned().collect();
        keys.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        keys
    }

    /// Query every record once per period, spread over it, while this
    /// replica leads; on a change, read the record's checks at once and ask
    /// for its reconcile.
    pub async fn run<R: Route53 + 'static>(
        self: Arc<Self>,
        engine: Arc<Engine<R>>,
        mut gate: Gate,
        health: Arc<HealthMonitor>,
        changed: mpsc::Sender<ObjectRef<FailoverRecord>>,
    ) {
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        loop {
            if !gate.is_open() {
                gate.opened().await;
                continue;
            }
            // Jittered by shortening only, so that no record waits longer
            // than one period between two queries; rounds of many
            // installations (and of restarts) do not line up.
            let period = self.settings.period.mul_f64(0.9 + 0.1 * fastrand::f64());
            let started = Instant::now();
            let keys = self.keys();
            let spacing = period / u32::try_from(keys.len().max(1)).unwrap_or(u32::MAX);
            for (i, key) in keys.into_iter().enumerate() {
                let slot = spacing * u32::try_from(i).unwrap_or(u32::MAX);
                tokio::time::sleep_until(started + slot).await;
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                let watch = self.clone();
                let engine = engine.clone();
                let health = health.clone();
                let changed = changed.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Some(observed) = watch.observe(engine.route53(), &key).await {
                        health.read_soon(&observed.read_now);
                        let _ = changed.send(key).await;
                    }
                });
            }
            tokio::time::sleep_until(started + period).await;
        }
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}
