//! The CRD's validation, run client-side: one test per CEL rule with a valid
//! and an invalid case, the structural checks, and the schema's shape.
//!
//! Long because it holds one small test per rule; together they are the
//! list of what the API server refuses, and read best in one place.

use serde_json::{Value, json};

use super::*;
use crate::api::FailoverRecordSpec;

fn valid() -> Value {
    json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": "examplefailover", "namespace": "web"},
        "spec": {
            "hostedZone": {"name": "example.com"},
            "name": "examplefailover",
            "type": "A",
            "ttl": 60,
            "primary": {
                "addresses": ["192.0.2.10"],
                "healthCheck": {"protocol": "HTTP", "port": 80, "path": "/index.html", "requestInterval": 10, "failureThreshold": 3}
            },
            "secondary": {"addresses": ["192.0.2.20"]}
        }
    })
}

/// `valid()` with the value at a JSON pointer replaced (or removed for `None`).
fn with(changes: &[(&str, Option<Value>)]) -> Value {
    let mut object = valid();
    for (pointer, value) in changes {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
        let parent = object.pointer_mut(parent).expect("parent exists");
        let map = parent.as_object_mut().expect("parent is an object");
        match value {
            Some(v) => {
                map.insert(key.to_string(), v.clone());
            }
            None => {
                map.remove(key);
            }
        }
    }
    object
}

#[track_caller]
fn accepted(object: &Value) {
    if let Err(e) = admit(object) {
        panic!("expected the manifest to be accepted, got: {e}");
    }
}

/// Rejected, with an error on `field` whose message contains `needle`.
#[track_caller]
fn rejected(object: &Value, field: &str, needle: &str) {
    match admit(object) {
        Ok(_) => panic!("expected a rejection on {field}"),
        Err(InvalidSpec(errors)) => assert!(
            errors
                .iter()
                .any(|e| e.field == field && e.message.contains(needle)),
            "expected an error on {field} containing {needle:?}, got {errors:?}"
        ),
    }
}

#[test]
fn the_classic_walkthrough_is_accepted_with_defaults() {
    let record = admit(&valid()).expect("valid");
    assert_eq!(
        record.spec.deletion_policy,
        crate::api::DeletionPolicy::Delete
    );
    let check = record
        .spec
        .primary
        .and_then(|p| p.health_check)
        .expect("check");
    assert!(!check.inverted && !check.disabled);
}

// ----- hostedZone -----

#[test]
fn rule_hosted_zone_exactly_one_of_id_or_name() {
    accepted(&with(&[(
        "/spec/hostedZone",
        Some(json!({"id": "Z0123456789ABC"})),
    )]));
    rejected(
        &with(&[(
            "/spec/hostedZone",
            Some(json!({"id": "Z0123456789ABC", "name": "example.com"})),
        )]),
        "spec.hostedZone",
        "exactly one of hostedZone.id or hostedZone.name",
    );
    rejected(
        &with(&[("/spec/hostedZone", Some(json!({})))]),
        "spec.hostedZone",
        "exactly one",
    );
}

#[test]
fn rule_hosted_zone_private_only_with_name() {
    accepted(&with(&[(
        "/spec/hostedZone",
        Some(json!({"name": "example.com", "private": true})),
    )]));
    rejected(
        &with(&[(
            "/spec/hostedZone",
            Some(json!({"id": "Z0123456789ABC", "private": true})),
        )]),
        "spec.hostedZone",
        "private only applies",
    );
}

#[test]
fn rule_hosted_zone_is_immutable() {
    let old: FailoverRecordSpec = serde_json::from_value(valid()["spec"].clone()).expect("spec");
    let mut moved = old.clone();
    moved.hosted_zone.name = Some("example.org".into());
    let to_value = |s: &FailoverRecordSpec| serde_json::to_value(s).expect("serialises");
    assert!(FailoverRecordSpec::validate_cel(&to_value(&old), Some(&to_value(&old))).is_ok());
    let errors = FailoverRecordSpec::validate_cel(&to_value(&moved), Some(&to_value(&old)))
        .expect_err("immutable");
    assert!(
        errors
            .as_slice()
            .iter()
            .any(|e| e.message.contains("hostedZone is immutable")),
        "{errors:?}"
    );
}

// ----- spec-level rules -----

#[test]
fn rule_set_identifiers_differ() {
    accepted(&with(&[
        ("/spec/primary/setIdentifier", Some(json!("main"))),
        ("/spec/secondary/setIdentifier", Some(json!("backup"))),
    ]));
    rejected(
        &with(&[("/spec/primary/setIdentifier", Some(json!("secondary")))]),
        "spec.secondary.setIdentifier",
        "must differ",
    );
}

#[test]
fn rule_a_managed_side_is_described() {
    accepted(&with(&[
        ("/spec/manage", Some(json!("Primary"))),
        ("/spec/secondary", None),
    ]));
    accepted(&with(&[
        ("/spec/manage", Some(json!("Secondary"))),
        ("/spec/primary", None),
    ]));
    rejected(
        &with(&[("/spec/secondary", None)]),
        "spec.secondary",
        "required unless manage is Primary",
    );
    rejected(
        &with(&[
            ("/spec/manage", Some(json!("Primary"))),
            ("/spec/primary", None),
            ("/spec/secondary", None),
        ]),
        "spec.primary",
        "required unless manage is Secondary",
    );
}

#[test]
fn rule_the_side_another_installation_manages_is_not_described() {
    rejected(
        &with(&[("/spec/manage", Some(json!("Primary")))]),
        "spec.secondary",
        "belongs to another installation",
    );
    rejected(
        &with(&[("/spec/manage", Some(json!("Secondary")))]),
        "spec.primary",
        "belongs to another installation",
    );
    rejected(
        &with(&[("/spec/manage", Some(json!("Neither")))]),
        "spec.manage",
        "",
    );
}

#[test]
fn rules_about_one_side_hold_when_only_that_side_is_described() {
    rejected(
        &with(&[
            ("/spec/manage", Some(json!("Primary"))),
            ("/spec/secondary", None),
            ("/spec/primary/healthCheck", None),
        ]),
        "spec.primary.healthCheck",
        "required",
    );
    rejected(
        &with(&[
            ("/spec/manage", Some(json!("Secondary"))),
            ("/spec/primary", None),
            ("/spec/secondary/addresses", Some(json!(["2600:1f18::2"]))),
        ]),
        "spec.secondary.addresses",
        "type A takes IPv4 addresses",
    );
}

#[test]
fn a_zone_role_is_an_iam_role_arn() {
    accepted(&with(&[(
        "/spec/hostedZone/roleArn",
        Some(json!("arn:aws:iam::111111111111:role/dns")),
    )]));
    rejected(
        &with(&[(
            "/spec/hostedZone/roleArn",
            Some(json!("arn:aws:iam::111111111111:user/dns")),
        )]),
        "spec.hostedZone.roleArn",
        "is not an IAM role ARN",
    );
}

#[test]
fn rule_primary_needs_a_health_check_unless_alias_evaluates_target_health() {
    let alias =
        json!({"dnsName": "lb-1.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K"});
    accepted(&with(&[("/spec/primary", Some(json!({"alias": alias})))]));
    rejected(
        &with(&[("/spec/primary/healthCheck", None)]),
        "spec.primary.healthCheck",
        "required",
    );
    let no_eval = json!({"dnsName": "lb-1.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": false});
    rejected(
        &with(&[("/spec/primary", Some(json!({"alias": no_eval})))]),
        "spec.primary.healthCheck",
        "required",
    );
}

#[test]
fn rule_manual_failback_needs_a_primary_health_check() {
    accepted(&with(&[("/spec/failback", Some(json!("Manual")))]));
    accepted(&with(&[("/spec/failback", Some(json!("Automatic")))]));
    let alias =
        json!({"dnsName": "lb-1.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K"});
    accepted(&with(&[("/spec/primary", Some(json!({"alias": alias})))]));
    rejected(
        &with(&[
            ("/spec/primary", Some(json!({"alias": alias}))),
            ("/spec/failback", Some(json!("Manual"))),
        ]),
        "spec.failback",
        "needs primary.healthCheck",
    );
    // The installation that manages only the SECONDARY has no latch to hold.
    rejected(
        &with(&[
            ("/spec/manage", Some(json!("Secondary"))),
            ("/spec/primary", None),
            ("/spec/failback", Some(json!("Manual"))),
        ]),
        "spec.failback",
        "so manage Both or Primary",
    );
    rejected(
        &with(&[("/spec/failback", Some(json!("Later")))]),
        "spec.failback",
        "",
    );
}

#[test]
fn rule_primary_addresses_match_the_type() {
    accepted(&with(&[
        ("/spec/type", Some(json!("AAAA"))),
        ("/spec/primary/addresses", Some(json!(["2600:1f18::1"]))),
        ("/spec/secondary/addresses", Some(json!(["2600:1f18::2"]))),
    ]));
    rejected(
        &with(&[("/spec/primary/addresses", Some(json!(["2600:1f18::1"])))]),
        "spec.primary.addresses",
        "primary.addresses[0] 2600:1f18::1 is not an IPv4 address: type A takes IPv4 addresses",
    );
    rejected(
        &with(&[("/spec/primary/addresses", Some(json!(["not-an-ip"])))]),
        "spec.primary.addresses",
        "IPv4",
    );
}

#[test]
fn rule_secondary_addresses_match_the_type() {
    accepted(&valid());
    rejected(
        &with(&[(
            "/spec/secondary/addresses",
            Some(json!(["192.0.2.20", "2600:1f18::2"])),
        )]),
        "spec.secondary.addresses",
        "secondary.addresses[1] 2600:1f18::2 is not an IPv4 address",
    );
}

#[test]
fn rule_primary_cname_holds_one_host_name() {
    let cname = |primary: Value| {
        with(&[
            ("/spec/type", Some(json!("CNAME"))),
            ("/spec/primary/addresses", Some(primary)),
            (
                "/spec/primary/healthCheck",
                Some(json!({"protocol": "HTTPS"})),
            ),
            (
                "/spec/secondary/addresses",
                Some(json!(["backup.example.net"])),
            ),
        ])
    };
    accepted(&cname(json!(["primary.example.net"])));
    rejected(
        &cname(json!(["192.0.2.10"])),
        "spec.primary",
        "exactly one host name",
    );
    rejected(
        &cname(json!(["a.example.net", "b.example.net"])),
        "spec.primary",
        "exactly one host name",
    );
}

#[test]
fn rule_secondary_cname_holds_one_host_name() {
    let object = with(&[
        ("/spec/type", Some(json!("CNAME"))),
        (
            "/spec/primary/addresses",
            Some(json!(["primary.example.net"])),
        ),
        (
            "/spec/primary/healthCheck",
            Some(json!({"protocol": "HTTPS"})),
        ),
    ]);
    rejected(&object, "spec.secondary", "exactly one host name");
}

#[test]
fn rule_cname_is_not_at_the_apex() {
    let object = |name: &str| {
        with(&[
            ("/spec/type", Some(json!("CNAME"))),
            ("/spec/name", Some(json!(name))),
            (
                "/spec/primary/addresses",
                Some(json!(["primary.example.net"])),
            ),
            (
                "/spec/primary/healthCheck",
                Some(json!({"protocol": "HTTPS"})),
            ),
            (
                "/spec/secondary/addresses",
                Some(json!(["backup.example.net"])),
            ),
        ])
    };
    accepted(&object("www"));
    rejected(&object("@"), "spec.name", "zone apex");
}

#[test]
fn rule_a_fully_qualified_name_is_inside_the_zone() {
    let named = |name: &str, zone: &str| {
        with(&[
            ("/spec/name", Some(json!(name))),
            ("/spec/hostedZone", Some(json!({"name": zone}))),
        ])
    };
    for (name, zone) in [
        ("www", "example.com"),
        ("www.example.com", "example.com"),
        ("www.example.com.", "example.com"),
        ("WWW.Example.COM", "example.com."),
        ("a.b.example.com", "example.com"),
        ("example.com", "example.com"),
        ("*.example.com", "example.com"),
    ] {
        accepted(&named(name, zone));
    }
    for (name, zone) in [
        ("www.example.org", "example.com"),
        ("www.badexample.com", "example.com"),
        ("example.com.evil.net", "example.com"),
        ("www.", "example.com"),
    ] {
        rejected(
            &named(name, zone),
            "spec.name",
            "is not inside hostedZone.name",
        );
    }
    // A zone given by id is known only once looked up: checked then.
    accepted(&with(&[
        ("/spec/name", Some(json!("www.example.org"))),
        ("/spec/hostedZone", Some(json!({"id": "Z0123456789ABC"}))),
    ]));
}

// ----- target rules -----

#[test]
fn rule_target_exactly_one_of_addresses_alias_or_a_reference() {
    let alias =
        json!({"dnsName": "lb-1.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K"});
    accepted(&with(&[(
        "/spec/secondary",
        Some(json!({"alias": alias.clone()})),
    )]));
    rejected(
        &with(&[("/spec/secondary/alias", Some(alias))]),
        "spec.secondary",
        "exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
    );
    rejected(
        &with(&[("/spec/secondary", Some(json!({})))]),
        "spec.secondary",
        "exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
    );
    accepted(&with(&[(
        "/spec/secondary",
        Some(json!({"serviceRef": {"name": "web-backup"}})),
    )]));
    accepted(&with(&[(
        "/spec/primary",
        Some(json!({"ingressRef": {"name": "web"}})),
    )]));
    rejected(
        &with(&[(
            "/spec/secondary/serviceRef",
            Some(json!({"name": "web-backup"})),
        )]),
        "spec.secondary",
        "exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
    );
}

#[test]
fn rule_a_gateway_ref_is_one_target_like_the_other_references() {
    accepted(&with(&[(
        "/spec/secondary",
        Some(json!({"gatewayRef": {"name": "public"}})),
    )]));
    // Like serviceRef/ingressRef, the primary's check may come from the
    // Gateway's load balancer (an alias that evaluates target health).
    accepted(&with(&[(
        "/spec/primary",
        Some(json!({"gatewayRef": {"name": "public"}})),
    )]));
    for other in [
        ("addresses", json!(["192.0.2.20"])),
        ("ingressRef", json!({"name": "web"})),
        ("serviceRef", json!({"name": "web"})),
    ] {
        let mut side = json!({"gatewayRef": {"name": "public"}});
        side[other.0] = other.1;
        rejected(
            &with(&[("/spec/secondary", Some(side))]),
            "spec.secondary",
            "exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
        );
    }
    rejected(
        &with(&[("/spec/secondary", Some(json!({"gatewayRef": {"name": ""}})))]),
        "spec.secondary.gatewayRef.name",
        "",
    );
}

#[test]
fn rule_cname_sides_may_be_gateway_refs() {
    // The Gateway's host name becomes the CNAME target once resolved.
    let object = with(&[
        ("/spec/type", Some(json!("CNAME"))),
        (
            "/spec/primary",
            Some(json!({"gatewayRef": {"name": "public"}, "healthCheck": {"protocol": "HTTPS"}})),
        ),
        (
            "/spec/secondary",
            Some(json!({"gatewayRef": {"name": "backup"}})),
        ),
    ]);
    accepted(&object);
}

#[test]
fn rule_health_check_on_an_alias_needs_an_endpoint() {
    let alias =
        json!({"dnsName": "lb-1.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K"});
    accepted(&with(&[(
        "/spec/primary",
        Some(json!({"alias": alias.clone(), "healthCheck": {"fqdn": "www.example.net"}})),
    )]));
    rejected(
        &with(&[(
            "/spec/primary",
            Some(json!({"alias": alias, "healthCheck": {"protocol": "HTTP"}})),
        )]),
        "spec.primary.healthCheck",
        "needs healthCheck.ipAddress or healthCheck.fqdn",
    );
}

// ----- health check rules -----

fn check(changes: Value) -> Value {
    let mut base = json!({"protocol": "HTTP", "port": 80, "requestInterval": 10});
    for (k, v) in changes.as_object().expect("object") {
        base[k] = v.clone();
    }
    with(&[("/spec/primary/healthCheck", Some(base))])
}

const HC: &str = "spec.primary.healthCheck";

#[test]
fn rule_health_check_at_most_one_of_ip_or_fqdn() {
    accepted(&check(json!({"fqdn": "primary.example.net"})));
    rejected(
        &check(json!({"fqdn": "primary.example.net", "ipAddress": "198.51.100.1"})),
        HC,
        "at most one of healthCheck.ipAddress or healthCheck.fqdn",
    );
}

#[test]
fn rule_search_string_needs_http() {
    accepted(&check(json!({"searchString": "EC2 Primary"})));
    rejected(
        &check(json!({"protocol": "TCP", "searchString": "EC2 Primary"})),
        &format!("{HC}.searchString"),
        "needs protocol HTTP or HTTPS",
    );
}

#[test]
fn rule_path_needs_http() {
    accepted(&check(json!({"path": "/index.html"})));
    rejected(
        &check(json!({"protocol": "TCP", "path": "/index.html"})),
        &format!("{HC}.path"),
        "needs protocol HTTP or HTTPS",
    );
}

#[test]
fn rule_host_name_needs_http() {
    accepted(&check(json!({"hostName": "www.example.com"})));
    rejected(
        &check(json!({"protocol": "TCP", "hostName": "www.example.com"})),
        &format!("{HC}.hostName"),
        "needs protocol HTTP or HTTPS",
    );
}

#[test]
fn rule_host_name_only_with_ip() {
    accepted(&check(
        json!({"ipAddress": "198.51.100.1", "hostName": "www.example.com"}),
    ));
    rejected(
        &check(json!({"fqdn": "primary.example.net", "hostName": "www.example.com"})),
        &format!("{HC}.hostName"),
        "only applies to a check by IP",
    );
}

#[test]
fn rule_enable_sni_needs_https() {
    accepted(&check(
        json!({"protocol": "HTTPS", "port": 443, "enableSNI": false}),
    ));
    rejected(
        &check(json!({"enableSNI": true})),
        &format!("{HC}.enableSNI"),
        "needs protocol HTTPS",
    );
}

#[test]
fn rule_tcp_needs_a_port() {
    accepted(&check(json!({"protocol": "TCP", "port": 5432})));
    let mut object = check(json!({"protocol": "TCP"}));
    object["spec"]["primary"]["healthCheck"]
        .as_object_mut()
        .expect("object")
        .remove("port");
    rejected(
        &object,
        &format!("{HC}.port"),
        "port is required for protocol TCP",
    );
}

#[test]
fn rule_ip_address_is_an_ip() {
    accepted(&check(json!({"ipAddress": "2600:1f18::10"})));
    rejected(
        &check(json!({"ipAddress": "web-1.example.com"})),
        &format!("{HC}.ipAddress"),
        "must be an IPv4 or IPv6 address",
    );
}

#[test]
fn rule_request_interval_is_10_or_30() {
    accepted(&check(json!({"requestInterval": 30})));
    rejected(
        &check(json!({"requestInterval": 15})),
        &format!("{HC}.requestInterval"),
        "must be 10 or 30",
    );
}

// ----- structural checks -----

#[test]
fn failure_threshold_out_of_range() {
    accepted(&check(json!({"failureThreshold": 10})));
    rejected(
        &check(json!({"failureThreshold": 11})),
        &format!("{HC}.failureThreshold"),
        "between 1 and 10",
    );
    rejected(
        &check(json!({"failureThreshold": 0})),
        &format!("{HC}.failureThreshold"),
        "between 1 and 10",
    );
}

#[test]
fn unknown_fields_are_rejected_like_strict_field_validation() {
    rejected(
        &with(&[("/spec/primary/healthcheck", Some(json!({})))]),
        "spec.primary.healthcheck",
        "unknown field",
    );
}

#[test]
fn types_enums_patterns_and_lists_are_checked() {
    rejected(
        &with(&[("/spec/ttl", Some(json!("60")))]),
        "spec.ttl",
        "must be an integer",
    );
    rejected(
        &with(&[("/spec/type", Some(json!("MX")))]),
        "spec.type",
        "supported values are",
    );
    rejected(
        &with(&[("/spec/name", Some(json!("bad name")))]),
        "spec.name",
        "name bad name is not a record name: use one label relative to the zone",
    );
    rejected(
        &check(json!({"path": "index.html"})),
        &format!("{HC}.path"),
        "healthCheck.path index.html must start with /",
    );
    rejected(
        &check(json!({"regions": ["us-east-1", "eu-west-1"]})),
        &format!("{HC}.regions"),
        "at least 3 regions, or none",
    );
    accepted(&check(json!({"regions": []})));
    accepted(&check(
        json!({"regions": ["us-east-1", "eu-west-1", "ap-southeast-1"]}),
    ));
    rejected(
        &check(json!({"regions": ["us-east-1", "eu-west-1", "eu-west-1"]})),
        &format!("{HC}.regions"),
        "duplicate value",
    );
    rejected(
        &check(json!({"searchString": "x".repeat(256)})),
        &format!("{HC}.searchString"),
        "at most 255 characters",
    );
    rejected(
        &with(&[("/spec/primary/addresses", Some(json!([])))]),
        "spec.primary.addresses",
        "at least 1 items",
    );
    rejected(&with(&[("/spec/name", None)]), "spec.name", "required");
}

#[test]
fn identity_is_checked() {
    rejected(
        &with(&[("/kind", Some(json!("Service")))]),
        "kind",
        "must be FailoverRecord",
    );
    rejected(
        &with(&[("/apiVersion", Some(json!("dnsfailover.io/v1")))]),
        "apiVersion",
        "dnsfailover.io/v1alpha1",
    );
    rejected(
        &with(&[("/metadata/name", Some(json!("Not_Valid")))]),
        "metadata.name",
        "DNS subdomain",
    );
    rejected(
        &with(&[("/metadata/name", None)]),
        "metadata.name",
        "required",
    );
}

// ----- the schema itself -----

fn walk(schema: &Value, path: &str, visit: &mut impl FnMut(&str, &serde_json::Map<String, Value>)) {
    let Some(map) = schema.as_object() else {
        return;
    };
    visit(path, map);
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            walk(v, &format!("{path}.{k}"), visit);
        }
    }
    if let Some(items) = map.get("items") {
        walk(items, &format!("{path}[]"), visit);
    }
}

#[test]
fn the_structural_pass_understands_every_keyword_the_schema_uses() {
    let mut unknown = Vec::new();
    walk(schema(), "", &mut |path, map| {
        for key in map.keys() {
            if !UNDERSTOOD_KEYWORDS.contains(&key.as_str()) {
                unknown.push(format!("{path}: {key}"));
            }
        }
    });
    assert!(
        unknown.is_empty(),
        "schema keywords the structural pass would ignore: {unknown:?}"
    );
}

#[test]
fn every_spec_field_has_kubectl_explain_text() {
    let mut missing = Vec::new();
    walk(&schema()["properties"]["spec"], "spec", &mut |path, map| {
        if !path.ends_with("[]") && !map.contains_key("description") {
            missing.push(path.to_string());
        }
    });
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

#[test]
fn every_cel_rule_compiles_and_has_a_message() {
    let mut rules = Vec::new();
    walk(schema(), "", &mut |path, map| {
        for rule in map
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            rules.push((path.to_string(), rule.clone()));
        }
    });
    assert!(
        rules.len() >= 20,
        "expected the full rule set, found {}",
        rules.len()
    );
    for (path, rule) in &rules {
        assert!(
            ["message", "messageExpression"].iter().any(|key| rule
                .get(*key)
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty())),
            "{path}: rule without a message: {rule}"
        );
    }
    let compiled = compile_schema(schema());
    assert!(
        !compiled.has_errors(),
        "{:?}",
        compiled.compilation_errors()
    );
}

// ----- host names, alias targets, and no regular expression in a message -----

#[test]
fn rule_host_names_are_dns_names_naming_field_and_value() {
    let alias = |name: &str| json!({"alias": {"dnsName": name, "hostedZoneId": "Z35SXDOTRQ7X7K"}});
    accepted(&with(&[(
        "/spec/secondary",
        Some(alias("lb-1.us-east-1.elb.amazonaws.com.")),
    )]));
    rejected(
        &with(&[("/spec/secondary", Some(alias("has space!.example.net")))]),
        "spec.secondary.alias.dnsName",
        "alias.dnsName has space!.example.net is not a valid DNS name: labels are letters",
    );
    accepted(&check(json!({"fqdn": "origin.example.net"})));
    rejected(
        &check(json!({"fqdn": "not a host!!"})),
        &format!("{HC}.fqdn"),
        "healthCheck.fqdn not a host!! is not a valid DNS name",
    );
    accepted(&check(
        json!({"ipAddress": "52.94.236.10", "hostName": "www.example.com"}),
    ));
    rejected(
        &check(json!({"ipAddress": "52.94.236.10", "hostName": "bücher.example"})),
        &format!("{HC}.hostName"),
        "use punycode (xn--...) for international names",
    );
    rejected(
        &with(&[("/spec/hostedZone", Some(json!({"name": "example com"})))]),
        "spec.hostedZone.name",
        "hostedZone.name example com is not a valid DNS name",
    );
}

#[test]
fn rule_cname_values_are_host_names() {
    let cname = |host: &str| {
        with(&[
            ("/spec/type", Some(json!("CNAME"))),
            ("/spec/primary/addresses", Some(json!([host]))),
            ("/spec/secondary/addresses", Some(json!(["b.example.net"]))),
        ])
    };
    accepted(&cname("a.example.net"));
    rejected(
        &cname("has space!.example.net"),
        "spec.primary.addresses",
        "primary.addresses[0] has space!.example.net is not a valid host name for type CNAME",
    );
}

#[test]
fn rule_cloudfront_alias_cannot_evaluate_target_health() {
    let cloudfront = |evaluate: Value| {
        let mut alias =
            json!({"dnsName": "d111111abcdef8.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"});
        if !evaluate.is_null() {
            alias["evaluateTargetHealth"] = evaluate;
        }
        with(&[("/spec/secondary", Some(json!({"alias": alias})))])
    };
    accepted(&cloudfront(json!(false)));
    for evaluate in [json!(true), Value::Null] {
        rejected(
            &cloudfront(evaluate),
            "spec.secondary.alias.evaluateTargetHealth",
            "Route 53 documents that EvaluateTargetHealth can't be true when the alias target is a CloudFront distribution",
        );
    }
}

#[test]
fn rule_zone_ids_are_described_in_words() {
    accepted(&with(&[(
        "/spec/hostedZone",
        Some(json!({"id": "/hostedzone/Z0123456789ABC"})),
    )]));
    rejected(
        &with(&[("/spec/hostedZone", Some(json!({"id": "z-lower"})))]),
        "spec.hostedZone.id",
        "hostedZone.id z-lower is not a hosted zone id: upper-case letters and digits",
    );
    rejected(
        &with(&[(
            "/spec/secondary",
            Some(json!({"alias": {"dnsName": "lb.example.net", "hostedZoneId": "bad id"}})),
        )]),
        "spec.secondary.alias.hostedZoneId",
        "is not a hosted zone id",
    );
}

#[test]
fn no_message_shows_a_regular_expression() {
    let bad = [
        with(&[("/spec/name", Some(json!("bad name")))]),
        with(&[("/spec/hostedZone", Some(json!({"name": "example com"})))]),
        with(&[("/spec/hostedZone", Some(json!({"id": "z-lower"})))]),
        check(json!({"path": "index.html"})),
        check(json!({"fqdn": "a..b"})),
    ];
    for object in bad {
        let error = admit(&object).expect_err("invalid").to_string();
        for regex_syntax in ["^", "$", "[A-Z", "{0,61}", "pattern"] {
            assert!(!error.contains(regex_syntax), "{error}");
        }
    }
}
