//! The standalone CLI end to end, as a user runs it, against moto's Route 53
//! emulator started by the test itself.
//!
//! Long because each command's behaviour (output, exit codes, JSON) is shown
//! end to end, one test per user-visible promise.

mod support;

use std::process::Command;

use dnsfailover::route53::{self, Route53, RrType};
use support::Moto;
use support::cli::{dnsfailover, requests, write, writes};

const EXAMPLE: &str = include_str!("../examples/examplefailover.yaml");

#[tokio::test]
async fn apply_twice_makes_zero_writes_the_second_time_and_delete_cleans_up_twice() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write(dir.path(), "example.yaml", EXAMPLE);
    let file = manifest.to_str().expect("utf-8 path");

    let first = dnsfailover(Some(&moto), &["apply", "-f", file]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains(
            "+ health check primary: HTTP 192.0.2.10:80/index.html every 10s, 3 failures"
        ),
        "{}",
        first.stdout
    );
    assert_eq!(requests(&first.stderr, "CreateHealthCheck"), 1);
    assert_eq!(requests(&first.stderr, "ChangeResourceRecordSets"), 1);

    let r53 = moto.route53().await;
    let records = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list");
    let primary = records
        .iter()
        .find(|r| {
            r.name == "examplefailover.example.com."
                && r.set_identifier.as_deref() == Some("primary")
        })
        .expect("primary");
    assert_eq!(primary.values, vec!["192.0.2.10"]);
    assert_eq!(primary.ttl, Some(60));
    let checks = route53::list_all_health_checks(&r53).await.expect("checks");
    assert_eq!(checks.len(), 1);
    assert_eq!(
        primary.health_check_id.as_deref(),
        Some(checks[0].id.as_str())
    );
    assert_eq!(checks[0].config.request_interval, 10);

    let second = dnsfailover(Some(&moto), &["apply", "-f", file]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("web/examplefailover: unchanged"),
        "{}",
        second.stdout
    );
    assert_eq!(writes(&second.stderr), 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("0 of them writes"),
        "{}",
        second.stderr
    );

    let plan = dnsfailover(Some(&moto), &["plan", "-f", file, "--exit-code"]);
    assert_eq!(
        plan.code, 0,
        "an empty plan exits 0 with --exit-code: {}",
        plan.stdout
    );

    let status = dnsfailover(Some(&moto), &["status", "-f", file, "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status json");
    let s = &json["records"][0]["status"];
    assert_eq!(s["fqdn"], "examplefailover.example.com.");
    assert_eq!(s["active"], "Primary");
    assert_eq!(s["primary"]["healthCheckId"], checks[0].id.as_str());
    assert_eq!(s["conditions"][0]["type"], "Ready");
    assert_eq!(s["conditions"][0]["status"], "True");

    let delete = dnsfailover(Some(&moto), &["delete", "-f", file]);
    assert_eq!(delete.code, 0, "{}{}", delete.stdout, delete.stderr);
    let order: Vec<&str> = delete
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .collect();
    assert!(
        order.last().is_some_and(|l| l.contains("health check")),
        "records first, then the check: {order:?}"
    );
    let left: Vec<_> = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|r| matches!(r.rr_type, RrType::A | RrType::TXT))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        route53::list_all_health_checks(&r53)
            .await
            .expect("checks")
            .is_empty()
    );

    let again = dnsfailover(Some(&moto), &["delete", "-f", file]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(writes(&again.stderr), 0, "{}", again.stderr);
}

#[tokio::test]
async fn changing_the_request_interval_replaces_the_check_in_the_safe_order() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.yaml", EXAMPLE);
    assert_eq!(
        dnsfailover(Some(&moto), &["apply", "-f", file.to_str().expect("path")]).code,
        0
    );
    let r53 = moto.route53().await;
    let old = route53::list_all_health_checks(&r53)
        .await
        .expect("checks")
        .remove(0);

    write(
        dir.path(),
        "example.yaml",
        &EXAMPLE.replace("requestInterval: 10", "requestInterval: 30"),
    );
    let run = dnsfailover(Some(&moto), &["apply", "-f", file.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().map(str::trim_start).collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {lines:#?}"))
    };
    assert!(at("+ health check primary") < at("- record examplefailover.example.com. A primary"));
    assert!(at("+ record examplefailover.example.com. A primary") < at("- health check primary"));
    assert!(lines[at("- health check primary")].contains("replaced: an immutable setting changed"));

    let checks = route53::list_all_health_checks(&r53).await.expect("checks");
    assert_eq!(checks.len(), 1, "the old check is gone");
    assert_ne!(checks[0].id, old.id);
    assert_eq!(checks[0].config.request_interval, 30);
    let records = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list");
    let primary = records
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some("primary"))
        .expect("primary");
    assert_eq!(
        primary.health_check_id.as_deref(),
        Some(checks[0].id.as_str()),
        "the record points at the new check"
    );
}

#[tokio::test]
async fn a_record_set_this_tool_did_not_create_is_a_conflict_and_left_alone() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let r53 = moto.route53().await;
    let existing = route53::RecordSet {
        name: "examplefailover.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: None,
        failover: None,
        ttl: Some(300),
        values: vec!["203.0.113.7".into()],
        alias: None,
        health_check_id: None,
        other_routing: None,
    };
    r53.change_record_sets(
        &zone.id,
        &[route53::Change {
            action: route53::ChangeAction::Create,
            record: existing.clone(),
        }],
    )
    .await
    .expect("seed");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.yaml", EXAMPLE);
    let plan = dnsfailover(Some(&moto), &["plan", "-f", file.to_str().expect("path")]);
    assert_eq!(plan.code, 4, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("! conflict (NotOwned)"),
        "{}",
        plan.stdout
    );
    let apply = dnsfailover(Some(&moto), &["apply", "-f", file.to_str().expect("path")]);
    assert_eq!(apply.code, 4, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains("conflict, nothing written"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("adoptExisting"),
        "says how to take it over: {}",
        apply.stdout
    );
    assert_eq!(writes(&apply.stderr), 0, "{}", apply.stderr);
    let records = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list");
    assert!(records.contains(&existing));
    assert!(
        route53::list_all_health_checks(&r53)
            .await
            .expect("checks")
            .is_empty(),
        "no health check created for it"
    );
}

const INVALID: &[(&str, &str, &str, &str)] = &[
    (
        "out-of-range threshold",
        "failureThreshold: 3",
        "failureThreshold: 11",
        "spec.primary.healthCheck.failureThreshold: must be between 1 and 10",
    ),
    (
        "interval 15",
        "requestInterval: 10",
        "requestInterval: 15",
        "spec.primary.healthCheck.requestInterval: requestInterval must be 10 or 30",
    ),
    (
        "addresses and alias",
        "    addresses: [192.0.2.20]",
        "    addresses: [192.0.2.20]\n    alias: {dnsName: lb.example.net, hostedZoneId: Z35SXDOTRQ7X7K}",
        "spec.secondary: set exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
    ),
    (
        "gatewayRef outside the cluster",
        "    addresses: [192.0.2.20]",
        "    gatewayRef: {name: public}",
        "spec.secondary: serviceRef, ingressRef and gatewayRef need the controller running in the cluster; the standalone CLI takes addresses or alias",
    ),
    (
        "IP/type mismatch",
        "addresses: [192.0.2.20]",
        "addresses: [\"2001:db8::20\"]",
        "spec.secondary.addresses: secondary.addresses[0] 2001:db8::20 is not an IPv4 address: type A takes IPv4 addresses",
    ),
    (
        "search string with TCP",
        "      protocol: HTTP",
        "      protocol: TCP\n      searchString: EC2 Primary",
        "spec.primary.healthCheck.searchString: searchString needs protocol HTTP or HTTPS",
    ),
    (
        "name outside the zone",
        "  name: examplefailover\n  type: A",
        "  name: www.example.org\n  type: A",
        "spec.name: name www.example.org is not inside hostedZone.name example.com: use a name relative to the zone",
    ),
    (
        "missing primary health check",
        "    healthCheck:\n      protocol: HTTP\n      port: 80\n      path: /index.html\n      requestInterval: 10\n      failureThreshold: 3\n",
        "",
        "spec.primary.healthCheck: primary.healthCheck is required",
    ),
];

#[test]
fn invalid_manifests_are_rejected_before_any_route53_call_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (case, from, to, expected) in INVALID {
        assert!(EXAMPLE.contains(from), "{case}: the example changed");
        let file = write(dir.path(), "bad.yaml", &EXAMPLE.replacen(from, to, 1));
        for command in ["plan", "apply"] {
            let run = dnsfailover(None, &[command, "-f", file.to_str().expect("path")]);
            assert_eq!(
                run.code, 3,
                "{case} ({command}): exit code 3 means nothing was sent; got {}: {}",
                run.code, run.stderr
            );
            assert!(
                run.stderr.contains(expected),
                "{case} ({command}): expected {expected:?} in:\n{}",
                run.stderr
            );
            assert!(
                run.stderr.contains("nothing was sent to Route 53"),
                "{case}: {}",
                run.stderr
            );
            assert!(
                !run.stderr.contains("Route 53 requests:")
                    || run.stderr.contains("  0 requests, 0 of them writes"),
                "{case}: no request was made: {}",
                run.stderr
            );
        }
    }
}

#[test]
fn usage_errors_and_missing_files_have_their_own_exit_codes() {
    let run = dnsfailover(None, &["apply"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = dnsfailover(None, &["apply", "-f", "/nonexistent/manifest.yaml"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: /nonexistent/manifest.yaml:"),
        "{}",
        run.stderr
    );
    let crd = dnsfailover(None, &["crd"]);
    assert_eq!(crd.code, 0);
    assert_eq!(
        crd.stdout,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crds/failoverrecords.dnsfailover.io.yaml"
        ))
        .expect("committed CRD")
    );
}

fn manifest(i: usize) -> String {
    format!(
        "---\napiVersion: dnsfailover.io/v1alpha1\nkind: FailoverRecord\nmetadata:\n  name: app-{i:03}\n  namespace: load\nspec:\n  hostedZone: {{name: example.com}}\n  name: app-{i:03}\n  primary:\n    setIdentifier: app-{i:03}-primary\n    addresses: [198.51.{}.{}]\n    healthCheck: {{protocol: HTTP, path: /health}}\n  secondary:\n    setIdentifier: app-{i:03}-secondary\n    addresses: [203.0.{}.{}]\n",
        i / 250,
        i % 250 + 1,
        i / 250,
        i % 250 + 1
    )
}

#[tokio::test]
async fn six_hundred_records_into_one_zone_take_as_few_change_batches_as_the_limits_allow() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let all: String = (0..600).map(manifest).collect();
    let file = write(dir.path(), "load.yaml", &all);
    let args = [
        "apply",
        "-f",
        file.to_str().expect("path"),
        "--rate-limit",
        "100000",
        "--rate-burst",
        "100000",
    ];
    let run = dnsfailover(Some(&moto), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    eprintln!("{}", run.stderr);
    assert_eq!(requests(&run.stderr, "CreateHealthCheck"), 600);
    assert_eq!(requests(&run.stderr, "ChangeTagsForResource"), 600);
    assert_eq!(
        requests(&run.stderr, "ListResourceRecordSets"),
        1,
        "the zone is read once, not per record"
    );
    assert_eq!(
        requests(&run.stderr, "ListHostedZonesByName"),
        1,
        "the zone is resolved once"
    );

    let r53 = moto.route53().await;
    let records = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list");
    let ours: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.rr_type, RrType::A | RrType::TXT))
        .collect();
    assert_eq!(
        ours.iter().filter(|r| r.rr_type == RrType::A).count(),
        1200,
        "{:?}",
        ours.iter()
            .filter(|r| !r.name.starts_with("app-") && !r.name.starts_with("_dnsfailover"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ours.iter().filter(|r| r.rr_type == RrType::TXT).count(),
        600
    );
    // A batch holds at most 1,000 values and 32,000 characters of values. The
    // 1,800 values would fit in 2 batches, but the characters (mostly the
    // ownership markers) need more: the batch count must be the lower bound
    // those limits give, since every record's group is much smaller than a batch.
    let values: usize = ours.iter().map(|r| r.values.len()).sum();
    let chars: usize = ours
        .iter()
        .flat_map(|r| r.values.iter())
        .map(String::len)
        .sum();
    let lower_bound = values.div_ceil(1000).max(chars.div_ceil(32_000));
    eprintln!("{values} values, {chars} characters: at least {lower_bound} change batches");
    assert_eq!(
        requests(&run.stderr, "ChangeResourceRecordSets") as usize,
        lower_bound
    );

    let again = dnsfailover(Some(&moto), &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(writes(&again.stderr), 0, "{}", again.stderr);
    assert_eq!(
        requests(&again.stderr, "ListResourceRecordSets"),
        7,
        "1,800 record sets plus NS and SOA are 7 pages of 300"
    );
}

#[tokio::test]
async fn the_standard_aws_endpoint_variable_reaches_the_emulator_and_json_is_one_document() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.yaml", EXAMPLE);
    let output = Command::new(env!("CARGO_BIN_EXE_dnsfailover"))
        .args(["apply", "-f", file.to_str().expect("path"), "-o", "json"])
        .env_remove("DNSFAILOVER_ROUTE53_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL_ROUTE_53", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout).expect("one JSON document on stdout");
    assert_eq!(json["records"][0]["resource"], "web/examplefailover");
    assert_eq!(
        json["records"][0]["plan"]["createChecks"][0]["role"],
        "Primary"
    );
    assert!(
        json["records"][0]["outcome"]["Changed"].is_object(),
        "{json}"
    );
    assert_eq!(
        json["requests"]["byOperation"]["CreateHealthCheck"]["requests"],
        1
    );
    assert_eq!(json["requests"]["writes"], 3);
}

#[tokio::test]
async fn retain_leaves_everything_and_wait_returns_once_insync() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let retained = EXAMPLE.replace("  secondary:\n", "  deletionPolicy: Retain\n  secondary:\n");
    assert_ne!(retained, EXAMPLE);
    let file = write(dir.path(), "example.yaml", &retained);
    let file = file.to_str().expect("path");
    let apply = dnsfailover(
        Some(&moto),
        &["apply", "-f", file, "--wait", "--wait-timeout", "60s"],
    );
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("all 1 changes are INSYNC"),
        "{}",
        apply.stderr
    );

    let delete = dnsfailover(Some(&moto), &["delete", "-f", file]);
    assert_eq!(delete.code, 0, "{}{}", delete.stdout, delete.stderr);
    assert!(
        delete
            .stdout
            .contains("web/examplefailover: deletionPolicy Retain; left in Route 53"),
        "{}",
        delete.stdout
    );
    assert_eq!(writes(&delete.stderr), 0);
    let r53 = moto.route53().await;
    assert_eq!(
        route53::list_all_health_checks(&r53)
            .await
            .expect("checks")
            .len(),
        1
    );
    let records = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.name == "examplefailover.example.com.")
            .count(),
        2
    );
}

const MANUAL: &str = include_str!("../examples/manual-failback.yaml");

/// The failback latch in the emulator: whether it holds.
async fn latch_holds(moto: &Moto) -> bool {
    let r53 = moto.route53().await;
    let checks = route53::list_all_health_checks(&r53).await.expect("checks");
    let latch = checks
        .iter()
        .find(|c| c.config.kind == dnsfailover::route53::HealthCheckKind::Calculated)
        .expect("a failback latch");
    latch.config.holds()
}

#[tokio::test]
async fn failover_and_failback_steer_the_latch_of_a_manual_record_and_nothing_else() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let manual = write(dir.path(), "manual.yaml", MANUAL);
    let manual = manual.to_str().expect("utf-8 path");
    let automatic = write(dir.path(), "automatic.yaml", EXAMPLE);
    let automatic = automatic.to_str().expect("utf-8 path");

    // Before apply: Route 53 does not match the manifest; nothing is written.
    let early = dnsfailover(Some(&moto), &["failover", "-f", manual]);
    assert_eq!(early.code, 1, "{}{}", early.stdout, early.stderr);
    assert!(
        early.stderr.contains("run dnsfailover apply first"),
        "{}",
        early.stderr
    );
    assert_eq!(writes(&early.stderr), 0);

    let applied = dnsfailover(Some(&moto), &["apply", "-f", manual]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(
        requests(&applied.stderr, "CreateHealthCheck"),
        2,
        "the check and the latch"
    );
    assert!(!latch_holds(&moto).await);
    let r53 = moto.route53().await;
    for check in route53::list_all_health_checks(&r53).await.expect("checks") {
        assert!(
            applied.stdout.contains(&check.id),
            "apply names every check it created, the latch too: {}",
            applied.stdout
        );
    }
    assert!(
        applied
            .stdout
            .contains("failback latch $0.50/month (calculated $0.50)"),
        "the plan prices the latch as one: {}",
        applied.stdout
    );

    let held = dnsfailover(Some(&moto), &["failover", "-f", manual]);
    assert_eq!(held.code, 0, "{}{}", held.stdout, held.stderr);
    assert!(
        held.stdout.contains("holds DNS on the secondary"),
        "{}",
        held.stdout
    );
    assert_eq!(
        writes(&held.stderr),
        1,
        "one UpdateHealthCheck: {}",
        held.stderr
    );
    assert_eq!(requests(&held.stderr, "UpdateHealthCheck"), 1);
    assert!(latch_holds(&moto).await);

    // status tells where DNS answers while held, though the endpoint is
    // healthy, and what the latch is doing.
    let status = dnsfailover(Some(&moto), &["status", "-o", "json", "-f", manual]);
    assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let record = &json["records"][0]["status"];
    assert_eq!(record["active"], "Secondary", "{record}");
    assert_eq!(record["primary"]["health"], "Healthy", "{record}");
    assert_eq!(
        record["failback"]["state"], "WaitingForApproval",
        "{record}"
    );
    let text = dnsfailover(Some(&moto), &["status", "-f", manual]);
    assert!(text.stdout.contains("active: Secondary"), "{}", text.stdout);
    assert!(
        text.stdout.contains("failback: WaitingForApproval"),
        "{}",
        text.stdout
    );

    // The emulator's checkers say healthy: failback is approved.
    let back = dnsfailover(Some(&moto), &["failback", "-f", manual]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    assert!(back.stdout.contains("failback approved"), "{}", back.stdout);
    assert_eq!(requests(&back.stderr, "GetHealthCheckStatus"), 1);
    assert_eq!(requests(&back.stderr, "UpdateHealthCheck"), 1);
    assert!(!latch_holds(&moto).await);
    let again = dnsfailover(Some(&moto), &["failback", "-f", manual]);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("nothing to approve"),
        "{}",
        again.stdout
    );
    assert_eq!(writes(&again.stderr), 0);

    // An Automatic record has no latch: refused before any Route 53 call.
    let refused = dnsfailover(Some(&moto), &["failover", "-f", automatic]);
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("failback is Automatic"),
        "{}",
        refused.stderr
    );
}
