//! `dnsfailover run`: wire the controller together and run it until SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tracing::{error, info, warn};

use super::context::{Context, Readiness, Settings};
use super::dnswatch::{DnsWatch, DnsWatchSettings};
use super::entry::{error_policy, reconcile};
use super::http;
use super::leader::{Gate, Gated};
use super::metrics::Metrics;
use super::poller::HealthMonitor;
use super::targets::Gateway;
use crate::api::{FailoverRecord, Target};
use crate::backoff::{Jitter, Restarting, Schedule};
use crate::engine::Engine;
use crate::settings::{AwsArgs, LogFormat, parse_duration};

/// Options of `dnsfailover run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Watch FailoverRecords in this namespace only (repeatable). Without it,
    /// all namespaces are watched, which needs cluster-wide RBAC.
    #[arg(
        long = "namespace",
        env = "DNSFAILOVER_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,

    /// Only reconcile FailoverRecords matching this label selector, such as
    /// `team=web` (for sharding between installations).
    #[arg(long, env = "DNSFAILOVER_LABEL_SELECTOR")]
    pub label_selector: Option<String>,

    /// How often every FailoverRecord is compared with Route 53 again, which
    /// corrects changes made outside dnsfailover (jittered by ±10%).
    #[arg(long, env = "DNSFAILOVER_RESYNC", default_value = "5m", value_parser = parse_duration)]
    pub resync: Duration,

    /// Compute, log and publish (as Events) the plans, but write nothing to
    /// Route 53 and no status.
    #[arg(long, env = "DNSFAILOVER_DRY_RUN")]
    pub dry_run: bool,

    /// Log format on stderr.
    #[arg(long, env = "DNSFAILOVER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, env = "DNSFAILOVER_HTTP_ADDRESS", default_value = "0.0.0.0:8080")]
    pub http_address: SocketAddr,

    /// Elect a leader on a Lease, so that only one replica writes. On by
    /// default: even one replica runs twice for a moment during a rolling update.
    #[arg(long, env = "DNSFAILOVER_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,

    /// Name of the Lease used for leader election.
    #[arg(long, env = "DNSFAILOVER_LEASE_NAME", default_value = "dnsfailover")]
    pub lease_name: String,

    /// Namespace of the Lease; defaults to the pod's own namespace.
    #[arg(long, env = "DNSFAILOVER_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// Name of this pod: the leader identity and the Events' reporting instance.
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,

    /// GetHealthCheckStatus requests per second for reading health. Route 53
    /// allows 1 per second for the whole account; each check is read every
    /// (number of checks / this rate) seconds.
    #[arg(long, env = "DNSFAILOVER_HEALTH_POLL_RATE", default_value_t = 0.5, value_parser = parse_rate)]
    pub health_poll_rate: f64,

    /// Record changes of one zone go out together once none has arrived for
    /// this long (twelve times this at most), so that they share change
    /// batches; a lone change waits this long.
    #[arg(long, env = "DNSFAILOVER_BATCH_WINDOW", default_value = "5s", value_parser = parse_duration)]
    pub batch_window: Duration,

    /// FailoverRecords reconciled at the same time, per watched namespace
    /// (each `--namespace` runs a controller of its own; without it, one for
    /// all). Reconciles mostly wait for the rate limiter, and more of them at
    /// once share more change batches.
    #[arg(long, env = "DNSFAILOVER_CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,

    /// Allow `serviceRef` and `ingressRef` targets (needs read access to
    /// Services and Ingresses).
    #[arg(long, env = "DNSFAILOVER_CLUSTER_TARGETS", default_value_t = true, action = clap::ArgAction::Set)]
    pub cluster_targets: bool,

    /// Allow `gatewayRef` targets and watch Gateways
    /// (gateway.networking.k8s.io/v1). Off by default: it needs the Gateway
    /// API's CRDs installed and read access to Gateways.
    #[arg(long, env = "DNSFAILOVER_GATEWAY_API", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub gateway_api: bool,

    /// Watch which side DNS answers with: query the zone's authoritative
    /// name servers for every managed record once per --dns-watch-period,
    /// and read a record's health checks at once when its answer changes.
    #[arg(long, env = "DNSFAILOVER_DNS_WATCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub dns_watch: bool,

    /// How often each record is queried (jittered by ±10%, the queries
    /// spread over the period).
    #[arg(long, env = "DNSFAILOVER_DNS_WATCH_PERIOD", default_value = "30s", value_parser = parse_duration)]
    pub dns_watch_period: Duration,

    /// Ask these DNS servers (`address` or `address:port`, repeatable)
    /// instead of each zone's own name servers: for split-horizon setups.
    #[arg(long = "dns-server", env = "DNSFAILOVER_DNS_SERVERS", value_delimiter = ',', value_parser = parse_dns_server)]
    pub dns_servers: Vec<SocketAddr>,

    /// The recursive resolver (`address` or `address:port`, repeatable) for
    /// private hosted zones, alias targets and the name servers' host names:
    /// in a VPC, the VPC resolver (169.254.169.253). Default: the system's.
    #[arg(long = "dns-resolver", env = "DNSFAILOVER_DNS_RESOLVERS", value_delimiter = ',', value_parser = parse_dns_server)]
    pub dns_resolvers: Vec<SocketAddr>,

    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .map_err(|_| {
            format!(
                "{s:?}: use an IP address, optionally with a port (192.0.2.53 or 192.0.2.53:5353)"
            )
        })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!(
            "{s:?}: use a rate above 0 and at most 1 (Route 53's account budget)"
        )),
    }
}

/// A failure that stops the controller from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot reach the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot start leader election: {0}")]
    Lease(String),
    #[error("cannot serve HTTP on {address}: {source}")]
    Http {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// FailoverRecords in `store` whose targets refer to `object`.
pub fn referring<K: kube::Resource>(
    store: &Store<FailoverRecord>,
    object: &K,
    refers: impl Fn(&Target) -> Option<&str>,
) -> Vec<ObjectRef<FailoverRecord>> {
    let name = object.meta().name.as_deref().unwrap_or_default();
    let namespace = object.meta().namespace.as_deref();
    store
        .state()
        .iter()
        .filter(|fr| fr.namespace().as_deref() == namespace)
        .filter(|fr| {
            [&fr.spec.primary, &fr.spec.secondary]
                .into_iter()
                .flatten()
                .any(|t| refers(t) == Some(name))
        })
        .map(|fr| ObjectRef::from_obj(&**fr))
        .collect()
}

pub async fn run(args: RunArgs) -> Result<(), StartError> {
    let client = Client::try_default().await?;
    let metrics = Arc::new(Metrics::default());
    let readiness = Arc::new(Readiness::default());
    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: finishing the reconciles in flight");
        let _ = shutdown_tx.send(true);
    });
    let stopped = move || {
        let mut shutdown = shutdown.clone();
        async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        }
    };

    let identity = args
        .pod_name
        .clone()
        .unwrap_or_else(|| format!("dnsfailover-{}", fastrand::u64(..)));
    let gate = if args.leader_election {
        let namespace = args
            .lease_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let manager =
            kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &args.lease_name)
                .with_namespace(&namespace)
                .with_identity(&identity)
                .with_duration(15)
                .with_grace(5)
                .build()
                .await
                .map_err(|e| StartError::Lease(e.to_string()))?;
        let (receiver, _task) = manager.watch().await;
        info!(lease = %args.lease_name, namespace, identity, "waiting to become the leader");
        Gate::following(receiver)
    } else {
        Gate::open()
    };
    let metrics_hook = metrics.clone();
    // Every account a hosted zone may be in, each with its own budget.
    let r53 = args
        .aws
        .routed()
        .with_observer(Arc::new(move |op, result, waited| {
            metrics_hook.route53_request(op, result, waited)
        }));
    let engine = Arc::new(Engine::new(
        Gated::new(r53, gate.clone()),
        args.aws.owner_id.clone(),
    ));
    let health = Arc::new(HealthMonitor::new(Duration::from_secs_f64(
        1.0 / args.health_poll_rate,
    )));
    let dns = args.dns_watch.then(|| {
        Arc::new(DnsWatch::new(
            DnsWatchSettings {
                period: args.dns_watch_period,
                servers: args.dns_servers.clone(),
                resolvers: args.dns_resolvers.clone(),
                ..DnsWatchSettings::default()
            },
            metrics.clone(),
        ))
    });
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "dnsfailover".into(),
            instance: Some(identity.clone()),
        },
    );
    let settings = Settings {
        resync: args.resync,
        dry_run: args.dry_run,
        cluster_targets: args.cluster_targets,
        gateway_api: args.gateway_api,
        ..Settings::default()
    };
    let mut builder = Context::builder(client.clone(), engine.clone()).health(health.clone());
    if let Some(dns) = &dns {
        builder = builder.dns(dns.clone());
    }
    let ctx = Arc::new(
        builder
            .recorder(recorder)
            .metrics(metrics.clone())
            .gate(gate.clone())
            .readiness(readiness.clone())
            .settings(settings)
            .batch_window(args.batch_window)
            .build(),
    );

    {
        let mut gate = gate.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            loop {
                let leading = gate.is_open();
                metrics.leader.set(i64::from(leading));
                if !leading {
                    metrics.forget_records();
                }
                info!(leading, "leadership");
                if leading {
                    let _ = gate.closed().await;
                } else {
                    gate.opened().await;
                }
            }
        });
    }

    let namespaces: Vec<Option<String>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().cloned().map(Some).collect()
    };
    let mut triggers = Vec::new();
    let mut stores = Vec::new();
    let mut controllers = Vec::new();
    for namespace in &namespaces {
        let api = |client: &Client| -> Api<FailoverRecord> {
            match namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            }
        };
        let mut config = watcher::Config::default();
        if let Some(selector) = &args.label_selector {
            config = config.labels(selector);
        }
        let (trigger, triggered) = mpsc::channel::<ObjectRef<FailoverRecord>>(256);
        triggers.push((namespace.clone(), trigger));
        // The store keeps every FailoverRecord for the life of the process;
        // it keeps them without what the controller never reads.
        let writer = reflector::store::Writer::<FailoverRecord>::default();
        let store = writer.as_reader();
        let records = watcher(api(&client), config)
            .modify(slim)
            .reflect(writer)
            .applied_objects();
        let mut controller = Controller::for_stream(records, store.clone())
            .with_config(controller::Config::default().concurrency(args.concurrency))
            .trigger_backoff(WatchBackoff::new());
        stores.push(store.clone());
        if args.cluster_targets {
            let (services, ingresses): (Api<Service>, Api<Ingress>) = match namespace {
                Some(ns) => (
                    Api::namespaced(client.clone(), ns),
                    Api::namespaced(client.clone(), ns),
                ),
                None => (Api::all(client.clone()), Api::all(client.clone())),
            };
            let by_service = store.clone();
            let by_ingress = store.clone();
            controller = controller
                .watches(services, watcher::Config::default(), move |svc| {
                    referring(&by_service, &svc, |t| {
                        t.service_ref.as_ref().map(|r| r.name.as_str())
                    })
                })
                .watches(ingresses, watcher::Config::default(), move |ing| {
                    referring(&by_ingress, &ing, |t| {
                        t.ingress_ref.as_ref().map(|r| r.name.as_str())
                    })
                });
        }
        if args.gateway_api {
            // Only with the flag: without the Gateway API's CRDs this watch
            // would fail (and be retried) for ever.
            let gateways: Api<Gateway> = match namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let by_gateway = store.clone();
            controller = controller.watches(gateways, watcher::Config::default(), move |gw| {
                referring(&by_gateway, &gw, |t| {
                    t.gateway_ref.as_ref().map(|r| r.name.as_str())
                })
            });
        }
        let ctx = ctx.clone();
        let run = controller
            .reconcile_on(ReceiverStream::new(triggered))
            .graceful_shutdown_on(stopped())
            .run(reconcile, error_policy, ctx)
            .for_each(|result| async move {
                if let Err(e) = result {
                    // Reconcile errors are logged by the error policy; these
                    // are watch or queue problems, retried by kube-runtime.
                    warn!(error = %e, "controller event");
                }
            });
        controllers.push(run);
    }

    // Health changes found by the poller trigger a reconcile in the
    // controller that watches the object's namespace.
    let (changed, mut changes) = mpsc::channel::<ObjectRef<FailoverRecord>>(1024);
    tokio::spawn(async move {
        while let Some(object) = changes.recv().await {
            let route = triggers
                .iter()
                .find(|(ns, _)| ns.is_none() || ns.as_deref() == object.namespace.as_deref());
            if let Some((_, trigger)) = route {
                let _ = trigger.send(object).await;
            }
        }
    });
    if let Some(dns) = dns {
        let engine = engine.clone();
        let health = health.clone();
        let gate = gate.clone();
        let changed = changed.clone();
        tokio::spawn(async move {
            dns.run(engine, gate, health, changed).await;
        });
    }
    {
        let engine = engine.clone();
        let health = health.clone();
        let gate = gate.clone();
        tokio::spawn(async move { health.run(engine.route53(), gate, changed).await });
    }
    {
        let readiness = readiness.clone();
        let metrics = metrics.clone();
        let stores = stores.clone();
        tokio::spawn(async move {
            for store in &stores {
                // kube's ready signal wakes only the task that polled it
                // last, which is the controller's own wait for the store: a
                // second waiter is never woken (seen on the real control
                // plane: /readyz stayed 503). Ask again every half second.
                while tokio::time::timeout(Duration::from_millis(500), store.wait_until_ready())
                    .await
                    .is_err()
                {}
            }
            readiness.synced.store(true, Ordering::Relaxed);
            loop {
                metrics
                    .records_managed
                    .set(stores.iter().map(|s| s.len() as i64).sum());
                tokio::time::sleep(Duration::from_secs(15)).await;
            }
        });
    }

    let server = http::serve(
        args.http_address,
        http::router(metrics, readiness),
        stopped(),
    );
    info!(address = %args.http_address, namespaces = ?args.namespaces, dry_run = args.dry_run, "dnsfailover controller running");
    let (served, _) = tokio::join!(server, futures::future::join_all(controllers));
    served.map_err(|source| StartError::Http {
        address: args.http_address,
        source,
    })?;
    info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// What the reflector stores of a FailoverRecord: all of it but the managed
/// fields and kubectl's copy of the last applied manifest, which together
/// are most of an object's size (5 of 8.6 KB for the seed example applied
/// with kubectl) and which nothing here reads. At 1,000 records they were
/// most of the controller's memory.
fn slim(record: &mut FailoverRecord) {
    record.managed_fields_mut().clear();
    record
        .annotations_mut()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
}

/// The backoff of the watches that trigger reconciles. kube-runtime's default
/// (client-go's reflector: up to 30 s, reset after 2 quiet minutes) is shared
/// by every watch of a controller: after an apiserver restart each watch
/// answers "too old resource version" once before it lists again, and each
/// answer waited the whole grown delay, so edits made right after the restart
/// reached the controller minutes late (the cluster suite's outage test).
/// One replica per installation may retry sooner: up to 5 s, jittered, and
/// from the start again after any event.
struct WatchBackoff(Restarting);

impl WatchBackoff {
    fn new() -> Self {
        Self(Restarting::new(Schedule {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(5),
            jitter: Jitter::Half,
        }))
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0.next()
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.0.reset();
    }
}
