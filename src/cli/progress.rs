//! Progress of long work on stderr: Route 53 allows 0.5 CreateHealthCheck
//! per second per account, so a large apply spends most of its time waiting
//! for the rate limiter. On a terminal a live line (health checks created,
//! change batches written, waiting for the rate limit, time left); otherwise a
//! plain line now and then, so that CI logs show the run is alive.
//!
//! It only reads the request counts the rate limiter keeps ([`CallStats`]):
//! the executor knows nothing of it.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Output;
use crate::core::plan::RecordPlan;
use crate::route53::{CallStats, Operation, RateBudget};

/// How often a plain progress line is printed when stderr is not a terminal;
/// `DNSFAILOVER_PROGRESS_INTERVAL` (such as `30s`) changes it.
const PLAIN_INTERVAL: Duration = Duration::from_secs(10);
/// A live line appears only for work that takes longer than this.
const LIVE_AFTER: Duration = Duration::from_secs(1);

/// What the plans ask for, to count against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    create: u64,
    delete: u64,
    writes: u64,
}

/// A progress reporter for one command.
pub struct Progress {
    totals: Arc<Mutex<Option<Totals>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Progress {
    /// Start reporting (once [`Self::expect`] says what is to come).
    pub fn start(stats: CallStats, budget: RateBudget, output: Output) -> Self {
        let totals: Arc<Mutex<Option<Totals>>> = Arc::default();
        let live = std::io::stderr().is_terminal() && output == Output::Text;
        let interval = std::env::var("DNSFAILOVER_PROGRESS_INTERVAL")
            .ok()
            .and_then(|s| crate::settings::parse_duration(&s).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(PLAIN_INTERVAL);
        let shared = totals.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let bar = live.then(|| {
                let bar = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar
            });
            let tick = if live {
                Duration::from_millis(200)
            } else {
                interval
            };
            loop {
                tokio::time::sleep(tick).await;
                let Some(totals) = *shared.lock() else {
                    continue;
                };
                let line = describe(&stats, totals, budget, started.elapsed());
                match &bar {
                    Some(bar) if started.elapsed() >= LIVE_AFTER => {
                        bar.set_message(line);
                        bar.tick();
                    }
                    Some(_) => {}
                    None => eprintln!("progress: {line}"),
                }
            }
        });
        Self {
            totals,
            task: Mutex::new(Some(task)),
        }
    }

    /// The plans about to run: what progress counts against.
    pub fn expect(&self, plans: &[RecordPlan]) {
        let totals = Totals {
            create: plans.iter().map(|p| p.create_checks.len() as u64).sum(),
            delete: plans.iter().map(|p| p.delete_checks.len() as u64).sum(),
            writes: plans.iter().map(|p| p.write_count() as u64).sum(),
        };
        if totals.writes > 0 {
            *self.totals.lock() = Some(totals);
        }
    }

    /// Stop reporting (and clear the live line).
    pub fn finish(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
        *self.totals.lock() = None;
        if std::io::stderr().is_terminal() {
            // The spinner's line, if one was drawn, is cleared by a carriage
            // return and an erase-line; harmless when none was.
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
}

/// One progress line: counts, what is being waited for, time left.
fn describe(stats: &CallStats, totals: Totals, budget: RateBudget, elapsed: Duration) -> String {
    let created = stats.succeeded(Operation::CreateHealthCheck);
    let deleted = stats.succeeded(Operation::DeleteHealthCheck);
    let batches = stats.succeeded(Operation::ChangeResourceRecordSets);
    let writes = stats.write_requests();
    let mut line = format!(
        "{created}/{} health checks created, {batches} change batches written",
        totals.create
    );
    if totals.delete > 0 {
        line.push_str(&format!(
            ", {deleted}/{} health checks deleted",
            totals.delete
        ));
    }
    let waiting = stats.waiting_now();
    if !waiting.is_empty() {
        let names: Vec<&str> = waiting.iter().map(|op| op.as_str()).collect();
        line.push_str(&format!(
            "; waiting for the rate limit ({})",
            names.join(", ")
        ));
    }
    if let Some(left) = time_left(totals, created, writes, budget) {
        line.push_str(&format!(
            "; about {} left",
            humantime::format_duration(left)
        ));
    }
    line.push_str(&format!(" ({}s so far)", elapsed.as_secs()));
    line
}

/// An estimate from the budget: CreateHealthCheck has its own, tighter
/// bucket (Route 53's 0.5/s, scaled by this process's share), every write
/// goes through the overall one.
fn time_left(totals: Totals, created: u64, writes: u64, budget: RateBudget) -> Option<Duration> {
    let share = budget.requests_per_second / 10.0;
    let creates = totals.create.saturating_sub(created) as f64 / (0.5 * share);
    let others = totals.writes.saturating_sub(writes) as f64 / budget.requests_per_second;
    let seconds = creates.max(others);
    (seconds.is_finite() && seconds >= 1.0).then(|| Duration::from_secs(seconds.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_against_the_plan_and_estimates_the_time_left() {
        let stats = CallStats::default();
        for _ in 0..3 {
            stats.record(Operation::CreateHealthCheck, Ok(()));
            stats.record(Operation::ChangeTagsForResource, Ok(()));
        }
        stats.waiting(Operation::CreateHealthCheck, true);
        let totals = Totals {
            create: 300,
            delete: 0,
            writes: 601,
        };
        let line = describe(
            &stats,
            totals,
            RateBudget::default(),
            Duration::from_secs(12),
        );
        assert!(
            line.starts_with("3/300 health checks created, 0 change batches written"),
            "{line}"
        );
        assert!(
            line.contains("waiting for the rate limit (CreateHealthCheck)"),
            "{line}"
        );
        // 297 creates at 0.25/s.
        assert!(line.contains("about 19m 48s left"), "{line}");
    }
}
