//! The DNS answer watch on the real control plane: the controller binary
//! (as the chart runs it, `dnsWatch` pointed at a DNS server this test runs on
//! loopback, answering from the emulator's records and health the way Route
//! 53's name servers do) sees a failover through DNS, and a user sees it with
//! `kubectl get failoverrecords` and on the metrics endpoint. The health
//! poller is slowed to one read every 1,000 s, so only the watch can be what
//! shows it in time.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use dnsfailover::route53::RrType;
use dnsfailover::route53::aws::AwsRoute53;
use futures::future::BoxFuture;
use serde_json::json;

use crate::support::control_plane::{control_plane, eventually};
use crate::support::dns::{Answers, DnsServer, PortAnswers};
use crate::world::{CONVERGE, World, record_yaml};

/// Answers from the emulator, once the world (and its emulator) exists.
struct Later(OnceLock<PortAnswers<AwsRoute53>>);

impl Answers for Later {
    fn answer<'a>(
        &'a self,
        name: &'a str,
        rr_type: &'a RrType,
        aliases: &'a BTreeMap<String, Vec<String>>,
    ) -> BoxFuture<'a, Option<Vec<String>>> {
        match self.0.get() {
            Some(answers) => answers.answer(name, rr_type, aliases),
            None => Box::pin(async { None }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_seen_through_dns_shows_in_kubectl_and_on_the_metrics_endpoint() {
    let later = Arc::new(Later(OnceLock::new()));
    let dns = DnsServer::serving(later.clone()).await;
    let ns = control_plane().namespace("dnswatch", &[]);
    let w = World::in_namespace(
        ns,
        json!({
            "dnsWatch": {"enabled": true, "period": "2s", "servers": [dns.address.to_string()]},
            "healthPollRate": 0.001,
        }),
    )
    .await;
    let _ = later.0.set(PortAnswers(w.moto.route53().await));
    let controller = w.controller("dnsfailover-0").await;
    w.apply(&record_yaml("site", "192.0.2.10", "192.0.2.20"));
    w.wait_ready("site");
    w.wait_status("site", "the watch's first answer", |o| {
        match o["status"]["activeObservation"]["source"].as_str() {
            Some("DNSAnswer") => Ok(()),
            other => Err(format!("source {other:?}")),
        }
    })
    .await;
    let row = w.kubectl_ok(&["get", "failoverrecords", "site", "--no-headers"]);
    assert!(row.contains("Primary"), "{row}");

    // The failover drill: Route 53 (the emulator's checkers say healthy, the
    // inverted check reads that as unhealthy) answers with the secondary.
    w.patch(
        "site",
        json!({"spec": {"primary": {"healthCheck": {"inverted": true}}}}),
    );
    let seen = eventually(CONVERGE, "kubectl get shows the secondary", || async {
        let row = w.kubectl_ok(&["get", "failoverrecords", "site", "--no-headers"]);
        if row.contains("Secondary") {
            Ok(row)
        } else {
            Err(row)
        }
    })
    .await;
    assert!(seen.contains("Secondary"), "{seen}");
    let object = w.get("site").expect("the object");
    assert_eq!(object["status"]["activeObservation"]["source"], "DNSAnswer");
    let condition = object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "DNSAnswer")
        .cloned()
        .expect("a DNSAnswer condition");
    assert_eq!(condition["reason"], "AnswerMatchesSecondary");
    eventually(CONVERGE, "the FailoverToSecondary event", || async {
        let reasons = w.event_reasons("site");
        if reasons.iter().any(|r| r == "FailoverToSecondary") {
            Ok(())
        } else {
            Err(format!("{reasons:?}"))
        }
    })
    .await;
    let sample = format!(
        "dnsfailover_record_active_side{{namespace=\"{}\",name=\"site\",side=\"secondary\"}}",
        w.ns
    );
    assert_eq!(controller.metric(&sample), 1.0, "{sample}");
    let failovers = format!(
        "dnsfailover_failovers_total{{namespace=\"{}\",name=\"site\",to=\"secondary\"}}",
        w.ns
    );
    assert_eq!(controller.metric(&failovers), 1.0, "{failovers}");
    assert!(controller.metric("dnsfailover_dns_queries_total{result=\"answered\"}") > 0.0);
}
