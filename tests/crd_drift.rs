//! The committed CRD must be exactly what the Rust types generate: it is
//! generated, never edited by hand. `make crd` regenerates it.

#[test]
fn committed_crd_matches_the_rust_types() {
    let generated = dnsfailover::api::crd_yaml().expect("the CRD renders");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/failoverrecords.dnsfailover.io.yaml"
    );
    let committed = std::fs::read_to_string(path)
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
