//! A DNS server on loopback that answers the way Route 53's name servers do,
//! from the in-memory Route 53's state: a failover name gets the PRIMARY
//! record set's values while its health check is healthy (or it has none),
//! else the SECONDARY's; if both are unhealthy, the PRIMARY's (a calculated
//! check, such as the failback latch, is healthy while at least its threshold
//! of children are). Alias records
//! answer with their target's addresses from `aliases`, which the server
//! also answers for directly (so it serves as the resolver too).
//!
//! A test can take it down (queries go unanswered), or make it answer the
//! zones' names with fixed values (someone changed the records, or something
//! rewrites answers).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dnsfailover::api::Health;
use dnsfailover::core::health;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{
    self, Failover, HealthCheck, HealthCheckKind, RecordSet, Route53, RrType,
};
use futures::future::BoxFuture;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use parking_lot::Mutex;
use tokio::net::UdpSocket;

/// Where answers come from: what Route 53 would answer for a name and type
/// (`None`: a name it does not hold).
pub trait Answers: Send + Sync + 'static {
    fn answer<'a>(
        &'a self,
        name: &'a str,
        rr_type: &'a RrType,
        aliases: &'a BTreeMap<String, Vec<String>>,
    ) -> BoxFuture<'a, Option<Vec<String>>>;
}

/// The in-memory Route 53's state, read without counting a call.
pub struct FakeAnswers(pub FakeRoute53);

impl Answers for FakeAnswers {
    fn answer<'a>(
        &'a self,
        name: &'a str,
        rr_type: &'a RrType,
        aliases: &'a BTreeMap<String, Vec<String>>,
    ) -> BoxFuture<'a, Option<Vec<String>>> {
        let fake = &self.0;
        let records = fake.records_at(name, rr_type);
        let answer = failover_answer(
            &records,
            |id| fake.health_check(id),
            |check| {
                health::summarize(&fake.observations(&check.id), &check.config).health
                    != Health::Unhealthy
            },
            aliases,
        );
        Box::pin(async move { answer })
    }
}

/// A Route 53 reached through the port (moto, in the cluster suite): the
/// zone's record sets and the checks' status as the emulator reports them.
pub struct PortAnswers<R>(pub R);

impl<R: Route53 + 'static> Answers for PortAnswers<R> {
    fn answer<'a>(
        &'a self,
        name: &'a str,
        rr_type: &'a RrType,
        aliases: &'a BTreeMap<String, Vec<String>>,
    ) -> BoxFuture<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let r53 = &self.0;
            let zone = name
                .split_once('.')
                .map(|(_, parent)| parent)
                .unwrap_or(name);
            let zones = r53.list_hosted_zones_by_name(zone).await.ok()?;
            let mut records = Vec::new();
            for zone in zones {
                records.extend(
                    route53::list_all_record_sets(r53, &zone.id)
                        .await
                        .ok()?
                        .into_iter()
                        .filter(|r| r.name == name && &r.rr_type == rr_type),
                );
            }
            let checks = route53::list_all_health_checks(r53).await.ok()?;
            let mut up = BTreeMap::new();
            for check in &checks {
                if check.config.kind == HealthCheckKind::Calculated {
                    continue;
                }
                let observations = r53.get_health_check_status(&check.id).await.ok()?;
                up.insert(
                    check.id.clone(),
                    health::summarize(&observations, &check.config).health != Health::Unhealthy,
                );
            }
            failover_answer(
                &records,
                |id| checks.iter().find(|c| c.id == id).cloned(),
                |check| up.get(&check.id).copied().unwrap_or(true),
                aliases,
            )
        })
    }
}

#[derive(Default)]
struct Controls {
    down: AtomicBool,
    fixed: Mutex<Option<Vec<String>>>,
    aliases: Mutex<BTreeMap<String, Vec<String>>>,
    queries: AtomicUsize,
}

/// The server; it stops when dropped.
pub struct DnsServer {
    pub address: SocketAddr,
    controls: Arc<Controls>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    /// Serve `fake`'s zones on a free loopback port (its calls are not counted).
    pub async fn start(fake: FakeRoute53) -> Self {
        Self::serving(Arc::new(FakeAnswers(fake))).await
    }

    /// Serve what `answers` says on a free loopback port.
    pub async fn serving(answers: Arc<dyn Answers>) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = socket.local_addr().expect("address");
        let controls = Arc::new(Controls::default());
        let serving = controls.clone();
        let task = tokio::spawn(async move {
            let mut buffer = vec![0u8; 4096];
            loop {
                let Ok((length, from)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                serving.queries.fetch_add(1, Ordering::Relaxed);
                if serving.down.load(Ordering::Relaxed) {
                    continue;
                }
                let Ok(request) = Message::from_vec(&buffer[..length]) else {
                    continue;
                };
                let response = answer(answers.as_ref(), &serving, &request).await;
                if let Ok(bytes) = response.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        Self {
            address,
            controls,
            task,
        }
    }

    /// Stop answering (queries time out), or answer again.
    pub fn set_down(&self, down: bool) {
        self.controls.down.store(down, Ordering::Relaxed);
    }

    /// Answer every query with these values instead of Route 53's.
    pub fn answer_with(&self, values: Option<Vec<String>>) {
        *self.controls.fixed.lock() = values;
    }

    /// What an alias target (or any other name outside the zones) resolves to.
    pub fn set_alias(&self, name: &str, addresses: &[&str]) {
        self.controls.aliases.lock().insert(
            normalize(name),
            addresses.iter().map(|a| a.to_string()).collect(),
        );
    }

    /// Queries received, answered or not.
    pub fn queries(&self) -> usize {
        self.controls.queries.load(Ordering::Relaxed)
    }
}

fn normalize(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

async fn answer(answers: &dyn Answers, controls: &Controls, request: &Message) -> Message {
    let mut response = Message::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    let Some(query) = request.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    };
    response.add_query(query.clone());
    let name = normalize(&query.name().to_ascii());
    let rr_type = match query.query_type() {
        RecordType::A => RrType::A,
        RecordType::AAAA => RrType::AAAA,
        RecordType::CNAME => RrType::CNAME,
        _ => {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
    };
    let aliases = controls.aliases.lock().clone();
    let fixed = controls.fixed.lock().clone();
    let values = match (aliases.get(&name).cloned(), fixed) {
        (Some(addresses), _) => Some(addresses),
        (None, Some(fixed)) => Some(fixed),
        (None, None) => answers.answer(&name, &rr_type, &aliases).await,
    };
    match values {
        Some(values) => {
            for value in values {
                let data = match rr_type {
                    RrType::A => value.parse().ok().map(|ip| RData::A(A(ip))),
                    RrType::AAAA => value.parse().ok().map(|ip| RData::AAAA(AAAA(ip))),
                    _ => Name::from_ascii(normalize(&value))
                        .ok()
                        .map(|n| RData::CNAME(CNAME(n))),
                };
                if let Some(data) = data {
                    response.add_answer(Record::from_rdata(query.name().clone(), 60, data));
                }
            }
        }
        None => response.metadata.response_code = ResponseCode::NXDomain,
    }
    response
}

/// Route 53's failover rule over the record sets at one name and type:
/// PRIMARY while its check is healthy (a missing check counts healthy; a
/// calculated check is healthy while at least its threshold of children
/// are), else SECONDARY if healthy, else PRIMARY. `check` finds a check by
/// id, `up` says whether its endpoint is healthy.
fn failover_answer(
    records: &[RecordSet],
    check: impl Fn(&str) -> Option<HealthCheck>,
    up: impl Fn(&HealthCheck) -> bool,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    if records.is_empty() {
        return None;
    }
    let check_healthy = |id: &str| -> bool {
        let Some(found) = check(id) else {
            return true;
        };
        if found.config.kind == HealthCheckKind::Calculated {
            let healthy_children = found
                .config
                .children
                .iter()
                .filter(|child| check(child).is_none_or(|c| up(&c)))
                .count();
            return i32::try_from(healthy_children).unwrap_or(i32::MAX)
                >= found.config.health_threshold;
        }
        up(&found)
    };
    let healthy = |record: &RecordSet| record.health_check_id.as_deref().is_none_or(check_healthy);
    let side = |role: Failover| records.iter().find(|r| r.failover == Some(role));
    let chosen = match (side(Failover::Primary), side(Failover::Secondary)) {
        (Some(primary), Some(secondary)) if !healthy(primary) && healthy(secondary) => secondary,
        (Some(primary), _) => primary,
        (None, Some(secondary)) => secondary,
        (None, None) => &records[0],
    };
    Some(match &chosen.alias {
        Some(alias) => aliases
            .get(&normalize(&alias.dns_name))
            .cloned()
            .unwrap_or_default(),
        None => chosen.values.clone(),
    })
}
