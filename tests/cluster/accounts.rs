//! Hosted zones in other AWS accounts on the real control plane: the
//! chart's `aws.zoneRoles` map and a FailoverRecord's `hostedZone.roleArn`
//! send each record's requests, through STS AssumeRole (emulated by moto,
//! which keeps each account's resources apart), to its zone's account.

use dnsfailover::route53::aws::{AssumeRole, AwsRoute53, AwsSettings};
use dnsfailover::route53::{self, Failover};
use serde_json::json;

use crate::world::World;

const ACCOUNT_A: &str = "arn:aws:iam::111111111111:role/dns";
const ACCOUNT_B: &str = "arn:aws:iam::222222222222:role/dns";

async fn as_role(endpoint: &str, role: &str) -> AwsRoute53 {
    AwsRoute53::connect(&AwsSettings {
        endpoint: Some(endpoint.into()),
        region: Some("us-east-1".into()),
        request_timeout: Some(std::time::Duration::from_secs(30)),
        credentials: Some(aws_sdk_route53::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        )),
        assume_role: Some(AssumeRole {
            role_arn: role.into(),
            session_name: "tests".into(),
            external_id: None,
            sts_endpoint: Some(endpoint.into()),
        }),
    })
    .await
}

fn record(name: &str, zone: &str, role: Option<&str>) -> String {
    let role = role.map_or(String::new(), |r| format!(", roleArn: \"{r}\""));
    format!(
        r#"apiVersion: dnsfailover.io/v1alpha1
kind: FailoverRecord
metadata:
  name: {name}
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_zones_in_two_other_accounts_go_to_those_accounts() {
    let plane = crate::support::control_plane::control_plane();
    let ns = plane.namespace("accounts", &[]);
    let mut w = World::in_namespace(ns, json!({})).await;
    let endpoint = w.moto.endpoint.clone();
    let (a, b) = (
        as_role(&endpoint, ACCOUNT_A).await,
        as_role(&endpoint, ACCOUNT_B).await,
    );
    let mut zones = Vec::new();
    for (r53, name) in [(&a, "a.example"), (&b, "b.example")] {
        let out = r53
            .client()
            .create_hosted_zone()
            .name(name)
            .caller_reference(name)
            .send()
            .await
            .expect("a zone in its account");
        zones.push(
            out.hosted_zone()
                .expect("zone")
                .id()
                .trim_start_matches("/hostedzone/")
                .to_string(),
        );
    }
    let plane = w.plane;
    let watched = w.ns.clone();
    w.release.upgrade(
        plane,
        &json!({
            "aws": {
                "route53Endpoint": endpoint,
                "region": "us-east-1",
                "credentialsSecret": {"name": "route53-credentials"},
                "stsEndpoint": endpoint,
                "zoneRoles": {"b.example": ACCOUNT_B},
            },
            "watchNamespaces": [watched],
        }),
    );
    let _controller = w.controller("dnsfailover-0").await;

    w.apply(&record("in-a", "a.example", Some(ACCOUNT_A)));
    w.apply(&record("in-b", "b.example", None));
    w.wait_ready("in-a");
    w.wait_ready("in-b");
    for (r53, zone) in [(&a, &zones[0]), (&b, &zones[1])] {
        let records = route53::list_all_record_sets(r53, zone)
            .await
            .expect("list");
        let sides: Vec<Failover> = records.iter().filter_map(|r| r.failover).collect();
        assert_eq!(
            sides.len(),
            2,
            "the pair is in its zone's account: {records:?}"
        );
        assert_eq!(
            route53::list_all_health_checks(r53)
                .await
                .expect("checks")
                .len(),
            1,
            "and its check"
        );
    }
    assert!(
        w.health_checks().await.is_empty(),
        "nothing in the controller's own account"
    );
    assert_eq!(
        w.get("in-b").expect("object")["status"]["hostedZoneId"],
        zones[1].as_str()
    );
}
