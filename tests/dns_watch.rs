//! The DNS answer watch: the controller queries the zone's name servers (a
//! DNS server on loopback that answers from the in-memory Route 53 the way
//! Route 53's name servers do) and shows which side users are sent to in
//! `status.active`, the metrics and the Events, within one watch period.
//!
//! These tests run the watch's real loop and the real DNS client over UDP,
//! so they wait on what the watch reports, never for a fixed time; each wait
//! is bounded by what the watch promises (one period, plus a query timeout).

mod support;

use std::time::Duration;

use dnsfailover::api::{ActiveSide, FailbackState, FailoverRecordStatus, ObservationSource};
use dnsfailover::controller::dnswatch::DnsWatchSettings;
use dnsfailover::core::answer::AnswerSide;
use dnsfailover::core::failback::REQUEST_ANNOTATION;
use dnsfailover::route53::Operation;
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{Failover, HealthCheck, HealthCheckKind};
use kube::runtime::reflector::ObjectRef;
use support::cluster::{Harness, NS, SPEC};
use support::dns::DnsServer;
use tokio::sync::mpsc;

const PERIOD: Duration = Duration::from_millis(600);
const QUERY_TIMEOUT: Duration = Duration::from_millis(250);

/// A controller with the DNS watch running, over a DNS server that answers
/// from its in-memory Route 53.
struct Watched {
    h: Harness,
    dns: DnsServer,
    triggers: mpsc::Receiver<ObjectRef<dnsfailover::api::FailoverRecord>>,
}

enum Ask {
    /// The zone's own name servers, as GetHostedZone names them.
    ZoneNameServers,
    /// `--dns-server`.
    Server,
    /// `--dns-resolver` only (private zones, alias targets).
    Resolver,
}

impl Watched {
    async fn start(private: bool, ask: Ask) -> Self {
        let fake = FakeRoute53::new();
        let zone = if private {
            fake.create_zone("internal.example", true)
        } else {
            fake.create_zone("example.com", false)
        };
        let dns = DnsServer::start(fake.clone()).await;
        let mut settings = DnsWatchSettings {
            period: PERIOD,
            timeout: QUERY_TIMEOUT,
            ..DnsWatchSettings::default()
        };
        match ask {
            Ask::ZoneNameServers => {
                fake.set_name_servers(&zone.id, vec![dns.address.to_string()]);
            }
            Ask::Server => settings.servers = vec![dns.address],
            Ask::Resolver => {}
        }
        settings.resolvers = vec![dns.address];
        let h = Harness::with_dns(fake.clone(), zone, fake, settings);
        let (tx, triggers) = mpsc::channel(64);
        let (engine, health) = h.ctx.shared();
        let watch = h.ctx.dns().expect("the watch is on").clone();
        let gate = dnsfailover::controller::leader::Gate::open();
        tokio::spawn(watch.run(engine, gate, health, tx));
        Self { h, dns, triggers }
    }

    /// The next reconcile the watch asks for, within one period (and the
    /// failed queries it takes to give up on unreachable servers).
    async fn next_trigger(&mut self) -> String {
        let bound = PERIOD * 3 + QUERY_TIMEOUT * 4;
        match tokio::time::timeout(bound, self.triggers.recv()).await {
            Ok(Some(key)) => key.name,
            _ => panic!("the DNS watch asked for no reconcile within {bound:?}"),
        }
    }

    /// Reconcile what the watch asked for.
    async fn follow(&mut self) -> FailoverRecordStatus {
        let name = self.next_trigger().await;
        self.h.reconcile(&name).await.expect("reconcile");
        self.h.status(&name)
    }

    /// Reconcile what the watch asks for until the status shows `wanted`
    /// (a few answers may come between, as cached alias targets expire).
    async fn follow_until(
        &mut self,
        wanted: impl Fn(&FailoverRecordStatus) -> bool,
    ) -> FailoverRecordStatus {
        for _ in 0..4 {
            let status = self.follow().await;
            if wanted(&status) {
                return status;
            }
        }
        panic!("the status never became what was wanted");
    }

    fn metrics(&self) -> String {
        self.h.ctx.metrics().encode()
    }
}

fn dns_condition(status: &FailoverRecordStatus) -> (String, String, String) {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "DNSAnswer")
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_else(|| panic!("no DNSAnswer condition in {:?}", status.conditions))
}

fn source(status: &FailoverRecordStatus) -> Option<ObservationSource> {
    status.active_observation.as_ref().map(|o| o.source)
}

const SECOND: &str = r#"
hostedZone: {name: example.com}
name: other
primary:
  addresses: [52.94.236.30]
  healthCheck: {protocol: HTTP, port: 80}
secondary:
  addresses: [52.94.236.40]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_flip_shows_in_status_metric_and_event_within_one_watch_period_and_back() {
    let mut w = Watched::start(false, Ask::ZoneNameServers).await;
    w.h.create("examplefailover", SPEC);
    w.h.create("other", SECOND);
    w.h.converge("examplefailover").await;
    w.h.converge("other").await;
    // Both answers are seen once: each record gets its first observation.
    let mut first = vec![w.next_trigger().await, w.next_trigger().await];
    first.sort();
    assert_eq!(first, vec!["examplefailover", "other"]);
    w.h.reconcile("examplefailover").await.expect("reconcile");
    let status = w.h.status("examplefailover");
    assert_eq!(status.active, Some(ActiveSide::Primary));
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));
    assert_eq!(dns_condition(&status).1, "AnswerMatchesPrimary");

    // The poller has read both checks once; the round-robin would read the
    // other record's check next.
    let ctx = w.h.ctx.clone();
    let route53 = ctx.engine().route53();
    ctx.health().poll_once(route53).await;
    ctx.health().poll_once(route53).await;
    let flipped =
        w.h.status("examplefailover")
            .primary
            .and_then(|p| p.health_check_id);
    let flipped = flipped.expect("a check");
    let before = w.dns.queries();
    w.h.fake.set_health(&flipped, 0, 16);
    w.h.api.take_lines();

    let name = w.next_trigger().await;
    assert_eq!(name, "examplefailover");
    assert!(w.dns.queries() > before);
    // The changed record's check is read at once, ahead of the round-robin.
    let reads = |fake: &FakeRoute53| {
        fake.calls()
            .iter()
            .filter(|op| **op == Operation::GetHealthCheckStatus)
            .count()
    };
    let reads_before = reads(&w.h.fake);
    let changed = ctx.health().poll_once(route53).await;
    assert_eq!(changed.map(|k| k.name).as_deref(), Some("examplefailover"));
    assert_eq!(reads(&w.h.fake), reads_before + 1);

    w.h.reconcile("examplefailover").await.expect("reconcile");
    let status = w.h.status("examplefailover");
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));
    assert_eq!(dns_condition(&status).1, "AnswerMatchesSecondary");
    assert!(status.last_failover_time.is_some());
    w.h.assert_event("Warning", "FailoverToSecondary");
    let metrics = w.metrics();
    for line in [
        r#"dnsfailover_record_active_side{namespace="web",name="examplefailover",side="secondary"} 1"#,
        r#"dnsfailover_record_active_side{namespace="web",name="examplefailover",side="primary"} 0"#,
        r#"dnsfailover_record_endpoint_health{namespace="web",name="examplefailover",side="primary",health="unhealthy"} 1"#,
        r#"dnsfailover_failovers_total{namespace="web",name="examplefailover",to="secondary"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    // Failover needs no Route 53 write: Route 53 answers by itself.
    let writes_before_failback = w.h.fake.write_calls();

    // Automatic failback: the primary recovers, DNS follows, so does status.
    w.h.fake.set_health(&flipped, 16, 16);
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));
    w.h.assert_event("Normal", "FailbackToPrimary");
    assert!(w.metrics().contains(
        r#"dnsfailover_failovers_total{namespace="web",name="examplefailover",to="primary"} 1"#
    ));
    assert_eq!(w.h.fake.write_calls(), writes_before_failback);
    // The name servers were learnt once (GetHostedZone), not per query.
    let lookups =
        w.h.fake
            .calls()
            .iter()
            .filter(|op| **op == Operation::GetHostedZone)
            .count();
    assert_eq!(lookups, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_matches_neither_side_is_a_condition_and_an_event() {
    let mut w = Watched::start(false, Ask::Server).await;
    w.h.create("examplefailover", SPEC);
    w.h.converge("examplefailover").await;
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));

    w.dns.answer_with(Some(vec!["203.0.113.9".to_string()]));
    w.h.api.take_lines();
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Unknown));
    let (state, reason, message) = dns_condition(&status);
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("False", "AnswerMatchesNeitherSide")
    );
    assert!(message.contains("203.0.113.9"), "{message}");
    assert!(message.contains("52.94.236.10"), "{message}");
    w.h.assert_event("Warning", "AnswerMatchesNeitherSide");
    assert!(w.metrics().contains(
        r#"dnsfailover_record_active_side{namespace="web",name="examplefailover",side="unknown"} 1"#
    ));
    // The records in Route 53 are still right: Ready says so.
    assert_eq!(w.h.condition("examplefailover", "Ready").0, "True");

    w.dns.answer_with(None);
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));
    assert_eq!(dns_condition(&status).0, "True");
    w.h.assert_event("Normal", "DNSAnswerRestored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_name_servers_fall_back_to_polling_and_recover() {
    let mut w = Watched::start(false, Ask::Server).await;
    w.h.create("examplefailover", SPEC);
    w.h.converge("examplefailover").await;
    let status = w.follow().await;
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));

    w.dns.set_down(true);
    w.h.api.take_lines();
    let status = w.follow().await;
    let (state, reason, message) = dns_condition(&status);
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("Unknown", "NameServersUnreachable")
    );
    assert!(message.contains(&w.dns.address.to_string()), "{message}");
    assert_eq!(source(&status), Some(ObservationSource::HealthChecks));
    w.h.assert_event("Warning", "NameServersUnreachable");

    // Meanwhile the poller alone sees a failover.
    let check = status
        .primary
        .and_then(|p| p.health_check_id)
        .expect("check");
    w.h.fake.set_health(&check, 0, 16);
    let ctx = w.h.ctx.clone();
    assert!(
        ctx.health()
            .poll_once(ctx.engine().route53())
            .await
            .is_some()
    );
    w.h.reconcile("examplefailover").await.expect("reconcile");
    let status = w.h.status("examplefailover");
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    assert_eq!(source(&status), Some(ObservationSource::HealthChecks));

    // The name servers answer again: status follows the answers.
    w.dns.set_down(false);
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));
    assert_eq!(dns_condition(&status).1, "AnswerMatchesSecondary");
    w.h.assert_event("Normal", "DNSAnswerRestored");
}

const PRIVATE: &str = r#"
hostedZone: {name: internal.example, private: true}
name: app
primary:
  addresses: [10.0.0.10]
  healthCheck: {protocol: TCP, port: 443, ipAddress: 52.94.236.10}
secondary:
  addresses: [10.0.0.20]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_zone_is_asked_through_the_resolver_and_falls_back_without_an_answer() {
    let mut w = Watched::start(true, Ask::Resolver).await;
    w.h.create("app", PRIVATE);
    w.h.converge("app").await;
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));
    assert!(
        !w.h.fake.calls().contains(&Operation::GetHostedZone),
        "a private zone's name servers answer only inside the VPC: not asked"
    );

    w.dns.set_down(true);
    let status = w.follow().await;
    let (state, reason, message) = dns_condition(&status);
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("Unknown", "ResolverUnreachable")
    );
    assert!(message.contains("private hosted zone"), "{message}");
    assert_eq!(source(&status), Some(ObservationSource::HealthChecks));
}

const ALIAS: &str = r#"
hostedZone: {name: example.com}
name: lb
primary:
  alias: {dnsName: primary-lb.elb.example.net, hostedZoneId: Z35SXDOTRQ7X7K}
secondary:
  addresses: [52.94.236.20]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_answer_is_compared_with_what_its_target_resolves_to() {
    let mut w = Watched::start(false, Ask::Server).await;
    w.dns.set_alias(
        "primary-lb.elb.example.net",
        &["198.51.100.7", "198.51.100.8"],
    );
    w.h.create("lb", ALIAS);
    w.h.converge("lb").await;
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));

    // The target's addresses cannot be learnt: say so rather than guess.
    w.dns.set_alias("primary-lb.elb.example.net", &[]);
    w.dns.answer_with(Some(vec!["198.51.100.7".to_string()]));
    let status = w
        .follow_until(|s| dns_condition(s).1 != "AnswerMatchesPrimary")
        .await;
    let (state, reason, _) = dns_condition(&status);
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("Unknown", "AnswerAmbiguous")
    );
    assert_eq!(source(&status), Some(ObservationSource::HealthChecks));
}

fn manual() -> String {
    format!("{SPEC}failback: Manual\n")
}

/// The latch: the CALCULATED check the PRIMARY record uses, and its child.
fn latch(w: &Watched) -> (HealthCheck, String) {
    let latch =
        w.h.fake
            .health_checks()
            .into_iter()
            .find(|c| c.config.kind == HealthCheckKind::Calculated)
            .expect("a failback latch");
    let child = latch.config.children.first().cloned().expect("a child");
    (latch, child)
}

fn failback_state(status: &FailoverRecordStatus) -> FailbackState {
    status.failback.as_ref().expect("status.failback").state
}

/// Read the checks the watch asked for, then reconcile.
async fn read_and_reconcile(w: &mut Watched) -> FailoverRecordStatus {
    let ctx = w.h.ctx.clone();
    ctx.health().poll_once(ctx.engine().route53()).await;
    w.h.reconcile("examplefailover").await.expect("reconcile");
    w.h.status("examplefailover")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_manual_failback_dns_stays_on_the_secondary_until_a_person_approves() {
    let mut w = Watched::start(false, Ask::Server).await;
    w.h.create("examplefailover", &manual());
    w.h.converge("examplefailover").await;
    let (latch_check, primary_check) = latch(&w);
    assert!(!latch_check.config.holds());
    assert_eq!(
        w.h.side(Failover::Primary).health_check_id.as_deref(),
        Some(latch_check.id.as_str()),
        "the PRIMARY record uses the latch, never a disabled check"
    );
    let status = w.follow().await;
    assert_eq!(status.active, Some(ActiveSide::Primary));
    assert_eq!(failback_state(&status), FailbackState::Following);
    assert_eq!(
        status
            .primary
            .as_ref()
            .and_then(|p| p.health_check_id.as_deref()),
        Some(primary_check.as_str()),
        "status shows the check that reads the endpoint"
    );

    // The primary fails: Route 53 fails over, the watch sees it, the
    // primary's check is read at once, and the latch holds.
    w.h.fake.set_health(&primary_check, 0, 16);
    w.next_trigger().await;
    w.h.api.take_lines();
    let status = read_and_reconcile(&mut w).await;
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    assert_eq!(failback_state(&status), FailbackState::Held);
    assert!(latch(&w).0.config.holds());
    w.h.assert_event("Warning", "FailbackHeld");

    // The primary recovers: DNS stays on the secondary, status says why.
    w.h.fake.set_health(&primary_check, 16, 16);
    let status = read_and_reconcile(&mut w).await;
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    let failback = status.failback.clone().expect("failback");
    assert_eq!(failback.state, FailbackState::WaitingForApproval);
    assert!(
        failback
            .message
            .starts_with("primary healthy again, failback waiting for approval"),
        "{}",
        failback.message
    );
    w.h.assert_event("Normal", "FailbackWaitingForApproval");
    let key = ObjectRef::from_obj(&w.h.api.record(NS, "examplefailover"));
    let watch = w.h.ctx.dns().expect("watch").clone();
    watch.observe(w.h.ctx.engine().route53(), &key).await;
    assert!(
        matches!(
            watch.seen(&key),
            Some(dnsfailover::core::report::DnsSeen::Answer {
                side: AnswerSide::Secondary,
                ..
            })
        ),
        "the name servers still answer with the secondary"
    );

    // A person approves: the latch follows, the request is removed, DNS
    // returns to the primary.
    w.h.annotate("examplefailover", REQUEST_ANNOTATION, "failback");
    w.h.reconcile("examplefailover").await.expect("reconcile");
    assert!(!latch(&w).0.config.holds());
    w.h.assert_event("Normal", "FailbackApproved");
    let record = w.h.api.record(NS, "examplefailover");
    assert!(
        !record
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key(REQUEST_ANNOTATION),
        "the handled request is removed"
    );
    let status = w
        .follow_until(|s| s.active == Some(ActiveSide::Primary))
        .await;
    assert_eq!(failback_state(&status), FailbackState::Following);
    w.h.assert_event("Normal", "FailbackToPrimary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_failover_holds_the_secondary_and_an_early_approval_is_refused() {
    let mut w = Watched::start(false, Ask::Server).await;
    w.h.create("examplefailover", &manual());
    w.h.converge("examplefailover").await;
    w.follow().await;
    let (_, primary_check) = latch(&w);

    w.h.annotate("examplefailover", REQUEST_ANNOTATION, "failover");
    w.h.reconcile("examplefailover").await.expect("reconcile");
    assert!(latch(&w).0.config.holds());
    w.h.assert_event("Warning", "FailoverForced");
    let status = w
        .follow_until(|s| s.active == Some(ActiveSide::Secondary))
        .await;
    assert_eq!(source(&status), Some(ObservationSource::DNSAnswer));

    // The primary goes down during the maintenance; an approval now is refused.
    w.h.fake.set_health(&primary_check, 0, 16);
    let status = read_and_reconcile(&mut w).await;
    assert_eq!(failback_state(&status), FailbackState::Held);
    w.h.annotate("examplefailover", REQUEST_ANNOTATION, "failback");
    w.h.api.take_lines();
    w.h.reconcile("examplefailover").await.expect("reconcile");
    assert!(latch(&w).0.config.holds(), "still held");
    w.h.assert_event("Warning", "RequestRefused");
}

#[tokio::test]
async fn without_the_watch_active_comes_from_the_health_checks_and_no_dns_condition() {
    let h = Harness::new();
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    let status = h.status("examplefailover");
    assert_eq!(source(&status), Some(ObservationSource::HealthChecks));
    assert!(!status.conditions.iter().any(|c| c.type_ == "DNSAnswer"));
    assert_eq!(NS, "web");
}
