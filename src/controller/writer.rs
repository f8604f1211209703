//! Coalescing record changes: groups submitted by concurrent reconciles of one
//! zone within a short window share change batches.
//!
//! A burst of reconciles (startup, a resync, a bulk `kubectl apply`) then costs
//! a handful of ChangeResourceRecordSets requests instead of one per record,
//! and fewer requests queue behind Route 53's one-change-at-a-time per zone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::reconcile::Engine;
use crate::route53::{Change, ChangeInfo, ErrorKind, Operation, Route53, Route53Error};

type Reply = oneshot::Sender<Result<ChangeInfo, Route53Error>>;
/// Change groups waiting for their zone's next batch.
type Queues = Arc<Mutex<HashMap<String, Vec<(Reply, Vec<Change>)>>>>;

/// Collects change groups per zone and submits them together.
pub struct BatchWriter<R> {
    engine: Arc<Engine<R>>,
    window: Duration,
    queues: Queues,
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
        let first = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            let queue = queues.entry(zone_id.to_string()).or_default();
            queue.push((reply, changes));
            queue.len() == 1
        };
        if first {
            // The first group of a window flushes it; later ones ride along.
            let engine = self.engine.clone();
            let queues = self.queues.clone();
            let window = self.window;
            let zone_id = zone_id.to_string();
            tokio::spawn(async move {
                tokio::time::sleep(window).await;
                let groups = queues
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&zone_id)
                    .unwrap_or_default();
                for (reply, result) in engine.submit_groups(&zone_id, groups).await {
                    // The reconcile may have been cancelled; nothing to tell then.
                    let _ = reply.send(result);
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
