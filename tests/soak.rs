//! Long variants of the fault tests, for `make soak` (they are ignored by a
//! plain `cargo test`): more records, more failure rates, more seeds.

mod support;

use support::cluster::storm;

#[tokio::test(start_paused = true)]
#[ignore = "long: run with `make soak`"]
async fn a_hundred_records_converge_through_many_storms() {
    for probability in [0.1, 0.3, 0.6, 0.9] {
        for seed in 1..=5 {
            let report = storm(100, probability, seed).await;
            eprintln!("probability {probability}, seed {seed}: {report:?}");
        }
    }
}
