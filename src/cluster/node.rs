//! This node in the cluster: its placement, its registry heartbeat, the leases of the
//! hearings it owns, and the upload spool that gets their recordings off the node.
//!
//! On a single node (the default), placement always answers "here", leases never end, and the
//! spool runs only when a bucket is configured.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::keeper::{self, LeaseHandle};
use super::lease::FenceReason;
use super::placement::{
    DatabasePlacement, NodeSettings, NodeState, Placement, PlacementError, SingleNode, Whereabouts,
};
use super::registry::Registry;
use crate::bucket::{Bucket, BucketError, BucketSettings, Spool, SpoolStatus, WriteGate};
use crate::config::Settings;
use crate::store::Store;

/// The marker a fenced owner leaves in a recording folder: nothing in it is uploaded again.
pub const FENCED_FILE: &str = crate::record::manifest::FENCED_FILE;

/// This node.
pub struct ClusterNode {
    id: String,
    url: String,
    placement: Arc<dyn Placement>,
    registry: Option<Registry>,
    spool: Option<Spool>,
    leases: Mutex<HashMap<String, LeaseHandle>>,
    recordings_dir: PathBuf,
    drain_deadline: Duration,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("clustered", &self.registry.is_some())
            .field("spool", &self.spool.is_some())
            .finish()
    }
}

impl ClusterNode {
    /// A single node with recordings kept in the data folder (no spool), whatever the
    /// settings say about storage: for tests and tools.
    pub fn local(settings: &Settings) -> Arc<Self> {
        let url = settings.public_url();
        let placement: Arc<dyn Placement> = Arc::new(SingleNode::new(url));
        let mut local = settings.clone();
        local.storage.url.clear();
        Self::build(&local, placement, None).expect("no bucket to open")
    }

    /// A single node: every hearing here; a spool only if `storage.url` is set.
    pub fn single(settings: &Settings) -> Result<Arc<Self>, BucketError> {
        let url = settings.public_url();
        let placement: Arc<dyn Placement> = Arc::new(SingleNode::new(url.clone()));
        Self::build(settings, placement, None)
    }

    /// A node of a PostgreSQL cluster: registers, heartbeats, and starts its spool. Must run on
    /// the tokio runtime.
    pub fn clustered(settings: &Settings, store: Store) -> Result<Arc<Self>, BucketError> {
        let c = &settings.cluster;
        let base = if c.node_id.is_empty() {
            hostname()
        } else {
            c.node_id.clone()
        };
        let id = format!("{base}-{}", &crate::ids::random_id()[..6]);
        let capacity = if c.capacity > 0 {
            c.capacity as i64
        } else {
            settings.capacity.hearings() as i64
        };
        let heartbeat = Duration::from_secs(c.heartbeat_seconds as u64);
        let placement: Arc<dyn Placement> = Arc::new(DatabasePlacement::new(
            store,
            NodeSettings {
                id,
                url: settings.public_url(),
                capacity,
                ttl: Duration::from_secs(c.lease_ttl_seconds as u64),
                fresh: heartbeat * 3,
            },
        ));
        let registry = Registry::start(placement.clone(), heartbeat);
        Self::build(settings, placement, Some(registry))
    }

    fn build(
        settings: &Settings,
        placement: Arc<dyn Placement>,
        registry: Option<Registry>,
    ) -> Result<Arc<Self>, BucketError> {
        let s = &settings.storage;
        let bucket = if s.url.is_empty() {
            None
        } else {
            Some(Bucket::open(&BucketSettings {
                url: s.url.clone(),
                endpoint: s.endpoint.clone(),
                region: s.region.clone(),
                access_key_id: s.access_key_id.clone(),
                secret_access_key: s.secret_access_key.clone(),
                timeout: Duration::from_secs(s.timeout_seconds as u64),
            })?)
        };
        let limit = s.spool_limit_mb * 1024 * 1024;
        let node = Arc::new_cyclic(|weak: &Weak<ClusterNode>| ClusterNode {
            id: placement.node_id().to_owned(),
            url: settings.public_url(),
            placement,
            registry,
            spool: bucket.map(|b| {
                Spool::new(
                    b,
                    settings.recordings_dir(),
                    Arc::new(NodeGate(weak.clone())),
                    limit,
                )
            }),
            leases: Mutex::default(),
            recordings_dir: settings.recordings_dir(),
            drain_deadline: Duration::from_secs(settings.cluster.drain_deadline_seconds as u64),
        });
        if let Some(r) = &node.registry {
            // A full spool keeps new hearings away: their recordings would have nowhere to go.
            let weak = Arc::downgrade(&node);
            r.set_accepting(Arc::new(move || {
                weak.upgrade()
                    .and_then(|n| n.spool_status())
                    .is_none_or(|s| !s.over_limit)
            }));
        }
        Ok(node)
    }

    /// This node's id in the registry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This node's public URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this node is one of a cluster (PostgreSQL placement).
    pub fn is_clustered(&self) -> bool {
        self.registry.is_some()
    }

    /// The upload spool, when recordings go to a bucket.
    pub fn spool(&self) -> Option<&Spool> {
        self.spool.as_ref()
    }

    /// The bucket, when recordings go to one.
    pub fn bucket(&self) -> Option<&Bucket> {
        self.spool.as_ref().map(|s| s.bucket())
    }

    /// The spool's figures, when there is a spool.
    pub fn spool_status(&self) -> Option<SpoolStatus> {
        self.spool.as_ref().map(|s| s.status())
    }

    /// How long a draining node lets its hearings go on before it hands them over.
    pub fn drain_deadline(&self) -> Duration {
        self.drain_deadline
    }

    /// Whether the node takes new hearings: it serves (not draining), the database answers,
    /// and the spool is within its bound.
    pub fn ready(&self) -> Result<(), &'static str> {
        if let Some(r) = &self.registry {
            if r.is_draining() {
                return Err("draining");
            }
            if !r.database_reachable() {
                return Err("database unreachable");
            }
        }
        if self.spool_status().is_some_and(|s| s.over_limit) {
            return Err("upload spool full");
        }
        Ok(())
    }

    /// Stops taking new hearings.
    pub fn drain(&self) {
        if let Some(r) = &self.registry {
            r.drain();
        }
    }

    /// Whether the node drains.
    pub fn is_draining(&self) -> bool {
        self.registry.as_ref().is_some_and(|r| r.is_draining())
    }

    /// Where `hearing` is to run. A draining node or a full spool places nothing new here:
    /// the hearing goes to another node (or, with no other, is refused).
    pub async fn place(&self, hearing: &str) -> Result<Whereabouts, PlacementError> {
        self.placement.place(hearing).await
    }

    /// The live nodes, for pages to fall back on when their node goes away.
    pub async fn nodes(&self) -> Vec<String> {
        match self.placement.nodes().await {
            Ok(nodes) => nodes
                .into_iter()
                .filter(|n| n.state == NodeState::Serving.as_str())
                .map(|n| n.url)
                .collect(),
            Err(_) => vec![self.url.clone()],
        }
    }

    /// Holds the lease on `hearing` taken with `epoch` by a request sent at `sent_at`, renewing
    /// it until released; `on_fence` runs once when it ends for any reason but a release.
    pub fn hold(
        &self,
        hearing: &str,
        epoch: i64,
        sent_at: Instant,
        on_fence: impl FnOnce(FenceReason) + Send + 'static,
    ) -> LeaseHandle {
        let handle = if self.registry.is_some() {
            keeper::keep(
                self.placement.clone(),
                hearing,
                epoch,
                sent_at,
                move |reason| {
                    if reason != FenceReason::Released {
                        on_fence(reason)
                    }
                },
            )
        } else {
            LeaseHandle::forever(hearing)
        };
        self.leases
            .lock()
            .expect("leases")
            .insert(hearing.to_owned(), handle.clone());
        handle
    }

    /// The lease held on `hearing`, if any.
    pub fn lease(&self, hearing: &str) -> Option<LeaseHandle> {
        self.leases.lock().expect("leases").get(hearing).cloned()
    }

    /// Gives `hearing`'s lease back (it ended here, or was handed over).
    pub fn release(&self, hearing: &str) {
        if let Some(l) = self.leases.lock().expect("leases").remove(hearing) {
            l.release();
        }
    }

    /// Forgets `hearing`'s lease after it was fenced.
    pub fn forget(&self, hearing: &str) {
        self.leases.lock().expect("leases").remove(hearing);
    }

    /// Marks every recording folder of `hearing` so that nothing more of it is uploaded from
    /// this node: it lost the lease, and another node owns the hearing's record now.
    pub fn mark_fenced(&self, hearing: &str) {
        let Ok(dirs) = std::fs::read_dir(self.recordings_dir.join(hearing)) else {
            return;
        };
        for d in dirs.flatten() {
            if d.path().is_dir() {
                if let Err(e) = std::fs::write(d.path().join(FENCED_FILE), b"") {
                    tracing::error!(dir = %d.path().display(), "cannot mark a fenced recording: {e}");
                }
            }
        }
    }

    /// Whether this node may write `hearing`'s recording in `dir` to the bucket now.
    fn may_write(&self, hearing: &str, dir: &Path) -> bool {
        if dir.join(FENCED_FILE).exists() {
            return false;
        }
        if let Some(l) = self.lease(hearing) {
            return l.may_write();
        }
        // The hearing no longer runs here. Its recording was sealed while the lease held
        // (a fenced end leaves the marker first), so what is left of it may still go.
        crate::record::Manifest::read(dir)
            .map(|m| m.state != crate::record::RecordingState::Recording)
            .unwrap_or(false)
    }
}

/// The spool's gate: asks the node.
struct NodeGate(Weak<ClusterNode>);

impl WriteGate for NodeGate {
    fn may_write(&self, hearing: &str, _recording: &str, dir: &Path) -> bool {
        self.0
            .upgrade()
            .is_some_and(|node| node.may_write(hearing, dir))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}
