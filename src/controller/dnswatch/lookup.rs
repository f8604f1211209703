//! DNS queries through hickory: to a zone's authoritative name servers
//! (recursion not desired, no cache: the answer Route 53 gives now), and to a
//! recursive resolver for alias targets, name-server host names and private
//! zones.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use parking_lot::Mutex;

use crate::route53::RrType;

/// What one query got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queried {
    /// The values of the queried type (addresses, or a host name).
    Values(Vec<String>),
    /// The server answered that the name has no records of this type.
    NoRecords,
    /// No usable answer: timeout, refusal, server failure, no route.
    Failed(String),
}

/// Resolvers, built once per set of servers.
pub struct Dns {
    /// The recursive resolver for alias targets, name-server host names and
    /// private zones; `None`: the system's (`/etc/resolv.conf`).
    resolvers: Option<Vec<SocketAddr>>,
    timeout: Duration,
    built: Mutex<HashMap<(Vec<SocketAddr>, bool), TokioResolver>>,
    system: Mutex<Option<TokioResolver>>,
}

impl Dns {
    pub fn new(resolvers: Vec<SocketAddr>, timeout: Duration) -> Self {
        Self {
            resolvers: (!resolvers.is_empty()).then_some(resolvers),
            timeout,
            built: Mutex::default(),
            system: Mutex::default(),
        }
    }

    /// The configured recursive resolvers, for messages.
    pub fn resolver_names(&self) -> String {
        match &self.resolvers {
            Some(list) => join(list),
            None => "of the system (/etc/resolv.conf)".to_string(),
        }
    }

    pub fn configured_resolvers(&self) -> Option<&[SocketAddr]> {
        self.resolvers.as_deref()
    }

    fn options(&self, recursive: bool) -> ResolverOpts {
        let mut options = ResolverOpts::default();
        // Every round must see what the servers answer now.
        options.cache_size = 0;
        options.recursion_desired = recursive;
        options.timeout = self.timeout;
        options.attempts = 1;
        options.ndots = 0;
        options.use_hosts_file = ResolveHosts::Never;
        options.try_tcp_on_error = true;
        options
    }

    fn resolver_for(
        &self,
        servers: &[SocketAddr],
        recursive: bool,
    ) -> Result<TokioResolver, String> {
        let key = (servers.to_vec(), recursive);
        if let Some(resolver) = self.built.lock().get(&key) {
            return Ok(resolver.clone());
        }
        let name_servers = servers
            .iter()
            .map(|address| {
                let mut udp = ConnectionConfig::udp();
                udp.port = address.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = address.port();
                NameServerConfig::new(address.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut builder = TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], name_servers),
            TokioRuntimeProvider::default(),
        );
        *builder.options_mut() = self.options(recursive);
        let resolver = builder.build().map_err(|e| e.to_string())?;
        self.built.lock().insert(key, resolver.clone());
        Ok(resolver)
    }

    fn system_resolver(&self) -> Result<TokioResolver, String> {
        if let Some(resolver) = self.system.lock().as_ref() {
            return Ok(resolver.clone());
        }
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver configuration: {e}"))?;
        let options = self.options(true);
        // The system's search domains do not apply: names are fully qualified.
        *builder.options_mut() = options;
        let resolver = builder.build().map_err(|e| e.to_string())?;
        *self.system.lock() = Some(resolver.clone());
        Ok(resolver)
    }

    /// Ask `servers` for `name` (fully qualified): authoritative servers
    /// unless `recursive`.
    pub async fn query(
        &self,
        servers: &[SocketAddr],
        recursive: bool,
        name: &str,
        rr_type: &RrType,
    ) -> Queried {
        match self.resolver_for(servers, recursive) {
            Ok(resolver) => lookup(&resolver, name, rr_type).await,
            Err(e) => Queried::Failed(e),
        }
    }

    /// Resolve `name` through the recursive resolver.
    pub async fn resolve(&self, name: &str, rr_type: &RrType) -> Queried {
        let resolver = match &self.resolvers {
            Some(servers) => self.resolver_for(servers, true),
            None => self.system_resolver(),
        };
        match resolver {
            Ok(resolver) => lookup(&resolver, name, rr_type).await,
            Err(e) => Queried::Failed(e),
        }
    }

    /// The addresses of a name server as GetHostedZone names it: a host name
    /// (port 53), or an address with or without a port.
    pub async fn server_addresses(&self, server: &str) -> Result<Vec<SocketAddr>, String> {
        if let Ok(address) = server.parse::<SocketAddr>() {
            return Ok(vec![address]);
        }
        if let Ok(ip) = server.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, 53)]);
        }
        let mut addresses = Vec::new();
        let mut failure = None;
        for rr_type in [RrType::A, RrType::AAAA] {
            match self.resolve(&fully_qualified(server), &rr_type).await {
                Queried::Values(values) => addresses.extend(
                    values
                        .iter()
                        .filter_map(|v| v.parse::<IpAddr>().ok())
                        .map(|ip| SocketAddr::new(ip, 53)),
                ),
                Queried::NoRecords => {}
                Queried::Failed(e) => failure = Some(e),
            }
        }
        if addresses.is_empty() {
            Err(failure.unwrap_or_else(|| format!("{server} has no address")))
        } else {
            Ok(addresses)
        }
    }
}

async fn lookup(resolver: &TokioResolver, name: &str, rr_type: &RrType) -> Queried {
    let record_type = match rr_type {
        RrType::A => RecordType::A,
        RrType::AAAA => RecordType::AAAA,
        RrType::CNAME => RecordType::CNAME,
        other => return Queried::Failed(format!("{} records are not watched", other.as_str())),
    };
    match resolver.lookup(fully_qualified(name), record_type).await {
        Ok(found) => {
            let values: Vec<String> = found
                .answers()
                .iter()
                .filter(|r| r.record_type() == record_type)
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    RData::AAAA(a) => Some(a.0.to_string()),
                    RData::CNAME(c) => Some(c.0.to_ascii()),
                    _ => None,
                })
                .collect();
            if values.is_empty() {
                Queried::NoRecords
            } else {
                Queried::Values(values)
            }
        }
        Err(e) if e.is_no_records_found() => Queried::NoRecords,
        Err(e) => Queried::Failed(e.to_string()),
    }
}

fn fully_qualified(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

pub fn join(servers: &[SocketAddr]) -> String {
    servers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
