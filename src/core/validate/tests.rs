//! Spec → desired state: names, defaults, and every problem with its field.

use super::*;
use crate::route53::Zone;

fn spec(yaml: &str) -> FailoverRecordSpec {
    serde_yaml::from_str(yaml).expect("test spec parses")
}

fn base(name: &str, zone: &str) -> FailoverRecordSpec {
    spec(&format!(
        "hostedZone: {zone}\nname: '{name}'\nprimary:\n  addresses: [52.94.236.10]\n  healthCheck: {{protocol: HTTP}}\nsecondary:\n  addresses: [52.94.236.20]\n"
    ))
}

fn owner() -> Owner {
    Owner::new("test", "default", "web")
}

fn zone() -> Zone {
    Zone {
        id: "Z1".into(),
        name: "example.com.".into(),
        private: false,
        name_servers: Vec::new(),
    }
}

fn fqdn(name: &str) -> Result<String, String> {
    desired_from_spec(owner(), &base(name, "{id: Z1}"))
        .expect("valid")
        .place(zone())
        .map(|p| p.fqdn)
}

#[test]
fn record_names_relative_apex_wildcard_and_absolute() {
    assert_eq!(fqdn("www"), Ok("www.example.com.".into()));
    assert_eq!(fqdn("WWW"), Ok("www.example.com.".into()));
    assert_eq!(fqdn("@"), Ok("example.com.".into()));
    assert_eq!(fqdn("*"), Ok("*.example.com.".into()));
    assert_eq!(fqdn("www.example.com"), Ok("www.example.com.".into()));
    assert_eq!(fqdn("a.b.example.com."), Ok("a.b.example.com.".into()));
    assert_eq!(fqdn("example.com"), Ok("example.com.".into()));
}

#[test]
fn a_name_outside_a_zone_given_by_name_is_rejected_without_any_call() {
    let err = desired_from_spec(owner(), &base("www.other.com", "{name: example.com}"))
        .expect_err("outside");
    assert_eq!(err.0[0].field, "spec.name");
    assert!(
        err.0[0]
            .message
            .contains("not inside hosted zone example.com."),
        "{err}"
    );
    let err = desired_from_spec(owner(), &base("www.badexample.com.", "{name: example.com}"))
        .expect_err("outside");
    assert_eq!(err.0[0].field, "spec.name");
}

#[test]
fn a_name_outside_a_zone_given_by_id_is_rejected_once_the_zone_is_known() {
    let desired = desired_from_spec(owner(), &base("www.other.com", "{id: Z1}"))
        .expect("valid before the zone is known");
    let err = desired.place(zone()).expect_err("outside");
    assert!(
        err.contains("www.other.com. is not inside hosted zone example.com."),
        "{err}"
    );
}

#[test]
fn health_check_defaults() {
    let desired = desired_from_spec(owner(), &base("www", "{id: Z1}")).expect("valid");
    let check = desired
        .primary
        .clone()
        .and_then(|p| p.health_check)
        .expect("check");
    assert_eq!(check.kind, HealthCheckKind::Http);
    assert_eq!(check.ip_address.as_deref(), Some("52.94.236.10"));
    assert_eq!(check.port, 80);
    assert_eq!(check.resource_path.as_deref(), Some("/"));
    assert_eq!(check.request_interval, 30);
    assert_eq!(check.failure_threshold, 3);
    assert!(!check.enable_sni);
    assert_eq!(
        desired
            .side(Failover::Primary)
            .map(|s| s.set_identifier.as_str()),
        Some("primary")
    );
    assert_eq!(
        desired
            .side(Failover::Secondary)
            .map(|s| s.set_identifier.as_str()),
        Some("secondary")
    );
    assert_eq!(desired.ttl, 60);

    let https = spec(
        "hostedZone: {id: Z1}\nname: www\nprimary:\n  addresses: [52.94.236.10]\n  healthCheck: {protocol: HTTPS, searchString: ok, hostName: WWW.Example.com}\nsecondary:\n  addresses: [52.94.236.20]\n",
    );
    let check = desired_from_spec(owner(), &https)
        .expect("valid")
        .primary
        .and_then(|p| p.health_check)
        .expect("check");
    assert_eq!(check.kind, HealthCheckKind::HttpsStrMatch);
    assert_eq!(check.port, 443);
    assert!(check.enable_sni);
    assert_eq!(
        check.fqdn.as_deref(),
        Some("www.example.com"),
        "host header, normalised"
    );
}

#[test]
fn documentation_addresses_warn_that_route53_cannot_check_them() {
    let desired = desired_from_spec(owner(), &base("www", "{id: Z1}")).expect("valid");
    assert!(desired.warnings.is_empty());
    let doc = spec(
        "hostedZone: {id: Z1}\nname: www\nprimary:\n  addresses: [192.0.2.10]\n  healthCheck: {}\nsecondary:\n  addresses: [10.0.0.1]\n",
    );
    let desired = desired_from_spec(owner(), &doc).expect("valid");
    assert_eq!(desired.warnings.len(), 1, "{:?}", desired.warnings);
    assert!(desired.warnings[0].contains("documentation range"));
}

#[test]
fn every_problem_is_reported_with_its_field() {
    let bad = spec(
        "hostedZone: {id: Z1, name: example.com}\nname: www\nprimary:\n  addresses: [52.94.236.10]\n  healthCheck: {protocol: TCP, requestInterval: 15}\nsecondary:\n  addresses: [not-an-ip]\n",
    );
    let err = desired_from_spec(owner(), &bad).expect_err("invalid");
    let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "spec.hostedZone",
            "spec.primary.healthCheck.port",
            "spec.secondary.addresses[0]"
        ]
    );
}

#[test]
fn the_default_check_address_is_the_first_address_as_written() {
    let s = spec(
        "hostedZone: {id: Z1}\nname: www\nprimary:\n  addresses: [198.51.100.9, 198.51.100.10, 198.51.100.9]\n  healthCheck: {protocol: HTTP}\nsecondary:\n  addresses: [52.94.236.20]\n",
    );
    let desired = desired_from_spec(owner(), &s).expect("valid");
    let primary = desired.primary.as_ref().expect("primary");
    let check = primary.health_check.as_ref().expect("check");
    assert_eq!(check.ip_address.as_deref(), Some("198.51.100.9"));
    assert_eq!(
        primary.target,
        SideTarget::Values(vec!["198.51.100.9".into(), "198.51.100.10".into()]),
        "the user's order, duplicates dropped"
    );
}

#[test]
fn host_names_are_checked_as_dns_names_naming_field_and_value() {
    let cases = [
        (
            "type: CNAME\nprimary:\n  addresses: ['has space!.example.net']\n  healthCheck: {protocol: HTTP}\nsecondary:\n  addresses: [b.example.net]\n",
            "spec.primary.addresses[0]",
        ),
        (
            "primary:\n  alias: {dnsName: 'not a host!!', hostedZoneId: Z35SXDOTRQ7X7K}\nsecondary:\n  addresses: [52.94.236.20]\n",
            "spec.primary.alias.dnsName",
        ),
        (
            "primary:\n  addresses: [52.94.236.10]\n  healthCheck: {protocol: HTTP, hostName: 'bad host'}\nsecondary:\n  addresses: [52.94.236.20]\n",
            "spec.primary.healthCheck.hostName",
        ),
        (
            "primary:\n  addresses: [52.94.236.10]\n  healthCheck: {protocol: HTTP, fqdn: 'a..b'}\nsecondary:\n  addresses: [52.94.236.20]\n",
            "spec.primary.healthCheck.fqdn",
        ),
    ];
    for (body, field) in cases {
        let s = spec(&format!("hostedZone: {{id: Z1}}\nname: www\n{body}"));
        let err = desired_from_spec(owner(), &s).expect_err(field);
        assert_eq!(err.0[0].field, field, "{err}");
        assert!(err.0[0].message.contains("not a valid"), "{err}");
    }
}

#[test]
fn an_alias_to_cloudfront_may_not_evaluate_target_health_nor_live_in_a_private_zone() {
    let cloudfront = |evaluate: bool| {
        spec(&format!(
            "hostedZone: {{id: Z1}}\nname: www\nprimary:\n  alias: {{dnsName: d111111abcdef8.cloudfront.net, hostedZoneId: Z2FDTNDATAQYW2, evaluateTargetHealth: {evaluate}}}\n  healthCheck: {{protocol: HTTP, fqdn: d111111abcdef8.cloudfront.net}}\nsecondary:\n  addresses: [52.94.236.20]\n"
        ))
    };
    let err = desired_from_spec(owner(), &cloudfront(true)).expect_err("refused");
    assert_eq!(err.0[0].field, "spec.primary.alias.evaluateTargetHealth");
    assert!(err.0[0].message.contains("CloudFront"), "{err}");
    let desired = desired_from_spec(owner(), &cloudfront(false)).expect("valid");
    let private = Zone {
        private: true,
        ..zone()
    };
    let err = desired.place(private).expect_err("private zone");
    assert!(err.contains("private zone"), "{err}");
}

#[test]
fn an_alias_to_the_record_itself_is_a_warning() {
    let s = spec(
        "hostedZone: {id: Z1}\nname: www\nprimary:\n  alias: {dnsName: WWW.example.com., hostedZoneId: Z1}\nsecondary:\n  addresses: [52.94.236.20]\n",
    );
    let placed = desired_from_spec(owner(), &s)
        .expect("valid")
        .place(zone())
        .expect("placed");
    assert!(
        placed
            .desired
            .warnings
            .iter()
            .any(|w| w.contains("own name")),
        "{:?}",
        placed.desired.warnings
    );
}
