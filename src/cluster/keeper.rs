//! The I/O shell around [`Lease`]: one tokio task per hearing this node owns, renewing the
//! lease through a [`Placement`] and fencing the hearing when the lease ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::lease::{FenceReason, Lease, LeaseAction, LeaseTimes};
use super::placement::Placement;

/// A lease kept alive by its task. Cheap to clone; every clone sees the same lease.
#[derive(Clone)]
pub struct LeaseHandle {
    hearing: Arc<str>,
    lease: Arc<Mutex<Lease>>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for LeaseHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseHandle")
            .field("hearing", &self.hearing)
            .field("epoch", &self.epoch())
            .finish()
    }
}

impl LeaseHandle {
    /// The fencing token.
    pub fn epoch(&self) -> i64 {
        self.lease.lock().expect("lease lock").epoch()
    }

    /// Whether this node may still write for the hearing (media, segments, manifests). Every
    /// write to shared storage asks this first.
    pub fn may_write(&self) -> bool {
        self.lease
            .lock()
            .expect("lease lock")
            .may_write(Instant::now())
    }

    /// Why the lease ended, once it has.
    pub fn fenced(&self) -> Option<FenceReason> {
        self.lease.lock().expect("lease lock").fenced()
    }

    /// Gives the lease up: the task releases it in the database and then ends.
    pub fn release(&self) {
        self.lease.lock().expect("lease lock").release();
        self.wake.notify_one();
    }

    /// A handle that is always valid: for a single node, and for tests.
    pub fn forever(hearing: &str) -> Self {
        let times = LeaseTimes::for_ttl(Duration::from_secs(3600 * 24 * 365 * 10));
        Self {
            hearing: hearing.into(),
            lease: Arc::new(Mutex::new(Lease::acquired(1, Instant::now(), times))),
            wake: Arc::default(),
        }
    }
}

/// Starts keeping the lease on `hearing` taken with `epoch` by a request sent at `sent_at`.
/// `on_fence` runs once when the lease ends for any reason (on the tokio runtime; it should
/// hand blocking work to a blocking thread).
pub fn keep(
    placement: Arc<dyn Placement>,
    hearing: &str,
    epoch: i64,
    sent_at: Instant,
    on_fence: impl FnOnce(FenceReason) + Send + 'static,
) -> LeaseHandle {
    let times = LeaseTimes::for_ttl(placement.ttl());
    let handle = LeaseHandle {
        hearing: hearing.into(),
        lease: Arc::new(Mutex::new(Lease::acquired(epoch, sent_at, times))),
        wake: Arc::default(),
    };
    let task = handle.clone();
    tokio::spawn(async move { run(placement, task, times, on_fence).await });
    handle
}

async fn run(
    placement: Arc<dyn Placement>,
    handle: LeaseHandle,
    times: LeaseTimes,
    on_fence: impl FnOnce(FenceReason) + Send + 'static,
) {
    let hearing = handle.hearing.clone();
    let mut on_fence = Some(on_fence);
    loop {
        let action = handle
            .lease
            .lock()
            .expect("lease lock")
            .poll(Instant::now());
        match action {
            LeaseAction::Renew { epoch, sent_at } => {
                // A renewal that hangs counts as unanswered once the next one is due.
                let outcome =
                    tokio::time::timeout(times.renew_every, placement.renew(&hearing, epoch)).await;
                let mut lease = handle.lease.lock().expect("lease lock");
                match outcome {
                    Ok(Ok(true)) => {
                        if lease.renewed(sent_at) {
                            tracing::info!(%hearing, epoch, "lease held again: writes to shared storage resume");
                        }
                    }
                    Ok(Ok(false)) => {
                        tracing::warn!(%hearing, epoch, "lease taken by another node");
                        lease.refused();
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%hearing, epoch, "lease renewal failed: {e}");
                        lease.unreachable(sent_at);
                    }
                    Err(_) => {
                        tracing::warn!(%hearing, epoch, "lease renewal timed out");
                        lease.unreachable(sent_at);
                    }
                }
            }
            LeaseAction::Fence(reason) => {
                let epoch = handle.epoch();
                tracing::warn!(%hearing, epoch, reason = reason.as_str(), "lease ended: stopping the hearing here");
                if let Some(f) = on_fence.take() {
                    f(reason);
                }
                if reason == FenceReason::Released {
                    if let Err(e) = placement.release(&hearing, epoch).await {
                        tracing::warn!(%hearing, epoch, "cannot release the lease (it will run out): {e}");
                    }
                }
                return;
            }
            LeaseAction::Suspend => {
                tracing::warn!(%hearing, epoch = handle.epoch(), "lease not renewed in time: writes to shared storage stop until the database answers; the hearing goes on");
            }
            LeaseAction::Resume => {}
            LeaseAction::WaitUntil(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = handle.wake.notified() => {}
                }
            }
            LeaseAction::Done => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::placement::{NodeState, PlacementError, Whereabouts};
    use crate::store::placement::NodeRecord;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A placement whose database can be switched off.
    struct Flaky {
        up: AtomicBool,
        renewals: AtomicUsize,
        released: AtomicBool,
    }

    #[async_trait::async_trait]
    impl Placement for Flaky {
        fn node_id(&self) -> &str {
            "n1"
        }
        async fn place(&self, _: &str) -> Result<Whereabouts, PlacementError> {
            Ok(Whereabouts::Here { epoch: 1 })
        }
        async fn renew(&self, _: &str, _: i64) -> Result<bool, PlacementError> {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            if self.up.load(Ordering::SeqCst) {
                Ok(true)
            } else {
                Err(PlacementError::Unavailable(
                    crate::store::StoreError::Corrupt("down".into()),
                ))
            }
        }
        async fn release(&self, _: &str, _: i64) -> Result<(), PlacementError> {
            self.released.store(true, Ordering::SeqCst);
            Ok(())
        }
        async fn heartbeat(&self, _: NodeState) -> Result<(), PlacementError> {
            Ok(())
        }
        async fn nodes(&self) -> Result<Vec<NodeRecord>, PlacementError> {
            Ok(vec![])
        }
        fn ttl(&self) -> Duration {
            Duration::from_millis(600)
        }
    }

    #[tokio::test]
    async fn keeps_the_lease_suspends_writes_while_the_database_is_gone_and_resumes() {
        let flaky = Arc::new(Flaky {
            up: AtomicBool::new(true),
            renewals: AtomicUsize::new(0),
            released: AtomicBool::new(false),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = keep(flaky.clone(), "h", 1, Instant::now(), move |r| {
            let _ = tx.send(r);
        });
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(handle.may_write(), "renewed while the database is up");
        assert!(flaky.renewals.load(Ordering::SeqCst) >= 3);
        let down_at = Instant::now();
        flaky.up.store(false, Ordering::SeqCst);
        // Writes stop before the database's TTL could have run out after the last good
        // renewal; the hearing is not fenced.
        while handle.may_write() {
            assert!(
                down_at.elapsed() < Duration::from_millis(600),
                "still writing"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(!handle.may_write());
        assert!(handle.fenced().is_none());
        // The database is back with the same epoch: writes go again.
        flaky.up.store(true, Ordering::SeqCst);
        let back = Instant::now();
        while !handle.may_write() {
            assert!(back.elapsed() < Duration::from_secs(2), "not resumed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(rx);
    }

    #[tokio::test]
    async fn release_gives_the_lease_back() {
        let flaky = Arc::new(Flaky {
            up: AtomicBool::new(true),
            renewals: AtomicUsize::new(0),
            released: AtomicBool::new(false),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = keep(flaky.clone(), "h", 1, Instant::now(), move |r| {
            let _ = tx.send(r);
        });
        handle.release();
        let reason = tokio::time::timeout(Duration::from_secs(1), rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reason, FenceReason::Released);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(flaky.released.load(Ordering::SeqCst));
        assert!(!handle.may_write());
    }
}
