//! Two accounts behind one port: each request reaches the account it
//! concerns, listings span both, and each account has a budget of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::route53::fake::FakeRoute53;
use crate::route53::{Counted, HealthCheckConfig, Operation, list_all_health_checks};

const ROLE_A: &str = "arn:aws:iam::111111111111:role/dns";
const ROLE_A2: &str = "arn:aws:iam::111111111111:role/other";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/dns";

/// A fake Route 53 per account (roles of one account share one), and the
/// port over them.
fn accounts(budget: RateBudget) -> (BTreeMap<&'static str, FakeRoute53>, Routed<FakeRoute53>) {
    let fakes: BTreeMap<&'static str, FakeRoute53> = [
        ("own", FakeRoute53::new()),
        ("111111111111", FakeRoute53::account(1_000_000)),
        ("222222222222", FakeRoute53::account(2_000_000)),
    ]
    .into_iter()
    .collect();
    let by_account = fakes.clone();
    let connect: Connect<FakeRoute53> = Arc::new(move |role: Option<String>| {
        let account = role
            .as_deref()
            .and_then(account_of)
            .unwrap_or("own")
            .to_string();
        let fake = by_account
            .get(account.as_str())
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { fake })
    });
    let routed = Routed::new(
        budget,
        Backoff::default(),
        [("b.example".to_string(), ROLE_B.to_string())],
        connect,
    );
    (fakes, routed)
}

fn route(zone: &str, prefix: &str, role: Option<&str>) -> Route {
    Route {
        zone: zone.into(),
        resource_prefix: prefix.into(),
        role: role.map(str::to_string),
    }
}

#[tokio::test]
async fn each_request_reaches_the_account_of_its_zone_and_listings_span_them_all() {
    let (fakes, routed) = accounts(RateBudget::default());
    let zone_a = fakes["111111111111"].create_zone("a.example", false);
    let zone_b = fakes["222222222222"].create_zone("b.example", false);
    fakes["own"].create_zone("own.example", false);

    // a.example by the role its spec names; b.example by the zone map.
    assert!(routed.route(&route("a.example", "df1-aaaa-1111-", Some(ROLE_A))));
    assert!(!routed.route(&route("b.example", "df1-aaaa-2222-", None)));
    let found = routed
        .list_hosted_zones_by_name("a.example")
        .await
        .expect("a.example in account 1");
    assert_eq!(found, vec![zone_a.clone()]);
    assert_eq!(
        routed.get_hosted_zone(&zone_b.id).await.expect("by id"),
        zone_b
    );

    let config = HealthCheckConfig::http("52.94.236.10", 10);
    let in_a = routed
        .create_health_check("df1-aaaa-1111-p-1", &config)
        .await
        .expect("created in account 1");
    let in_b = routed
        .create_health_check("df1-aaaa-2222-p-1", &config)
        .await
        .expect("created in account 2");
    assert_eq!(fakes["111111111111"].health_checks().len(), 1);
    assert_eq!(fakes["222222222222"].health_checks().len(), 1);
    assert!(fakes["own"].health_checks().is_empty());

    let all = list_all_health_checks(&routed)
        .await
        .expect("both accounts");
    let mut ids: Vec<String> = all.into_iter().map(|c| c.id).collect();
    ids.sort();
    let mut expected = vec![in_a.id.clone(), in_b.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let zones = crate::route53::list_all_hosted_zones(&routed)
        .await
        .expect("every account's zones");
    assert_eq!(zones.len(), 3);

    // By id: each goes where the check lives.
    routed
        .delete_health_check(&in_b.id)
        .await
        .expect("deleted in account 2");
    assert!(fakes["222222222222"].health_checks().is_empty());
    assert_eq!(fakes["111111111111"].health_checks().len(), 1);
    assert_eq!(
        fakes["111111111111"]
            .calls()
            .iter()
            .filter(|op| **op == Operation::DeleteHealthCheck)
            .count(),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn two_accounts_have_two_budgets_and_two_roles_of_one_account_share_one() {
    let budget = RateBudget {
        requests_per_second: 2.0,
        burst: 2.0,
    };
    let (fakes, routed) = accounts(budget);
    let zone_a = fakes["111111111111"].create_zone("a.example", false);
    let zone_b = fakes["222222222222"].create_zone("b.example", false);
    routed.route(&route("a.example", "df1-a-1-", Some(ROLE_A)));
    routed.route(&route(&zone_a.id, "df1-a-1-", Some(ROLE_A)));
    routed.route(&route("b.example", "df1-b-1-", Some(ROLE_B)));
    routed.route(&route(&zone_b.id, "df1-b-1-", Some(ROLE_B)));

    // Ten requests to each account at once: 2 at once, then 2 a second,
    // in each account side by side: 4 s, not the 9 s of one shared budget.
    let started = tokio::time::Instant::now();
    let each = |zone: Zone| {
        let routed = routed.clone();
        async move {
            for _ in 0..10 {
                routed
                    .list_record_sets_page(&zone.id, None)
                    .await
                    .expect("listed");
            }
        }
    };
    futures::future::join(each(zone_a.clone()), each(zone_b.clone())).await;
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(3900)..Duration::from_millis(4200)).contains(&elapsed),
        "two budgets side by side: {elapsed:?}"
    );
    assert_eq!(fakes["111111111111"].calls().len(), 10);
    assert_eq!(fakes["222222222222"].calls().len(), 10);

    // Another role of account 1: the same budget, already spent.
    let zone_a2 = fakes["111111111111"].create_zone("a2.example", false);
    routed.route(&route(&zone_a2.id, "df1-a-2-", Some(ROLE_A2)));
    let started = tokio::time::Instant::now();
    routed
        .list_record_sets_page(&zone_a2.id, None)
        .await
        .expect("listed");
    routed
        .list_record_sets_page(&zone_a.id, None)
        .await
        .expect("listed");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "one account, one budget: {:?}",
        started.elapsed()
    );
    assert_eq!(routed.stats().total_requests(), 22, "counted together");
}
