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
use dnsfailover::route53::{Failover, HealthCheckKind, RecordSet, RrType};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use parking_lot::Mutex;
use tokio::net::UdpSocket;

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
    /// Serve `fake`'s zones on a free loopback port.
    pub async fn start(fake: FakeRoute53) -> Self {
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
                let response = answer(&fake, &serving, &request);
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

fn answer(fake: &FakeRoute53, controls: &Controls, request: &Message) -> Message {
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
    let alias = controls.aliases.lock().get(&name).cloned();
    let values = match (alias, controls.fixed.lock().clone()) {
        (Some(addresses), _) => Some(addresses),
        (None, Some(fixed)) => Some(fixed),
        (None, None) => route53_answer(fake, controls, &name, &rr_type),
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

/// What Route 53 would answer for `name`, or `None` for a name it does not hold.
fn route53_answer(
    fake: &FakeRoute53,
    controls: &Controls,
    name: &str,
    rr_type: &RrType,
) -> Option<Vec<String>> {
    let records: Vec<RecordSet> = fake
        .zone_ids()
        .into_iter()
        .flat_map(|zone| fake.records(&zone))
        .filter(|r| r.name == name && &r.rr_type == rr_type)
        .collect();
    if records.is_empty() {
        return None;
    }
    let side = |role: Failover| records.iter().find(|r| r.failover == Some(role));
    let checks = fake.health_checks();
    // Route 53 counts a missing check healthy; a calculated check is healthy
    // while at least its threshold of children are.
    let check_healthy = |id: &str| -> bool {
        let Some(check) = checks.iter().find(|c| c.id == id) else {
            return true;
        };
        if check.config.kind == HealthCheckKind::Calculated {
            let up = check
                .config
                .children
                .iter()
                .filter(|child| {
                    checks.iter().find(|c| &c.id == *child).is_none_or(|c| {
                        health::summarize(&fake.observations(&c.id), &c.config).health
                            != Health::Unhealthy
                    })
                })
                .count();
            return i32::try_from(up).unwrap_or(i32::MAX) >= check.config.health_threshold;
        }
        health::summarize(&fake.observations(id), &check.config).health != Health::Unhealthy
    };
    let healthy = |record: &RecordSet| record.health_check_id.as_deref().is_none_or(check_healthy);
    let chosen = match (side(Failover::Primary), side(Failover::Secondary)) {
        (Some(primary), Some(secondary)) if !healthy(primary) && healthy(secondary) => secondary,
        (Some(primary), _) => primary,
        (None, Some(secondary)) => secondary,
        (None, None) => &records[0],
    };
    Some(match &chosen.alias {
        Some(alias) => controls
            .aliases
            .lock()
            .get(&normalize(&alias.dns_name))
            .cloned()
            .unwrap_or_default(),
        None => chosen.values.clone(),
    })
}
