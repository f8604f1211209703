//! Leader election and the gate every write passes through.
//!
//! Replicas elect a leader on a `coordination.k8s.io` Lease (through
//! `kube-lease-manager`, which uses server-side apply and tolerates clock
//! skew). Only the holder writes, to Route 53 or to the cluster: the
//! [`Gated`] port refuses Route 53 writes the moment the lease is lost, and the
//! reconciler checks the gate before patching status or publishing events.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use crate::route53::{ErrorKind, Operation, Result, Route53Error};

/// Whether this replica may write now.
#[derive(Clone, Debug)]
pub struct Gate {
    receiver: watch::Receiver<bool>,
    // Keeps a fixed gate's channel open.
    _sender: Option<Arc<watch::Sender<bool>>>,
}

impl Gate {
    /// A gate that is always open: leader election is off.
    pub fn open() -> Self {
        let (sender, receiver) = watch::channel(true);
        Self {
            receiver,
            _sender: Some(Arc::new(sender)),
        }
    }

    /// A gate following a lease holder's state.
    pub fn following(receiver: watch::Receiver<bool>) -> Self {
        Self {
            receiver,
            _sender: None,
        }
    }

    /// A gate and the switch that opens and closes it (tests, and the lease).
    pub fn manual(open: bool) -> (watch::Sender<bool>, Self) {
        let (sender, receiver) = watch::channel(open);
        (sender, Self::following(receiver))
    }

    pub fn is_open(&self) -> bool {
        *self.receiver.borrow()
    }

    /// A tracker of leadership terms, starting at the current one.
    pub fn terms(&self) -> Terms {
        let mut receiver = self.receiver.clone();
        receiver.mark_unchanged();
        Terms { receiver }
    }

    /// Wait until the gate opens.
    pub async fn opened(&mut self) {
        let _ = self.receiver.wait_for(|open| *open).await;
    }

    /// Wait until the gate closes.
    pub async fn closed(&mut self) {
        let _ = self.receiver.wait_for(|open| !*open).await;
    }
}

/// Tells whether the gate closed (and perhaps opened again) since it last
/// asked: a new leadership term, in which another replica may have written.
#[derive(Debug)]
pub struct Terms {
    receiver: watch::Receiver<bool>,
}

impl Terms {
    /// True once after each change of the gate.
    pub fn new_term(&mut self) -> bool {
        // Reading and marking seen in one step: a change between the two
        // cannot be lost.
        self.receiver.borrow_and_update().has_changed()
    }

    /// Whether the gate changed since this tracker was made or last asked,
    /// without marking anything seen.
    pub fn changed(&self) -> bool {
        // A dropped sender (the lease task ended) leaves the gate as it was.
        self.receiver.has_changed().unwrap_or(false)
    }
}

/// The Route 53 port, refusing every write while the gate is closed.
#[derive(Clone)]
pub struct Gated<R> {
    inner: R,
    gate: Gate,
}

impl<R> Gated<R> {
    pub fn new(inner: R, gate: Gate) -> Self {
        Self { inner, gate }
    }

    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Reads always go through; a write only while the lease is held.
    async fn call<T, F, Fut>(&self, op: Operation, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if op.is_write() && !self.gate.is_open() {
            return Err(Route53Error::new(
                op,
                ErrorKind::Refused,
                "this replica does not hold the leader lease; only the leader writes to Route 53",
            ));
        }
        request().await
    }
}

crate::route53::forward_route53!(Gated);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lost_and_regained_is_a_new_term() {
        let (lease, gate) = Gate::manual(true);
        let mut terms = gate.terms();
        let during = gate.terms();
        assert!(!terms.new_term() && !during.changed(), "same term");

        lease.send(false).expect("gate");
        lease.send(true).expect("gate");
        assert!(gate.is_open());
        assert!(during.changed(), "open now, but not without a break");
        assert!(terms.new_term());
        assert!(!terms.new_term(), "reported once");
        assert!(!gate.terms().changed(), "a tracker made now starts clean");
    }
}
