//! Hosted zones in other AWS accounts, through the controller: a
//! FailoverRecord whose zone names a role is reconciled in that role's
//! account, with its own budget, next to one in the controller's own.

mod support;

use std::sync::Arc;

use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::routed::{Connect, Routed, account_of};
use dnsfailover::route53::{Backoff, Failover, RateBudget};
use support::apiserver::ApiServer;
use support::cluster::{Harness, settings};

const DNS_ACCOUNT: &str = "arn:aws:iam::111111111111:role/dns";

#[tokio::test]
async fn a_zone_in_another_account_is_reconciled_there_through_its_role() {
    let own = FakeRoute53::new();
    let central = FakeRoute53::account(1_000_000);
    own.set_polls_until_insync(0);
    central.set_polls_until_insync(0);
    let own_zone = own.create_zone("example.com", false);
    let central_zone = central.create_zone("example.net", false);
    let (by_own, by_role) = (own.clone(), central.clone());
    let connect: Connect<FakeRoute53> = Arc::new(move |role: Option<String>| {
        let fake = match role.as_deref().and_then(account_of) {
            Some("111111111111") => by_role.clone(),
            _ => by_own.clone(),
        };
        Box::pin(async move { fake })
    });
    let port = Routed::new(RateBudget::default(), Backoff::default(), [], connect);
    let h = Harness::over(
        ApiServer::default(),
        own.clone(),
        own_zone,
        port,
        settings(),
    );

    h.create("local", support::CLASSIC);
    h.create(
        "central",
        &support::CLASSIC.replace(
            "hostedZone: {name: example.com}",
            &format!("hostedZone: {{name: example.net, roleArn: \"{DNS_ACCOUNT}\"}}"),
        ),
    );
    h.converge("local").await;
    h.converge("central").await;
    assert_eq!(h.condition("central", "Ready").0, "True");
    assert_eq!(h.condition("local", "Ready").0, "True");

    let sides = |fake: &FakeRoute53, zone: &str| {
        fake.records(zone)
            .into_iter()
            .filter_map(|r| r.failover)
            .collect::<Vec<Failover>>()
    };
    assert_eq!(
        sides(&central, &central_zone.id).len(),
        2,
        "the pair is in the DNS account"
    );
    assert_eq!(central.health_checks().len(), 1, "and its check");
    assert_eq!(
        own.health_checks().len(),
        1,
        "the local record's check stays local"
    );
    assert_eq!(
        h.status("central").hosted_zone_id.as_deref(),
        Some(central_zone.id.as_str())
    );

    // A restart: ids from the status are found in the right account again.
    let again = h.restart_with(
        Routed::new(
            RateBudget::default(),
            Backoff::default(),
            [],
            Arc::new({
                let (own, central) = (own.clone(), central.clone());
                move |role: Option<String>| {
                    let fake = match role.as_deref().and_then(account_of) {
                        Some("111111111111") => central.clone(),
                        _ => own.clone(),
                    };
                    Box::pin(async move { fake })
                }
            }),
        ),
        settings(),
    );
    central.clear_calls();
    own.clear_calls();
    again.reconcile("central").await.expect("reconcile");
    assert_eq!(
        central.write_calls(),
        0,
        "nothing to change after a restart"
    );
    assert_eq!(own.write_calls(), 0);

    h.delete("central");
    again.finish_deletion("central").await;
    assert!(central.health_checks().is_empty());
    assert!(sides(&central, &central_zone.id).is_empty());
    assert_eq!(
        own.health_checks().len(),
        1,
        "the local record is untouched"
    );
}
