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
