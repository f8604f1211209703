//! Property tests on untrusted input: manifests, specs and Route 53 answers.
//! Nothing panics on arbitrary input, and whatever passes validation can be
//! planned.

use dnsfailover::api::admission;
use dnsfailover::core::ownership::{Marker, Owner};
use dnsfailover::core::{plan, validate};
use dnsfailover::manifest;
use dnsfailover::route53::names;
use dnsfailover::route53::{RecordSet, RrType, Zone};
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("A"),
            Just("AAAA"),
            Just("CNAME"),
            Just("HTTP"),
            Just("TCP"),
            Just("192.0.2.1"),
            Just("::1"),
            Just("example.com")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid() -> Value {
    json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": {"name": "x", "namespace": "web"},
        "spec": {
            "hostedZone": {"name": "example.com"},
            "name": "www",
            "primary": {"addresses": ["52.94.236.10"], "healthCheck": {"protocol": "HTTP"}},
            "secondary": {"addresses": ["52.94.236.20"]}
        }
    })
}

const SPEC_PATHS: &[&str] = &[
    "/spec/hostedZone",
    "/spec/name",
    "/spec/type",
    "/spec/ttl",
    "/spec/primary",
    "/spec/primary/addresses",
    "/spec/primary/healthCheck",
    "/spec/primary/healthCheck/protocol",
    "/spec/primary/healthCheck/requestInterval",
    "/spec/primary/healthCheck/ipAddress",
    "/spec/secondary",
    "/spec/secondary/alias",
    "/spec/deletionPolicy",
    "/metadata/name",
];

/// Admit, validate, place and plan: every step may refuse, none may panic.
fn run_pipeline(object: &Value) {
    let Ok(record) = admission::admit(object) else {
        return;
    };
    let Ok(desired) = validate::desired_from_spec(Owner::new("fuzz", "web", "x"), &record.spec)
    else {
        return;
    };
    let zone = Zone {
        id: "Z1".into(),
        name: "example.com.".into(),
        private: false,
        name_servers: Vec::new(),
    };
    let Ok(placed) = desired.place(zone) else {
        return;
    };
    let records = plan::ZoneRecords::default();
    let observed = plan::Observed {
        records: &records,
        health_checks: &plan::CheckSet::default(),
        tags: &Default::default(),
    };
    let planned = plan::plan_apply(&placed, observed);
    assert!(
        planned.conflicts.is_empty(),
        "an empty zone has no conflicts"
    );
    assert_eq!(
        planned.changes.len(),
        3,
        "a fresh record is a pair and a marker"
    );
}

/// Cases per property: `DNSFAILOVER_PROPTEST_CASES` (set by `make soak`), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("DNSFAILOVER_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_admission(value in json_value()) {
        let _ = admission::admit(&value);
        let mut wrapped = valid();
        wrapped["spec"] = value;
        run_pipeline(&wrapped);
    }

    #[test]
    fn a_valid_manifest_with_any_field_replaced_never_panics(index in 0..SPEC_PATHS.len(), replacement in json_value()) {
        let mut object = valid();
        let pointer = SPEC_PATHS[index];
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        if let Some(map) = object.pointer_mut(parent).and_then(Value::as_object_mut) {
            map.insert(key.to_string(), replacement);
        }
        run_pipeline(&object);
    }

    #[test]
    fn arbitrary_text_never_panics_the_manifest_reader(text in "\\PC{0,400}") {
        let _ = manifest::parse("fuzz.yaml", &text);
    }

    #[test]
    fn arbitrary_route53_names_and_txt_values_never_panic(name in "\\PC{0,80}", value in "\\PC{0,300}") {
        let normalized = names::normalize(&name);
        prop_assert!(normalized.ends_with('.'));
        let _ = Marker::parse(&value);
        let record = RecordSet {
            name: normalized,
            rr_type: RrType::TXT,
            set_identifier: None,
            failover: None,
            ttl: Some(1),
            values: vec![value],
            alias: None,
            health_check_id: None,
            other_routing: None,
        };
        let _ = plan::ZoneRecords::new(vec![record]);
    }

    #[test]
    fn markers_round_trip_for_any_names(owner in "[a-z0-9-]{1,63}", ns in "[a-z0-9-]{1,63}", name in "\\PC{1,253}", p in "\\PC{1,128}", s in "\\PC{1,128}") {
        let marker = Marker::new(&Owner::new(owner, ns, name), &p, &s);
        prop_assert_eq!(Marker::parse(&marker.to_txt_value()), Some(marker));
    }
}
