//! The CRD on a real apiserver: the examples are accepted, each class of
//! invalid spec is refused with the schema's or the CEL rule's message,
//! `kubectl explain` and `kubectl get` show what the types say.

use serde_json::{Value, json};

use crate::support::control_plane::{control_plane, root};

/// The examples' documents with their namespace replaced by `ns`.
fn examples_in(ns: &str) -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("an example");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let mut value: Value = serde::Deserialize::deserialize(doc).expect("example YAML");
            if value.is_null() {
                continue;
            }
            value["metadata"]["namespace"] = json!(ns);
            docs.push((file.display().to_string(), value));
        }
    }
    docs
}

#[test]
fn every_example_passes_a_server_side_dry_run() {
    let plane = control_plane();
    // examples/gateway-backed.yaml holds a Gateway, checked against the
    // Gateway API's published schema.
    plane.install_gateway_api();
    let ns = plane.namespace("examples", &[]);
    let docs = examples_in(&ns);
    let kinds: Vec<&str> = docs
        .iter()
        .map(|(_, d)| d["kind"].as_str().unwrap_or_default())
        .collect();
    assert!(kinds.contains(&"FailoverRecord"));
    for (file, doc) in &docs {
        let out = plane.kubectl_with(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&doc.to_string()),
        );
        assert!(
            out.status.success(),
            "{file}: the apiserver refused {}: {}",
            doc["metadata"]["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("Warning"), "{file}: warnings: {stderr}");
    }
}

fn base() -> Value {
    json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": "bad"},
        "spec": {
            "hostedZone": {"name": "example.com"},
            "name": "www",
            "type": "A",
            "primary": {
                "addresses": ["203.0.113.10"],
                "healthCheck": {"protocol": "HTTP", "requestInterval": 10, "failureThreshold": 3}
            },
            "secondary": {"addresses": ["198.51.100.10"]}
        }
    })
}

/// A server-side create of `doc`; the apiserver's error text, or None if it
/// was accepted.
fn refusal(ns: &str, doc: &Value) -> Option<String> {
    let plane = control_plane();
    let out = plane.kubectl_with(
        &["create", "--dry-run=server", "-n", ns, "-f", "-"],
        Some(&doc.to_string()),
    );
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn each_class_of_invalid_spec_is_refused_by_the_apiserver_with_its_message() {
    let plane = control_plane();
    let ns = plane.namespace("invalid", &[]);
    assert_eq!(refusal(&ns, &base()), None, "the base spec is valid");

    let long_label = "a".repeat(63);
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "interval 15",
            json!({"spec": {"primary": {"healthCheck": {"requestInterval": 15}}}}),
            &[
                "spec.primary.healthCheck.requestInterval",
                "requestInterval must be 10 or 30",
            ],
        ),
        (
            "threshold 11",
            json!({"spec": {"primary": {"healthCheck": {"failureThreshold": 11}}}}),
            &[
                "spec.primary.healthCheck.failureThreshold",
                "should be less than or equal to 10",
            ],
        ),
        (
            "addresses with alias",
            json!({"spec": {"secondary": {"alias": {"dnsName": "lb.example.net", "hostedZoneId": "Z35SXDOTRQ7X7K"}}}}),
            &[
                "spec.secondary",
                "set exactly one of addresses, alias, serviceRef, ingressRef or gatewayRef",
            ],
        ),
        (
            "searchString with TCP",
            json!({"spec": {"primary": {"healthCheck": {"protocol": "TCP", "port": 443, "searchString": "ok"}}}}),
            &[
                "spec.primary.healthCheck",
                "searchString needs protocol HTTP or HTTPS",
            ],
        ),
        (
            "a name outside the zone",
            json!({"spec": {"name": "www.example.org"}}),
            &[
                "spec.name",
                "name www.example.org is not inside hostedZone.name example.com",
            ],
        ),
        (
            "an oversized name",
            json!({"spec": {"name": format!("{long_label}.{long_label}.{long_label}.{long_label}.example.com")}}),
            &["spec.name", "Too long"],
        ),
        (
            "an IPv6 address on an A record",
            json!({"spec": {"secondary": {"addresses": ["2001:db8::1"]}}}),
            &[
                "secondary.addresses[0] 2001:db8::1 is not an IPv4 address: type A takes IPv4 addresses",
            ],
        ),
        (
            "an alias target that is not a DNS name",
            json!({"spec": {"secondary": {"addresses": null, "alias": {"dnsName": "not a host!!", "hostedZoneId": "Z35SXDOTRQ7X7K"}}}}),
            &[
                "spec.secondary.alias.dnsName",
                "alias.dnsName not a host!! is not a valid DNS name",
            ],
        ),
        (
            "a CNAME value that is not a host name",
            json!({"spec": {"type": "CNAME", "primary": {"addresses": ["has space!.example.net"]}, "secondary": {"addresses": ["b.example.net"]}}}),
            &[
                "primary.addresses[0] has space!.example.net is not a valid host name for type CNAME",
            ],
        ),
        (
            "a health check fqdn and Host header that are not DNS names",
            json!({"spec": {"primary": {"healthCheck": {"fqdn": "a..b"}}, "secondary": {"healthCheck": {"hostName": "www example"}}}}),
            &[
                "healthCheck.fqdn a..b is not a valid DNS name",
                "healthCheck.hostName www example is not a valid DNS name",
            ],
        ),
        (
            "an alias to CloudFront that evaluates target health",
            json!({"spec": {"secondary": {"addresses": null, "alias": {"dnsName": "d111111abcdef8.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}}}}),
            &[
                "spec.secondary.alias.evaluateTargetHealth",
                "EvaluateTargetHealth can't be true when the alias target is a CloudFront distribution",
            ],
        ),
        (
            "a path without its slash, said in words",
            json!({"spec": {"primary": {"healthCheck": {"path": "index.html"}}}}),
            &["healthCheck.path index.html must start with /"],
        ),
    ];
    for (what, change, expected) in cases {
        let mut doc = base();
        crate::world::merge(&mut doc, change);
        let message = refusal(&ns, &doc).unwrap_or_else(|| panic!("{what}: accepted"));
        for part in expected {
            assert!(
                message.contains(part),
                "{what}: the apiserver's message lacks {part:?}:\n{message}"
            );
        }
    }
}

#[test]
fn hosted_zone_cannot_be_changed_once_created() {
    let plane = control_plane();
    let ns = plane.namespace("immutable", &[]);
    let out = plane.kubectl_with(&["create", "-n", &ns, "-f", "-"], Some(&base().to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = plane.kubectl(&[
        "patch",
        "-n",
        &ns,
        "failoverrecord",
        "bad",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"hostedZone":{"name":"example.org"}}}"#,
    ]);
    assert!(!out.status.success(), "the zone change was accepted");
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("hostedZone is immutable; create a new FailoverRecord for another zone"),
        "{message}"
    );
}

#[test]
fn kubectl_explain_and_get_show_the_field_docs_and_printer_columns() {
    let plane = control_plane();
    let explained = plane.kubectl_ok(&["explain", "failoverrecord.spec"]);
    for field in [
        "hostedZone",
        "primary",
        "secondary",
        "deletionPolicy",
        "ttl",
    ] {
        assert!(explained.contains(field), "{field} in:\n{explained}");
    }
    let check = plane.kubectl_ok(&[
        "explain",
        "failoverrecord.spec.primary.healthCheck.requestInterval",
    ]);
    assert!(
        check.contains("10 (fast, costs more) or\n    30"),
        "{check}"
    );

    let ns = plane.namespace("columns", &[]);
    let out = plane.kubectl_with(&["create", "-n", &ns, "-f", "-"], Some(&base().to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = plane.kubectl_ok(&["get", "-n", &ns, "fr", "-o", "wide"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for column in [
        "NAME",
        "FQDN",
        "TYPE",
        "ACTIVE",
        "PRIMARY",
        "READY",
        "SECONDARY",
        "FAILBACK",
        "MANAGE",
        "ZONE",
        "AGE",
    ] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    // The default table keeps to the essentials; -o wide adds the rest.
    let narrow = plane.kubectl_ok(&["get", "-n", &ns, "fr"]);
    let narrow = narrow.lines().next().unwrap_or_default();
    assert!(!narrow.contains("FAILBACK"), "{narrow}");
    assert!(narrow.contains("ACTIVE"), "{narrow}");
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(row.starts_with("bad "), "{table}");
}
