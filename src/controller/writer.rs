//! Coalescing record changes: groups of one zone share change batches.
//!
//! Route 53 applies one change batch per zone at a time (a second one is
//! refused with PriorRequestNotComplete), and every request draws on the
//! account's small budget. So each zone has at most one batch in flight, and
//! groups that arrive while it is being sent (which includes its wait for the
//! rate limiter) join the next one.
//!
//! A reconcile announces that it is going to write ([`BatchWriter::intend`])
//! before it creates its health checks. A batch goes out as soon as every
//! announced group has arrived, so a lone change does not wait at all; while
//! announced groups are still on their way (their health checks wait for
//! Route 53's tight CreateHealthCheck budget), it waits for them until none
//! has arrived for `window`, and never longer than twelve windows.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use crate::engine::Engine;
use crate::route53::{Change, ChangeInfo, ErrorKind, Operation, Route53, Route53Error};

type Reply = oneshot::Sender<Result<ChangeInfo, Route53Error>>;

#[derive(Default)]
struct ZoneQueue {
    waiting: Vec<(Reply, Vec<Change>)>,
    /// Groups announced and not yet arrived.
    announced: usize,
    /// A flusher task is running for this zone.
    flushing: bool,
    arrived: Arc<Notify>,
}

type Queues = Arc<Mutex<HashMap<String, ZoneQueue>>>;

/// Collects change groups per zone and submits them together.
pub struct BatchWriter<R> {
    engine: Arc<Engine<R>>,
    window: Duration,
    queues: Queues,
}

/// A group on its way; dropping it without submitting withdraws it.
pub struct Intent {
    queues: Queues,
    zone_id: String,
    live: bool,
}

impl Intent {
    fn withdraw(&mut self) {
        if std::mem::take(&mut self.live) {
            let mut queues = self.queues.lock();
            if let Some(queue) = queues.get_mut(&self.zone_id) {
                queue.announced = queue.announced.saturating_sub(1);
                queue.arrived.notify_one();
            }
        }
    }
}

impl Drop for Intent {
    fn drop(&mut self) {
        self.withdraw();
    }
}

impl<R: Route53 + 'static> BatchWriter<R> {
    pub fn new(engine: Arc<Engine<R>>, window: Duration) -> Self {
        Self {
            engine,
            window,
            queues: Arc::default(),
        }
    }

    /// Announce a group of changes for `zone_id` that will be submitted soon.
    pub fn intend(&self, zone_id: &str) -> Intent {
        self.queues
            .lock()
            .entry(zone_id.to_string())
            .or_default()
            .announced += 1;
        Intent {
            queues: self.queues.clone(),
            zone_id: zone_id.to_string(),
            live: true,
        }
    }

    /// Submit the announced group and wait for its batch's answer.
    pub async fn submit(
        &self,
        mut intent: Intent,
        changes: Vec<Change>,
    ) -> Result<ChangeInfo, Route53Error> {
        let zone_id = intent.zone_id.clone();
        let (reply, answer) = oneshot::channel();
        let start_flusher = {
            let mut queues = self.queues.lock();
            let queue = queues.entry(zone_id.clone()).or_default();
            queue.waiting.push((reply, changes));
            if std::mem::take(&mut intent.live) {
                queue.announced = queue.announced.saturating_sub(1);
            }
            queue.arrived.notify_one();
            !std::mem::replace(&mut queue.flushing, true)
        };
        if start_flusher {
            tokio::spawn(flush(
                self.engine.clone(),
                self.queues.clone(),
                zone_id,
                self.window,
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(Route53Error::new(
                Operation::ChangeResourceRecordSets,
                ErrorKind::Other,
                "the batch writer stopped before answering",
            ))
        })
    }
}

/// Cleans up after a flusher that ends abnormally (a panic anywhere below
/// it): the groups queued behind its batch get an error instead of waiting
/// for a sender that will never come (their reconciles retry), and the next
/// group of the zone starts a new flusher.
struct FlushingGuard {
    queues: Queues,
    zone_id: String,
    armed: bool,
}

impl Drop for FlushingGuard {
    fn drop(&mut self) {
        if self.armed
            && let Some(queue) = self.queues.lock().get_mut(&self.zone_id)
        {
            queue.flushing = false;
            // Dropping the replies answers their reconciles with an error.
            queue.waiting.clear();
        }
    }
}

/// Send the zone's batches, one at a time, until no group is waiting.
async fn flush<R: Route53>(
    engine: Arc<Engine<R>>,
    queues: Queues,
    zone_id: String,
    window: Duration,
) {
    let mut guard = FlushingGuard {
        queues: queues.clone(),
        zone_id: zone_id.clone(),
        armed: true,
    };
    loop {
        let started = tokio::time::Instant::now();
        let mut last_count = 0;
        let mut last_arrival = tokio::time::Instant::now();
        loop {
            let (waiting, announced, arrived) = {
                let mut queues = queues.lock();
                let queue = queues.entry(zone_id.clone()).or_default();
                (queue.waiting.len(), queue.announced, queue.arrived.clone())
            };
            if waiting > last_count {
                last_count = waiting;
                last_arrival = tokio::time::Instant::now();
            }
            let everyone_here = waiting > 0 && announced == 0;
            let quiet = last_arrival.elapsed() >= window;
            if everyone_here || quiet || started.elapsed() >= window * 12 {
                break;
            }
            let wait = window.saturating_sub(last_arrival.elapsed());
            tokio::select! {
                _ = arrived.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let groups = {
            let mut queues = queues.lock();
            let queue = queues.entry(zone_id.clone()).or_default();
            if queue.waiting.is_empty() {
                // Cleared under the same lock that saw the queue empty, so a
                // group arriving next starts a new flusher.
                queue.flushing = false;
                guard.armed = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        for (reply, result) in engine.submit_groups(&zone_id, groups).await {
            // The reconcile may have been cancelled; nothing to tell then.
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flusher_that_dies_answers_the_groups_behind_it_and_frees_the_zone() {
        let queues: Queues = Arc::default();
        let (reply, mut answer) = oneshot::channel();
        queues.lock().insert(
            "Z1".to_string(),
            ZoneQueue {
                waiting: vec![(reply, Vec::new())],
                flushing: true,
                ..ZoneQueue::default()
            },
        );
        drop(FlushingGuard {
            queues: queues.clone(),
            zone_id: "Z1".to_string(),
            armed: true,
        });
        assert!(
            matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Closed)),
            "the waiting group is answered (with an error), not left waiting"
        );
        let queues = queues.lock();
        let queue = queues.get("Z1").expect("zone queue");
        assert!(!queue.flushing, "the next group starts a new flusher");
        assert!(queue.waiting.is_empty());
    }
}
