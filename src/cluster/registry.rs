//! This node in the registry: a heartbeat every few seconds saying it lives, how many hearings
//! it takes, and whether it serves or drains.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::placement::{NodeState, Placement};

/// Asked at every beat whether the node takes new hearings.
pub type Accepting = Arc<dyn Fn() -> bool + Send + Sync>;

/// This node's registration, kept fresh by a background task.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    placement: Arc<dyn Placement>,
    draining: AtomicBool,
    /// Whether the last heartbeat reached the database.
    reachable: AtomicBool,
    /// Unix milliseconds of the last heartbeat that reached it (0: none yet).
    last_ok_ms: AtomicI64,
    /// Whether the node can take new hearings besides draining (its upload spool is within
    /// its bound); asked at every beat.
    accepting: std::sync::Mutex<Option<Accepting>>,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("node", &self.inner.placement.node_id())
            .field("draining", &self.is_draining())
            .finish()
    }
}

impl Registry {
    /// Registers this node and starts its heartbeat every `every`.
    pub fn start(placement: Arc<dyn Placement>, every: Duration) -> Self {
        let registry = Self {
            inner: Arc::new(Inner {
                placement,
                draining: AtomicBool::new(false),
                reachable: AtomicBool::new(true),
                last_ok_ms: AtomicI64::new(0),
                accepting: std::sync::Mutex::new(None),
                wake: tokio::sync::Notify::new(),
            }),
        };
        let weak = Arc::downgrade(&registry.inner);
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let accepting = inner
                    .accepting
                    .lock()
                    .expect("accepting")
                    .clone()
                    .is_none_or(|f| f());
                // A node that cannot take new hearings (draining, or its spool is full) says
                // `draining`: placement passes it over; its hearings go on.
                let state = if inner.draining.load(Ordering::SeqCst) || !accepting {
                    NodeState::Draining
                } else {
                    NodeState::Serving
                };
                let beat = tokio::time::timeout(every * 2, inner.placement.heartbeat(state)).await;
                let ok = matches!(beat, Ok(Ok(())));
                if ok {
                    inner
                        .last_ok_ms
                        .store(chrono::Utc::now().timestamp_millis(), Ordering::SeqCst);
                }
                let was = inner.reachable.swap(ok, Ordering::SeqCst);
                match (was, ok, beat) {
                    (true, false, Ok(Err(e))) => {
                        tracing::warn!("cluster database unreachable: {e}")
                    }
                    (true, false, Err(_)) => tracing::warn!("cluster heartbeat timed out"),
                    (false, true, _) => tracing::info!("cluster database reachable again"),
                    _ => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = inner.wake.notified() => {}
                }
            }
        });
        registry
    }

    /// The placement this registry beats for.
    pub fn placement(&self) -> &Arc<dyn Placement> {
        &self.inner.placement
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.inner.placement.node_id()
    }

    /// Sets what decides, besides draining, whether the node takes new hearings.
    pub fn set_accepting(&self, accepting: Accepting) {
        *self.inner.accepting.lock().expect("accepting") = Some(accepting);
    }

    /// Stops taking new hearings (the registry says `draining` at once).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }

    /// Whether the node drains.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Whether the last heartbeat reached the database.
    pub fn database_reachable(&self) -> bool {
        self.inner.reachable.load(Ordering::SeqCst)
    }
}
