//! The committed CRDs must be exactly what the Rust types generate: they are
//! generated, never edited by hand. `make crd` regenerates both copies.

fn check(relative: &str, generated: &str) {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; run `make crd` and commit the result"));
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{path} is out of date with the Rust types (first difference at line {}); run `make crd` and commit the result",
            first + 1
        );
    }
}

#[test]
fn committed_crd_matches_the_rust_types() {
    check(
        "crds/failoverrecords.dnsfailover.io.yaml",
        &dnsfailover::api::crd_yaml().expect("the CRD renders"),
    );
}

#[test]
fn the_chart_ships_the_same_crd() {
    check(
        "charts/dnsfailover/crds/failoverrecords.dnsfailover.io.yaml",
        &dnsfailover::api::crd_yaml().expect("the CRD renders"),
    );
}

#[test]
fn the_regions_field_names_every_region_it_accepts() {
    let crd = dnsfailover::api::crd_yaml().expect("the CRD renders");
    let start = crd.find("regions:").expect("a regions field");
    let rest = &crd[start..];
    let description = &rest[..rest.find("items:").unwrap_or(rest.len())];
    for region in dnsfailover::api::HealthCheckRegion::ALL {
        assert!(
            description.contains(region.as_str()),
            "{} is not named in the description of regions: {description}",
            region.as_str()
        );
    }
}
