//! Coalescing record changes: groups of one zone share change batches.
//!
//! Route 53 applies one change batch per zone at a time (a second one is
//! refused with PriorRequestNotComplete), and every request draws on the
//! account's small budget. So each zone has at most one batch in flight, and
//! a batch is sent once no new group has arrived for `window` (or after twelve
//! windows at most, so a steady stream cannot hold it back). Groups that
//! arrive while a batch is being sent, which includes its wait for the rate
//! limiter, join the next one. Under load, batches grow by themselves; a
//! lone change waits one window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::reconcile::Engine;
use crate::route53::{Change, ChangeInfo, ErrorKind, Operation, Route53, Route53Error};

type Reply = oneshot::Sender<Result<ChangeInfo, Route53Error>>;

#[derive(Default)]
struct ZoneQueue {
    waiting: Vec<(Reply, Vec<Change>)>,
    /// A flusher task is running for this zone.
    flushing: bool,
}

type Queues = Arc<Mutex<HashMap<String, ZoneQueue>>>;

/// Collects change groups per zone and submits them together.
pub struct BatchWriter<R> {
    engine: Arc<Engine<R>>,
    window: Duration,
    queues: Queues,
}

fn lock(queues: &Queues) -> std::sync::MutexGuard<'_, HashMap<String, ZoneQueue>> {
    // The map is consistent after every critical section.
    queues.lock().unwrap_or_else(|p| p.into_inner())
}

impl<R: Route53 + 'static> BatchWriter<R> {
    pub fn new(engine: Arc<Engine<R>>, window: Duration) -> Self {
        Self {
            engine,
            window,
            queues: Arc::default(),
        }
    }

    /// Submit one record's group of changes and wait for its batch's answer.
    pub async fn submit(
        &self,
        zone_id: &str,
        changes: Vec<Change>,
    ) -> Result<ChangeInfo, Route53Error> {
        let (reply, answer) = oneshot::channel();
        let start_flusher = {
            let mut queues = lock(&self.queues);
            let queue = queues.entry(zone_id.to_string()).or_default();
            queue.waiting.push((reply, changes));
            !std::mem::replace(&mut queue.flushing, true)
        };
        if start_flusher {
            let engine = self.engine.clone();
            let queues = self.queues.clone();
            let window = self.window;
            let zone_id = zone_id.to_string();
            tokio::spawn(async move {
                loop {
                    let started = tokio::time::Instant::now();
                    let mut seen = 0;
                    loop {
                        tokio::time::sleep(window).await;
                        let waiting = lock(&queues).get(&zone_id).map_or(0, |q| q.waiting.len());
                        if waiting == seen || started.elapsed() >= window * 12 {
                            break;
                        }
                        seen = waiting;
                    }
                    let groups = {
                        let mut queues = lock(&queues);
                        let queue = queues.entry(zone_id.clone()).or_default();
                        if queue.waiting.is_empty() {
                            queue.flushing = false;
                            return;
                        }
                        std::mem::take(&mut queue.waiting)
                    };
                    for (reply, result) in engine.submit_groups(&zone_id, groups).await {
                        // The reconcile may have been cancelled; nothing to tell then.
                        let _ = reply.send(result);
                    }
                }
            });
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
