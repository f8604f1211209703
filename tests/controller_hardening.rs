//! The controller side of issue 11's fixes, where it shares the code path
//! with the CLI: a CNAME beside another type at one name, the guard that
//! keeps a health check a record set in another zone uses, the default check
//! address, and host names and alias targets validated.

mod support;

use support::cluster::{Harness, SPEC};

use dnsfailover::route53::RrType;

#[tokio::test]
async fn a_cname_at_the_name_of_another_failover_record_is_a_cname_clash() {
    let h = Harness::new();
    h.create("www-a", &SPEC.replace("name: examplefailover", "name: www"));
    h.converge("www-a").await;
    let cname = "hostedZone: {name: example.com}\nname: www\ntype: CNAME\nprimary:\n  addresses: [a.example.net]\n  healthCheck: {protocol: HTTP}\nsecondary:\n  addresses: [b.example.net]\n";
    h.create("www-cname", cname);
    h.reconcile("www-cname").await.expect("finalizer");
    let _ = h.reconcile("www-cname").await;
    let (status, reason, message) = h.condition("www-cname", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RecordConflict"),
        "{message}"
    );
    assert!(message.contains("a CNAME cannot share a name"), "{message}");
    let cnames = h
        .fake
        .records(&h.zone.id)
        .into_iter()
        .filter(|r| r.rr_type == RrType::CNAME)
        .count();
    assert_eq!(cnames, 0);
}

#[tokio::test]
async fn a_deletion_keeps_a_check_a_record_in_another_zone_of_this_owner_uses() {
    let h = Harness::new();
    let other = h.fake.create_zone("example.net", false);
    h.create("examplefailover", SPEC);
    h.converge("examplefailover").await;
    // A second FailoverRecord of this owner lives in example.net, so this
    // owner has record sets (and a tagged health check) there.
    h.create(
        "api",
        &SPEC
            .replace("name: example.com", "name: example.net")
            .replace("name: examplefailover", "name: api")
            .replace("52.94.236.10", "52.94.236.30"),
    );
    h.converge("api").await;
    let status = h.status("examplefailover");
    let check = status
        .primary
        .and_then(|p| p.health_check_id)
        .expect("examplefailover's check");
    let theirs = support::record_using("legacy.example.net.", "legacy", &check);
    h.fake.put_record(&other.id, theirs);
    h.ctx.observer().invalidate_all().await;

    h.delete("examplefailover");
    h.finish_deletion("examplefailover").await;
    assert!(h.fake.records(&h.zone.id).is_empty());
    assert!(
        h.fake.health_checks().iter().any(|c| c.id == check),
        "a record in another zone uses it: kept"
    );
    h.assert_event("Warning", "CleanupDone");
}

#[tokio::test]
async fn the_default_check_address_is_the_first_address_as_written() {
    let h = Harness::new();
    h.create(
        "examplefailover",
        &SPEC.replace(
            "addresses: [52.94.236.10]",
            "addresses: [52.94.236.19, 52.94.236.100]",
        ),
    );
    h.converge("examplefailover").await;
    let check = h.fake.health_checks().remove(0);
    assert_eq!(check.config.ip_address.as_deref(), Some("52.94.236.19"));
}

#[tokio::test]
async fn host_names_and_cloudfront_aliases_are_invalid_specs() {
    let h = Harness::new();
    let cases = [
        (
            "bad-host",
            SPEC.replace(
                "path: /index.html",
                "path: /index.html, hostName: 'has space!.example.net'",
            ),
            "spec.primary.healthCheck.hostName",
        ),
        (
            "cloudfront",
            SPEC.replace(
                "  addresses: [52.94.236.20]",
                "  alias: {dnsName: d111111abcdef8.cloudfront.net, hostedZoneId: Z2FDTNDATAQYW2}",
            ),
            "CloudFront",
        ),
    ];
    for (name, spec, expected) in cases {
        assert_ne!(spec, SPEC, "{name}: the spec changed");
        h.create(name, &spec);
        h.reconcile(name).await.expect("finalizer");
        let _ = h.reconcile(name).await;
        let (status, reason, message) = h.condition(name, "Ready");
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "InvalidSpec"),
            "{name}: {message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
    }
    assert!(h.fake.health_checks().is_empty(), "nothing written");
}
