//! The topologies of issue 13 through the standalone CLI, against the
//! Route 53 emulator: one name split between two owners, importing an
//! existing pair, checker regions and cost, garbage checks, and zones in
//! other accounts.

mod support;

use dnsfailover::route53::{self, Failover};
use support::Moto;
use support::cli::{dnsfailover_with, manifest, requests, writes};

const SIDE_A: &str = r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {name: www, namespace: web}
spec:
  hostedZone: {name: example.com}
  name: www
  manage: Primary
  primary:
    addresses: [52.94.236.10]
    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}
"#;

const SIDE_B: &str = r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {name: www, namespace: web}
spec:
  hostedZone: {name: example.com}
  name: www
  manage: Secondary
  secondary:
    addresses: [52.95.110.20]
"#;

#[tokio::test]
async fn two_owner_ids_share_a_name_from_the_cli() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = manifest(dir.path(), "a.yaml", SIDE_A);
    let b = manifest(dir.path(), "b.yaml", SIDE_B);
    let as_a = [("DNSFAILOVER_OWNER_ID", "cluster-a")];
    let as_b = [("DNSFAILOVER_OWNER_ID", "cluster-b")];

    let run = dnsfailover_with(&moto, &as_a, &["apply", "-f", &a]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &b]);
    assert_eq!(run.code, 0, "{}", run.all());
    for (env, file) in [(&as_a, &a), (&as_b, &b)] {
        let plan = dnsfailover_with(&moto, env, &["plan", "--exit-code", "-f", file]);
        assert_eq!(plan.code, 0, "converged: {}", plan.all());
    }

    let status = dnsfailover_with(&moto, &as_b, &["status", "-f", &b, "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let primary = &json["records"][0]["status"]["primary"];
    assert_eq!(
        primary["managedBy"], "owner cluster-a, FailoverRecord web/www",
        "{json}"
    );
    assert_eq!(primary["health"], "Healthy", "{json}");

    // A third owner id that has nothing there deletes nothing, and does not
    // call the other owners' sides strangers.
    let as_c = [("DNSFAILOVER_OWNER_ID", "cluster-c")];
    let run = dnsfailover_with(&moto, &as_c, &["delete", "-f", &b]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("by hand"), "{}", run.all());
    assert_eq!(writes(&run.stderr), 0, "{}", run.all());

    // Cluster B also claims the PRIMARY: exit code 4 from both owners.
    let greedy = manifest(
        dir.path(),
        "greedy.yaml",
        &SIDE_A.replace("name: www, namespace: web", "name: greedy, namespace: web"),
    );
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &greedy]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stdout.contains("! dispute:"), "{}", run.stdout);
    let run = dnsfailover_with(&moto, &as_a, &["plan", "-f", &a]);
    assert_eq!(run.code, 4, "A hears of it too: {}", run.all());
    assert!(run.stdout.contains("web/greedy"), "{}", run.stdout);

    // Cluster A goes: its side goes with it, B's stays, and the FailoverRecord
    // that waited for the PRIMARY takes it at its next run.
    let r53 = moto.route53().await;
    let secondary = || async {
        route53::list_all_record_sets(&r53, &zone.id)
            .await
            .expect("list")
            .into_iter()
            .find(|r| r.name == "www.example.com." && r.failover == Some(Failover::Secondary))
    };
    let before = secondary().await.expect("B's SECONDARY");
    let run = dnsfailover_with(&moto, &as_a, &["delete", "-f", &a]);
    assert_eq!(run.code, 0, "{}", run.all());
    let sides: Vec<Option<Failover>> = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list")
        .iter()
        .filter(|r| r.name == "www.example.com.")
        .map(|r| r.failover)
        .collect();
    assert_eq!(sides, vec![Some(Failover::Secondary)]);
    assert_eq!(secondary().await, Some(before.clone()));
    let plan = dnsfailover_with(&moto, &as_b, &["plan", "--exit-code", "-f", &b]);
    assert_eq!(plan.code, 0, "B has nothing to do: {}", plan.all());
    let run = dnsfailover_with(&moto, &as_b, &["apply", "-f", &greedy]);
    assert_eq!(
        run.code,
        0,
        "the waiting claim takes the free side: {}",
        run.all()
    );
    assert_eq!(secondary().await, Some(before));
}

/// A pair made by hand (as in the console), with an HTTP check on the primary.
async fn hand_made_pair(moto: &Moto, zone: &dnsfailover::route53::Zone) -> String {
    use dnsfailover::route53::{
        Change, ChangeAction, HealthCheckConfig, RecordSet, Route53, RrType,
    };
    let r53 = moto.route53().await;
    let mut config = HealthCheckConfig::http("52.94.236.10", 10);
    config.resource_path = Some("/index.html".into());
    config.search_string = Some("EC2 Primary".into());
    config.kind = dnsfailover::route53::HealthCheckKind::HttpStrMatch;
    let check = r53
        .create_health_check("made-in-the-console", &config)
        .await
        .expect("check");
    let side = |role: Failover, set: &str, ip: &str, check: Option<String>| RecordSet {
        name: "examplefailover.example.com.".into(),
        rr_type: RrType::A,
        set_identifier: Some(set.into()),
        failover: Some(role),
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: check,
        other_routing: None,
    };
    r53.change_record_sets(
        &zone.id,
        &[
            Change {
                action: ChangeAction::Create,
                record: side(
                    Failover::Primary,
                    "EC2 Primary",
                    "52.94.236.10",
                    Some(check.id.clone()),
                ),
            },
            Change {
                action: ChangeAction::Create,
                record: side(Failover::Secondary, "EC2 Secondary", "52.95.110.20", None),
            },
        ],
    )
    .await
    .expect("the pair");
    check.id
}

#[tokio::test]
async fn an_imported_pair_is_taken_over_with_zero_record_changes_and_its_check() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let check_id = hand_made_pair(&moto, &zone).await;
    let r53 = moto.route53().await;
    let answering = || async {
        route53::list_all_record_sets(&r53, &zone.id)
            .await
            .expect("list")
            .into_iter()
            .filter(|r| r.name == "examplefailover.example.com.")
            .collect::<Vec<_>>()
    };
    let before = answering().await;

    let import = dnsfailover_with(
        &moto,
        &[],
        &[
            "import",
            "--zone",
            "example.com",
            "--name",
            "examplefailover",
            "--type",
            "A",
        ],
    );
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import.stdout.contains("adoptExisting: true"),
        "{}",
        import.stdout
    );
    assert!(
        import.stdout.contains("setIdentifier: EC2 Primary"),
        "{}",
        import.stdout
    );
    assert!(
        import.stdout.contains("searchString: EC2 Primary"),
        "{}",
        import.stdout
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = manifest(dir.path(), "imported.yaml", &import.stdout);

    let plan = dnsfailover_with(&moto, &[], &["plan", "-f", &file, "-o", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    assert_eq!(json["records"][0]["recordChanges"], 0, "{json}");
    assert_eq!(json["records"][0]["markerChanges"], 1, "{json}");
    assert_eq!(
        json["records"][0]["plan"]["createChecks"],
        serde_json::json!([])
    );
    let text = dnsfailover_with(&moto, &[], &["plan", "-f", &file]);
    assert!(
        text.stdout.contains("0 record change(s)"),
        "{}",
        text.stdout
    );

    let apply = dnsfailover_with(&moto, &[], &["apply", "-f", &file]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(requests(&apply.stderr, "CreateHealthCheck"), 0);
    assert_eq!(requests(&apply.stderr, "ChangeResourceRecordSets"), 1);
    assert_eq!(
        answering().await,
        before,
        "the records are exactly as they were"
    );
    let checks = route53::list_all_health_checks(&r53).await.expect("checks");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].id, check_id, "the same check, reused");
    let tags = route53::list_all_health_check_tags(&r53, std::slice::from_ref(&check_id))
        .await
        .expect("tags");
    assert_eq!(
        tags.get(&check_id)
            .and_then(|t| t.get("dnsfailover.io/owner"))
            .map(String::as_str),
        Some("dnsfailover"),
        "tagged as this owner's"
    );
    let again = dnsfailover_with(&moto, &[], &["plan", "--exit-code", "-f", &file]);
    assert_eq!(again.code, 0, "taken over: {}", again.all());
}

#[tokio::test]
async fn importing_a_pair_whose_check_the_spec_cannot_express_is_refused() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let child = hand_made_pair(&moto, &zone).await;
    let r53 = moto.route53().await;
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let calculated = r53
        .client()
        .create_health_check()
        .caller_reference("calculated")
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Calculated)
                .child_health_checks(child)
                .health_threshold(1)
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("a calculated check");
    let calculated = calculated.health_check().expect("check").id().to_string();
    let mut primary = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list")
        .into_iter()
        .find(|r| r.failover == Some(Failover::Primary))
        .expect("primary");
    let mut repointed = primary.clone();
    repointed.health_check_id = Some(calculated.clone());
    use dnsfailover::route53::{Change, ChangeAction, Route53};
    r53.change_record_sets(
        &zone.id,
        &[
            Change {
                action: ChangeAction::Delete,
                record: primary.clone(),
            },
            Change {
                action: ChangeAction::Create,
                record: repointed,
            },
        ],
    )
    .await
    .expect("repoint");
    primary.health_check_id = Some(calculated.clone());

    let import = dnsfailover_with(
        &moto,
        &[],
        &[
            "import",
            "--zone",
            &zone.id,
            "--name",
            "examplefailover.example.com",
        ],
    );
    assert_eq!(import.code, 3, "{}", import.all());
    assert!(import.stdout.is_empty(), "no manifest: {}", import.stdout);
    assert!(import.stderr.contains("cannot import"), "{}", import.stderr);
    assert!(import.stderr.contains(&calculated), "{}", import.stderr);
    assert!(import.stderr.contains("CALCULATED"), "{}", import.stderr);

    // A malformed role is refused before any request, like --zone-role.
    let bad_role = dnsfailover_with(
        &moto,
        &[],
        &[
            "import",
            "--zone",
            &zone.id,
            "--name",
            "examplefailover",
            "--role-arn",
            "notanarn",
        ],
    );
    assert_eq!(bad_role.code, 2, "{}", bad_role.all());
    assert!(
        bad_role.stderr.contains("not an IAM role ARN"),
        "{}",
        bad_role.stderr
    );
    assert!(
        !bad_role.stderr.contains("ListHostedZones"),
        "{}",
        bad_role.stderr
    );
}

fn with_regions(regions: &str) -> String {
    format!(
        r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {{name: regional, namespace: web}}
spec:
  hostedZone: {{name: example.com}}
  name: regional
  primary:
    addresses: [52.94.236.10]
    healthCheck: {{protocol: HTTP, requestInterval: 10{regions}}}
  secondary:
    addresses: [52.95.110.20]
"#
    )
}

#[tokio::test]
async fn checker_regions_never_show_a_permanent_diff() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let all = "us-west-2, sa-east-1, us-east-1, eu-west-1, ap-southeast-2, ap-northeast-1, ap-southeast-1, us-west-1";
    for (step, regions) in [
        (
            "three regions",
            ", regions: [us-east-1, eu-west-1, ap-southeast-1]",
        ),
        (
            "the same three in another order",
            ", regions: [ap-southeast-1, us-east-1, eu-west-1]",
        ),
        ("none: all of them", ""),
        ("an empty list: all of them", ", regions: []"),
        (
            "every region listed: all of them",
            &format!(", regions: [{all}]"),
        ),
        (
            "three again",
            ", regions: [us-west-1, us-west-2, sa-east-1]",
        ),
    ] {
        let file = manifest(dir.path(), "regional.yaml", &with_regions(regions));
        let apply = dnsfailover_with(&moto, &[], &["apply", "-f", &file]);
        assert_eq!(apply.code, 0, "{step}: {}", apply.all());
        assert_eq!(
            requests(&apply.stderr, "CreateHealthCheck"),
            u64::from(step == "three regions"),
            "{step}: regions are changed in place: {}",
            apply.all()
        );
        let plan = dnsfailover_with(&moto, &[], &["plan", "--exit-code", "-f", &file]);
        assert_eq!(plan.code, 0, "{step}: no diff after apply: {}", plan.all());
    }
}

#[tokio::test]
async fn plan_prices_the_checks_it_creates_changes_and_deletes() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let example = include_str!("../examples/https-string-match.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = manifest(dir.path(), "https.yaml", example);
    let plan = dnsfailover_with(&moto, &[], &["plan", "-f", &file]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    // HTTPS + string matching + fast interval on a non-AWS endpoint, and
    // HTTPS + string matching at the standard interval.
    assert!(
        plan.stdout.contains(
            "create primary $6.75/month (non-AWS endpoint $0.75, HTTPS $2.00, string matching $2.00, fast interval $2.00)"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Health checks: +$11.50/month"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("list prices of 2026-12-01"),
        "{}",
        plan.stdout
    );
    let json = dnsfailover_with(&moto, &[], &["plan", "-f", &file, "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["cost"]["monthlyChange"], 11.5, "{json}");
    assert_eq!(json["cost"]["prices"]["nonAwsFeature"], 2.0, "{json}");

    let apply = dnsfailover_with(&moto, &[], &["apply", "-f", &file]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let plan = dnsfailover_with(&moto, &[], &["plan", "-f", &file]);
    assert!(
        plan.stdout.contains("Health checks: $0.00/month"),
        "nothing to pay for when nothing changes: {}",
        plan.stdout
    );
    // The standard interval replaces the primary's check: one fewer feature.
    let slower = manifest(
        dir.path(),
        "https.yaml",
        &example.replace("requestInterval: 10", "requestInterval: 30"),
    );
    let plan = dnsfailover_with(&moto, &[], &["plan", "-f", &slower]);
    assert!(
        plan.stdout.contains("Health checks: -$2.00/month"),
        "{}",
        plan.stdout
    );
}

#[tokio::test]
async fn gc_lists_and_deletes_only_the_checks_nothing_uses() {
    use dnsfailover::route53::{Change, ChangeAction, Route53};
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = manifest(
        dir.path(),
        "kept.yaml",
        &SIDE_A.replace("manage: Primary", "manage: Both").replace(
            "    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}\n",
            "    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}\n  secondary:\n    addresses: [52.95.110.20]\n",
        ),
    );
    let lost = manifest(
        dir.path(),
        "lost.yaml",
        &SIDE_A
            .replace("name: www, namespace: web", "name: lost, namespace: web")
            .replace("name: www\n", "name: lost\n")
            .replace("manage: Primary", "manage: Both")
            .replace(
                "    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}\n",
                // Set identifiers of its own: moto deletes every record set
                // of a set identifier in the zone (MOTO_GAPS).
                "    healthCheck: {protocol: HTTP, path: /health, requestInterval: 10}\n    setIdentifier: lost-primary\n  secondary:\n    addresses: [52.95.110.20]\n    setIdentifier: lost-secondary\n",
            ),
    );
    for file in [&kept, &lost] {
        let run = dnsfailover_with(&moto, &[], &["apply", "-f", file]);
        assert_eq!(run.code, 0, "{}", run.all());
    }
    // The lost record's record sets go by hand (a finalizer removed, a
    // console click): its check is left behind, costing money.
    let r53 = moto.route53().await;
    let lost_records: Vec<Change> = route53::list_all_record_sets(&r53, &zone.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.name.contains("lost"))
        .map(|record| Change {
            action: ChangeAction::Delete,
            record,
        })
        .collect();
    r53.change_record_sets(&zone.id, &lost_records)
        .await
        .expect("delete by hand");
    let checks = route53::list_all_health_checks(&r53).await.expect("checks");
    assert_eq!(checks.len(), 2);

    let refused = dnsfailover_with(&moto, &[], &["gc"]);
    assert_eq!(refused.code, 2, "{}", refused.all());

    let list = dnsfailover_with(&moto, &[], &["gc", "-f", &kept, "-o", "json"]);
    assert_eq!(list.code, 0, "{}", list.all());
    let json: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let unused = json["unused"].as_array().expect("a list");
    assert_eq!(unused.len(), 1, "{json}");
    assert_eq!(unused[0]["resource"], "web/lost", "{json}");
    assert_eq!(json["monthly"], 2.75, "{json}");
    let lost_id = unused[0]["id"].as_str().expect("id").to_string();
    assert_eq!(
        route53::list_all_health_checks(&r53)
            .await
            .expect("checks")
            .len(),
        2,
        "listing deletes nothing"
    );
    // With the lost manifest still given, its check belongs to a record.
    let both = dnsfailover_with(&moto, &[], &["gc", "-f", &kept, "-f", &lost]);
    assert!(
        both.stdout.contains("No unused health checks"),
        "{}",
        both.all()
    );

    let delete = dnsfailover_with(&moto, &[], &["gc", "-f", &kept, "--delete"]);
    assert_eq!(delete.code, 0, "{}", delete.all());
    assert!(
        delete.stdout.contains(&format!("deleted {lost_id}")),
        "{}",
        delete.stdout
    );
    let left = route53::list_all_health_checks(&r53).await.expect("checks");
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].id, lost_id);
    let plan = dnsfailover_with(&moto, &[], &["plan", "--exit-code", "-f", &kept]);
    assert_eq!(plan.code, 0, "the kept record is intact: {}", plan.all());
}

const ACCOUNT_A: &str = "arn:aws:iam::111111111111:role/dns";
const ACCOUNT_B: &str = "arn:aws:iam::222222222222:role/dns";

/// Route 53 of another account in the emulator, through its role (moto
/// emulates STS AssumeRole, and keeps each account's resources apart).
async fn as_role(moto: &Moto, role: &str) -> dnsfailover::route53::aws::AwsRoute53 {
    use dnsfailover::route53::aws::{AssumeRole, AwsRoute53, AwsSettings};
    AwsRoute53::connect(&AwsSettings {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        request_timeout: Some(std::time::Duration::from_secs(30)),
        credentials: Some(aws_sdk_route53::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        )),
        assume_role: Some(AssumeRole {
            role_arn: role.into(),
            session_name: "tests".into(),
            external_id: None,
            sts_endpoint: Some(moto.endpoint.clone()),
        }),
    })
    .await
}

fn in_zone(zone: &str, role: Option<&str>) -> String {
    let role = role.map_or(String::new(), |r| format!(", roleArn: \"{r}\""));
    format!(
        r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata: {{name: www-{zone}, namespace: web}}
spec:
  hostedZone: {{name: {zone}{role}}}
  name: www
  primary:
    addresses: [52.94.236.10]
    healthCheck: {{protocol: HTTP, requestInterval: 10}}
  secondary:
    addresses: [52.95.110.20]
"#
    )
}

#[tokio::test]
async fn zones_in_two_other_accounts_are_reached_through_their_roles() {
    use dnsfailover::route53::Route53;
    let moto = Moto::start();
    let account_a = as_role(&moto, ACCOUNT_A).await;
    let account_b = as_role(&moto, ACCOUNT_B).await;
    let own = moto.route53().await;
    let zone = |r53: dnsfailover::route53::aws::AwsRoute53, name: &'static str| async move {
        let out = r53
            .client()
            .create_hosted_zone()
            .name(name)
            .caller_reference(name)
            .send()
            .await
            .expect("a zone");
        out.hosted_zone()
            .expect("zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    };
    let zone_a = zone(account_a.clone(), "a.example").await;
    let zone_b = zone(account_b.clone(), "b.example").await;

    let dir = tempfile::tempdir().expect("tempdir");
    // a.example names its role; b.example's comes from the zone map.
    let a = manifest(dir.path(), "a.yaml", &in_zone("a.example", Some(ACCOUNT_A)));
    let b = manifest(dir.path(), "b.yaml", &in_zone("b.example", None));
    let env = [
        ("DNSFAILOVER_STS_ENDPOINT", moto.endpoint.as_str()),
        ("DNSFAILOVER_ZONE_ROLES", &format!("b.example={ACCOUNT_B}")),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, *v)).collect();
    let apply = dnsfailover_with(&moto, &env, &["apply", "-f", &a, "-f", &b]);
    assert_eq!(apply.code, 0, "{}", apply.all());

    for (r53, zone_id) in [(&account_a, &zone_a), (&account_b, &zone_b)] {
        let records = route53::list_all_record_sets(r53, zone_id)
            .await
            .expect("list");
        assert_eq!(
            records.iter().filter(|r| r.failover.is_some()).count(),
            2,
            "the pair is in its zone's account: {records:?}"
        );
        let checks = route53::list_all_health_checks(r53).await.expect("checks");
        assert_eq!(checks.len(), 1, "its check is in that account too");
        assert!(r53.get_hosted_zone(zone_id).await.is_ok());
    }
    assert!(
        route53::list_all_health_checks(&own)
            .await
            .expect("checks")
            .is_empty(),
        "nothing in the process's own account"
    );

    let plan = dnsfailover_with(&moto, &env, &["plan", "--exit-code", "-f", &a, "-f", &b]);
    assert_eq!(plan.code, 0, "converged in both accounts: {}", plan.all());
    let status = dnsfailover_with(&moto, &env, &["status", "-f", &a, "-f", &b]);
    assert_eq!(status.code, 0, "{}", status.all());
    let delete = dnsfailover_with(&moto, &env, &["delete", "-f", &a, "-f", &b]);
    assert_eq!(delete.code, 0, "{}", delete.all());
    for r53 in [&account_a, &account_b] {
        assert!(
            route53::list_all_health_checks(r53)
                .await
                .expect("checks")
                .is_empty()
        );
    }

    // Without the role, the zone is not there: the account's own credentials
    // do not see it.
    let without = dnsfailover_with(&moto, &[], &["plan", "-f", &b]);
    assert_ne!(without.code, 0, "{}", without.all());
    assert!(without.stderr.contains("b.example"), "{}", without.stderr);
}
