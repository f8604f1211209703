//! The CLI as a demanding user tries it (issue 11): conflicts inside one run,
//! a changed hosted zone, checks used from another zone, hand-edited zones,
//! odd names and values, hostile input, exit codes, signals and progress.
//! End to end against moto's Route 53 emulator, started by each test.
//!
//! Long because each item of the issue is one user-visible promise, shown end
//! to end with the same few helpers.

mod support;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dnsfailover::core::ownership::{self, Owner};
use dnsfailover::route53::aws::AwsRoute53;
use dnsfailover::route53::{
    self, Change, ChangeAction, Failover, HealthCheckConfig, RecordSet, Route53, RrType,
};
use support::Moto;
use support::cli::{self, command, dnsfailover, requests, total_requests, write, writes};

fn manifest(name: &str, zone: &str, body: &str) -> String {
    format!(
        "apiVersion: dnsfailover.io/v1alpha1\nkind: FailoverRecord\nmetadata:\n  name: {name}\n  namespace: web\nspec:\n  hostedZone: {{name: {zone}}}\n{body}"
    )
}

/// A pair of IPs with an HTTP check on the primary, at `name`.
fn pair(name: &str, zone: &str) -> String {
    manifest(
        name,
        zone,
        &format!(
            "  name: {name}\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: {{protocol: HTTP}}\n  secondary:\n    addresses: [52.94.236.20]\n"
        ),
    )
}

async fn records(r53: &AwsRoute53, zone: &str) -> Vec<RecordSet> {
    route53::list_all_record_sets(r53, zone)
        .await
        .expect("list")
        .into_iter()
        .filter(|r| !matches!(r.rr_type, RrType::Other(_)))
        .collect()
}

async fn checks(r53: &AwsRoute53) -> Vec<route53::HealthCheck> {
    route53::list_all_health_checks(r53).await.expect("checks")
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ----- 1. one name, A and CNAME, one run -----

#[tokio::test]
async fn an_a_and_a_cname_at_one_name_in_one_run_clash_and_nothing_is_written() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = pair("www", "example.com");
    let cname = manifest(
        "www-cname",
        "example.com",
        "  name: www\n  type: CNAME\n  primary:\n    addresses: [a.example.net]\n    healthCheck: {protocol: HTTP}\n  secondary:\n    addresses: [b.example.net]\n",
    );
    let file = write(dir.path(), "both.yaml", &format!("{a}---\n{cname}"));
    let run = dnsfailover(Some(&moto), &["apply", "-f", path(&file)]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("CnameClash"), "{}", run.stderr);
    assert!(
        run.stderr.contains("a CNAME cannot share a name"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&run.stderr), 0, "{}", run.stderr);
    let r53 = moto.route53().await;
    assert!(records(&r53, &zone.id).await.is_empty());
    assert!(checks(&r53).await.is_empty());
}

// ----- 2. hostedZone changed in the manifest -----

#[tokio::test]
async fn a_changed_hosted_zone_is_refused_saying_how_and_delete_empties_the_old_zone() {
    let moto = Moto::start();
    let old = moto.create_zone("example.com").await;
    let new = moto.create_zone("example.net").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    assert_eq!(
        dnsfailover(Some(&moto), &["apply", "-f", path(&file)]).code,
        0
    );
    let r53 = moto.route53().await;
    let before = records(&r53, &old.id).await;
    assert_eq!(before.len(), 3);

    write(dir.path(), "www.yaml", &pair("www", "example.net"));
    for command in ["plan", "apply"] {
        let run = dnsfailover(Some(&moto), &[command, "-f", path(&file)]);
        assert_eq!(run.code, 4, "{command}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("ZoneChanged"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains(&format!("are in hosted zone {}", old.id))
                && run.stdout.contains("dnsfailover delete -f"),
            "says where they are and how to move them: {}",
            run.stdout
        );
        assert_eq!(writes(&run.stderr), 0, "{}", run.stderr);
    }
    assert!(
        records(&r53, &new.id).await.is_empty(),
        "nothing in the new zone"
    );
    assert_eq!(
        records(&r53, &old.id).await,
        before,
        "the old zone untouched"
    );
    assert_eq!(checks(&r53).await.len(), 1);

    // The way out the message names: delete with the new manifest finds the
    // records in the old zone by the check's hosted-zone tag.
    let delete = dnsfailover(Some(&moto), &["delete", "-f", path(&file)]);
    assert_eq!(delete.code, 0, "{}{}", delete.stdout, delete.stderr);
    assert!(records(&r53, &old.id).await.is_empty());
    assert!(checks(&r53).await.is_empty(), "the check went last");
    let apply = dnsfailover(Some(&moto), &["apply", "-f", path(&file)]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(records(&r53, &new.id).await.len(), 3);
}

// ----- 3. a check another zone's record uses -----

#[tokio::test]
async fn delete_keeps_a_check_a_record_in_another_zone_uses_and_says_which_and_why() {
    let moto = Moto::start();
    let zone_a = moto.create_zone("example.com").await;
    let zone_b = moto.create_zone("example.net").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let first = write(dir.path(), "a.yaml", &pair("www", "example.com"));
    let second = write(dir.path(), "b.yaml", &pair("api", "example.net"));
    for file in [&first, &second] {
        assert_eq!(
            dnsfailover(Some(&moto), &["apply", "-f", path(file)]).code,
            0
        );
    }
    let r53 = moto.route53().await;
    let used = records(&r53, &zone_a.id)
        .await
        .into_iter()
        .find_map(|r| r.health_check_id)
        .expect("www's check");
    let theirs = support::record_using("legacy.example.net.", "legacy", &used);
    r53.change_record_sets(
        &zone_b.id,
        &[Change {
            action: ChangeAction::Create,
            record: theirs,
        }],
    )
    .await
    .expect("someone points a record at www's check");

    let run = dnsfailover(Some(&moto), &["delete", "-f", path(&first)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("kept health check {used}"))
            && run.stdout.contains("legacy.example.net. A (legacy)")
            && run
                .stdout
                .contains(&format!("in hosted zone {}", zone_b.id)),
        "{}",
        run.stdout
    );
    assert!(
        records(&r53, &zone_a.id).await.is_empty(),
        "the records went"
    );
    assert!(
        checks(&r53).await.iter().any(|c| c.id == used),
        "the check the other zone uses stays"
    );
}

// ----- 4 and 11: the first address, as written -----

#[tokio::test]
async fn the_default_check_address_is_the_first_address_as_written() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "www.yaml",
        &manifest(
            "www",
            "example.com",
            "  name: www\n  primary:\n    addresses: [198.51.100.9, 198.51.100.10]\n    healthCheck: {protocol: HTTP}\n  secondary:\n    addresses: [52.94.236.20]\n",
        ),
    );
    let run = dnsfailover(Some(&moto), &["apply", "-f", path(&file)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("+ health check primary: HTTP 198.51.100.9:80/"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("198.51.100.9 198.51.100.10 ttl 60"),
        "addresses in the order written: {}",
        run.stdout
    );
    let r53 = moto.route53().await;
    assert_eq!(
        checks(&r53).await[0].config.ip_address.as_deref(),
        Some("198.51.100.9")
    );
}

// ----- 5. cost does not grow with the owner's other checks -----

#[tokio::test]
async fn a_one_record_apply_reads_only_its_own_checks_however_many_the_owner_has() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let r53 = moto.route53().await;
    for i in 0..60 {
        let config = HealthCheckConfig {
            ip_address: Some(format!("52.94.237.{i}")),
            ..HealthCheckConfig::http("52.94.237.1", 30)
        };
        let owner = Owner::new("dnsfailover", "load", format!("app-{i}"));
        let reference = ownership::caller_reference(&owner, Failover::Primary, &config, 0);
        r53.create_health_check(&reference, &config)
            .await
            .expect("another FailoverRecord's check");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    assert_eq!(
        dnsfailover(Some(&moto), &["apply", "-f", path(&file)]).code,
        0
    );
    let again = dnsfailover(Some(&moto), &["apply", "-f", path(&file)]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        requests(&again.stderr, "ListTagsForResources"),
        1,
        "{}",
        again.stderr
    );
    assert_eq!(
        total_requests(&again.stderr),
        4,
        "zone, records, checks, one tag read: {}",
        again.stderr
    );
}

// ----- 6 and 7: names and alias targets -----

#[test]
fn host_names_and_cloudfront_aliases_are_refused_naming_field_and_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "  name: www\n  type: CNAME\n  primary:\n    addresses: ['has space!.example.net']\n    healthCheck: {protocol: HTTP}\n  secondary:\n    addresses: [b.example.net]\n",
            "spec.primary.addresses: primary.addresses[0] has space!.example.net is not a valid host name",
        ),
        (
            "  name: www\n  primary:\n    alias: {dnsName: 'not a host!!', hostedZoneId: Z35SXDOTRQ7X7K}\n  secondary:\n    addresses: [52.94.236.20]\n",
            "spec.primary.alias.dnsName: alias.dnsName not a host!! is not a valid DNS name",
        ),
        (
            "  name: www\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: {protocol: HTTP, fqdn: 'a..b'}\n  secondary:\n    addresses: [52.94.236.20]\n",
            "spec.primary.healthCheck.fqdn: healthCheck.fqdn a..b is not a valid DNS name",
        ),
        (
            "  name: www\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: {protocol: HTTP, hostName: 'www example'}\n  secondary:\n    addresses: [52.94.236.20]\n",
            "spec.primary.healthCheck.hostName: healthCheck.hostName www example is not a valid DNS name",
        ),
        (
            "  name: www\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: {protocol: HTTP}\n  secondary:\n    alias: {dnsName: d111111abcdef8.cloudfront.net, hostedZoneId: Z2FDTNDATAQYW2}\n",
            "Route 53 documents that EvaluateTargetHealth can't be true when the alias target is a CloudFront distribution",
        ),
    ];
    for (body, expected) in cases {
        let file = write(
            dir.path(),
            "bad.yaml",
            &manifest("www", "example.com", body),
        );
        let run = dnsfailover(None, &["plan", "-f", path(&file)]);
        assert_eq!(run.code, 3, "{expected}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{expected}:\n{}", run.stderr);
    }
}

#[tokio::test]
async fn an_alias_to_the_record_itself_is_a_warning() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "self.yaml",
        &manifest(
            "www",
            "example.com",
            &format!(
                "  name: www\n  primary:\n    alias: {{dnsName: www.example.com, hostedZoneId: {}}}\n  secondary:\n    addresses: [52.94.236.20]\n",
                zone.id
            ),
        ),
    );
    let run = dnsfailover(Some(&moto), &["plan", "-f", path(&file)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "warning: spec.primary.alias.dnsName: www.example.com is this record's own name"
        ),
        "{}",
        run.stdout
    );
}

// ----- 8. delete when the marker was removed by hand -----

#[tokio::test]
async fn delete_says_what_it_left_and_fails_when_the_records_are_not_ours() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    assert_eq!(
        dnsfailover(Some(&moto), &["apply", "-f", path(&file)]).code,
        0
    );
    let r53 = moto.route53().await;
    let marker = records(&r53, &zone.id)
        .await
        .into_iter()
        .find(|r| r.rr_type == RrType::TXT)
        .expect("marker");
    r53.change_record_sets(
        &zone.id,
        &[Change {
            action: ChangeAction::Delete,
            record: marker,
        }],
    )
    .await
    .expect("someone deletes the marker");

    let run = dnsfailover(Some(&moto), &["delete", "-f", path(&file)]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("no changes"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "not deleted: found www.example.com. A (primary), www.example.com. A (secondary)"
        ) && run
            .stdout
            .contains("_dnsfailover-a.www.example.com. is missing"),
        "{}",
        run.stdout
    );
    assert_eq!(records(&r53, &zone.id).await.len(), 2, "left untouched");
    assert_eq!(checks(&r53).await.len(), 1, "their check stays with them");
}

// ----- 9. input caps -----

#[test]
fn endless_or_deeply_nested_input_is_refused_at_once() {
    let started = Instant::now();
    let run = dnsfailover(None, &["plan", "-f", "/dev/zero"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("larger than 32 MiB"), "{}", run.stderr);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "deep.yaml", &"[".repeat(200_000));
    let run = dnsfailover(None, &["plan", "-f", path(&file)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("nested more than 64 levels"),
        "{}",
        run.stderr
    );

    let mut child = command(None, &["plan", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // An endless pipe: the writer stops when the reader gives up.
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'#'; 1 << 20];
        while std::io::Write::write_all(&mut stdin, &chunk).is_ok() {}
    });
    let run = cli::finished(child.wait_with_output().expect("wait"));
    let _ = writer.join();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("<stdin>: larger than 32 MiB"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused fast: {:?}",
        started.elapsed()
    );
}

// ----- 10. exit codes, JSON errors, status --exit-code, signals -----

#[tokio::test]
async fn zone_not_found_ambiguous_zone_and_missing_credentials_have_their_own_exit_codes() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    let run = dnsfailover(Some(&moto), &["plan", "-f", path(&file)]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("hosted zone example.com. not found"),
        "{}",
        run.stderr
    );

    let first = moto.create_zone("example.com").await;
    let second = moto.create_zone("example.com").await;
    let run = dnsfailover(Some(&moto), &["plan", "-f", path(&file)]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains(&first.id)
            && run.stderr.contains(&second.id)
            && run.stderr.contains("select the zone by id"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("hostedZone.private"),
        "both are public: private cannot tell them apart: {}",
        run.stderr
    );

    let no_credentials = command(None, &["plan", "-f", path(&file)])
        .env("DNSFAILOVER_ROUTE53_ENDPOINT", &moto.endpoint)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DNSFAILOVER_MAX_ATTEMPTS", "1")
        .output()
        .expect("run");
    let run = cli::finished(no_credentials);
    assert_eq!(run.code, 8, "{}", run.stderr);
}

#[tokio::test]
async fn with_json_output_every_error_is_one_json_document_on_stdout() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        dir.path(),
        "bad.yaml",
        &pair("www", "example.com").replace("52.94.236.20", "2001:db8::20"),
    );
    let good = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    let cases: [(&[&str], i64); 4] = [
        (&["plan", "-o", "json", "-f", path(&bad)], 3),
        (&["apply", "-o", "json", "-f", path(&good)], 6),
        (&["status", "-o", "json", "-f", "/nonexistent.yaml"], 3),
        (&["apply", "-o", "json"], 2),
    ];
    for (args, code) in cases {
        let run = dnsfailover(Some(&moto), args);
        assert_eq!(
            i64::from(run.code),
            code,
            "{args:?}: {}{}",
            run.stdout,
            run.stderr
        );
        let document: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {}", run.stdout));
        assert_eq!(document["error"]["exitCode"], code, "{document}");
        assert!(document["error"]["message"].is_string(), "{document}");
    }
}

#[tokio::test]
async fn status_exit_code_says_whether_every_record_is_ready() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    let before = dnsfailover(Some(&moto), &["status", "--exit-code", "-f", path(&file)]);
    assert_eq!(before.code, 5, "{}{}", before.stdout, before.stderr);
    assert_eq!(
        dnsfailover(Some(&moto), &["status", "-f", path(&file)]).code,
        0
    );
    assert_eq!(
        dnsfailover(Some(&moto), &["apply", "-f", path(&file)]).code,
        0
    );
    let after = dnsfailover(Some(&moto), &["status", "--exit-code", "-f", path(&file)]);
    assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);
}

/// Six records at one request per second: long enough to stop half way.
fn slow_apply(moto: &Moto, file: &std::path::Path) -> std::process::Child {
    command(
        Some(moto),
        &[
            "apply",
            "-f",
            path(file),
            "--rate-limit",
            "1",
            "--rate-burst",
            "1",
        ],
    )
    .env("DNSFAILOVER_PROGRESS_INTERVAL", "1s")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn")
}

fn six_records(dir: &std::path::Path) -> std::path::PathBuf {
    let all: Vec<String> = (0..6)
        .map(|i| pair(&format!("app{i}"), "example.com"))
        .collect();
    write(dir, "six.yaml", &all.join("---\n"))
}

#[tokio::test]
async fn sigint_says_what_was_done_and_that_running_again_is_safe() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = six_records(dir.path());
    let mut child = slow_apply(&moto, &file);
    let mut stderr = child.stderr.take().expect("stderr");
    // Wait for the first progress line: planning is over, writes are going out.
    let mut seen = String::new();
    let mut buffer = [0u8; 256];
    while !seen.contains("progress:") {
        let n = stderr.read(&mut buffer).expect("read stderr");
        assert!(n > 0, "ended before any progress: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let status = child.wait().expect("wait");
    let stderr = seen + &rest;
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT after"), "{stderr}");
    assert!(stderr.contains("health checks created"), "{stderr}");
    assert!(
        stderr.contains("Running the same command again is safe"),
        "{stderr}"
    );

    let again = dnsfailover(Some(&moto), &["apply", "-f", path(&file)]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let r53 = moto.route53().await;
    assert_eq!(checks(&r53).await.len(), 6, "no duplicate, none missing");
}

// ----- 12. progress -----

#[tokio::test]
async fn long_work_prints_plain_progress_lines_when_not_on_a_terminal() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = six_records(dir.path());
    let run = cli::finished(slow_apply(&moto, &file).wait_with_output().expect("wait"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(lines.len() >= 3, "{}", run.stderr);
    assert!(
        lines.iter().any(|l| l.contains("/6 health checks created")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("waiting for the rate limit")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains(" left")), "{lines:?}");
    assert!(
        !run.stderr.contains('\x1b'),
        "no terminal codes off a terminal"
    );
}

#[tokio::test]
async fn on_a_terminal_progress_is_one_live_line() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = six_records(dir.path());
    // `script` gives the command a terminal and copies what it draws.
    let inner = format!(
        "{} apply -f {} --rate-limit 1 --rate-burst 1 >/dev/null",
        env!("CARGO_BIN_EXE_dnsfailover"),
        path(&file)
    );
    let output = std::process::Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .envs(moto.env())
        .env_remove("DNSFAILOVER_PROGRESS_INTERVAL")
        .output()
        .expect("run under script");
    let drawn = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{drawn}");
    assert!(drawn.contains("health checks created"), "{drawn}");
    assert!(drawn.contains('\r'), "redrawn in place: {drawn:?}");
    assert!(
        !drawn.contains("progress: "),
        "not the plain lines: {drawn}"
    );
}

// ----- 11. smaller things -----

#[test]
fn the_command_line_is_strict_and_says_only_what_is_required() {
    let run = cli::finished(
        command(None, &["apply"])
            .env("DNSFAILOVER_OWNER_ID", "team-a")
            .env("DNSFAILOVER_RATE_LIMIT", "2")
            .output()
            .expect("run"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let usage = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .expect("usage line");
    assert!(
        !usage.contains("--owner-id") && !usage.contains("--rate-limit"),
        "{usage}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "www.yaml", &pair("www", "example.com"));
    let run = dnsfailover(None, &["apply", "-f", path(&file), "--wait-timeout", "30s"]);
    assert_eq!(run.code, 2, "--wait-timeout needs --wait: {}", run.stderr);
    assert!(run.stderr.contains("--wait"), "{}", run.stderr);
}

#[test]
fn merge_keys_are_accepted_and_duplicate_keys_point_at_the_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let merged = "apiVersion: dnsfailover.io/v1alpha1\nkind: FailoverRecord\nmetadata: {name: www, namespace: web}\nspec:\n  hostedZone: {id: Z1}\n  name: www\n  primary:\n    addresses: [52.94.236.10]\n    healthCheck: &check\n      protocol: HTTP\n      port: 80\n  secondary:\n    addresses: [52.94.236.20]\n    healthCheck:\n      <<: *check\n      port: 8080\n";
    let file = write(dir.path(), "merged.yaml", merged);
    // Admission passes; the run then fails reaching Route 53 (exit 1), not
    // on the manifest (exit 3).
    let run = dnsfailover(None, &["plan", "-f", path(&file), "--max-attempts", "1"]);
    assert_ne!(run.code, 3, "{}", run.stderr);

    let duplicate = "apiVersion: dnsfailover.io/v1alpha1\nkind: FailoverRecord\nmetadata: {name: www}\nspec:\n  hostedZone: {id: Z1}\n  name: www\n  ttl: 60\n  name: api\n";
    let file = write(dir.path(), "dup.yaml", duplicate);
    let run = dnsfailover(None, &["plan", "-f", path(&file)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("duplicate key \"name\" at line 8 (first at line 6)"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn ipv6_endpoints_are_bracketed_and_logs_have_no_colours_off_a_terminal() {
    let moto = Moto::start();
    moto.create_zone("example.com").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "v6.yaml",
        &manifest(
            "www",
            "example.com",
            "  name: www\n  type: AAAA\n  primary:\n    addresses: ['2600:1f18::a']\n    healthCheck: {protocol: HTTP}\n  secondary:\n    addresses: ['2600:1f18::b']\n",
        ),
    );
    let run = cli::finished(
        command(Some(&moto), &["plan", "-f", path(&file)])
            .env("DNSFAILOVER_LOG", "debug")
            .output()
            .expect("run"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("HTTP [2600:1f18::a]:80/ every"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.is_empty(), "debug logs were written");
    assert!(!run.stderr.contains('\x1b'), "{}", run.stderr);
}

#[test]
fn the_demo_scripts_find_the_binary_under_cargo_target_dir() {
    for (script, honours) in [
        (
            "scripts/demo.sh",
            "${CARGO_TARGET_DIR:-target}/debug/dnsfailover",
        ),
        (
            "scripts/demo-cli.sh",
            "${CARGO_TARGET_DIR:-target}/debug/dnsfailover",
        ),
        ("scripts/cluster.py", "os.environ.get(\"CARGO_TARGET_DIR\")"),
    ] {
        let text = std::fs::read_to_string(format!("{}/{script}", env!("CARGO_MANIFEST_DIR")))
            .expect("script");
        assert!(
            text.contains(honours),
            "{script} must honour CARGO_TARGET_DIR"
        );
        assert!(
            !text.contains("\"target/debug/dnsfailover\""),
            "{script} names a fixed target directory"
        );
    }
}
