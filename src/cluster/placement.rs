//! Where hearings live: the [`Placement`] trait, a single node ([`SingleNode`], the embedded
//! default) and the PostgreSQL cluster ([`DatabasePlacement`]).

use std::time::Duration;

use async_trait::async_trait;

use crate::store::placement::{Heartbeat, NodeRecord, Placed};
use crate::store::{Store, StoreError};

/// Errors from placement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// The database could not be reached or refused the query.
    #[error("the cluster database is unavailable: {0}")]
    Unavailable(#[from] StoreError),
}

/// Where a hearing is to run, as seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whereabouts {
    /// Here, under lease `epoch`.
    Here {
        /// The fencing token.
        epoch: i64,
    },
    /// On another node; participants go to its public URL.
    Elsewhere {
        /// The owner's node id.
        node: String,
        /// The owner's public URL.
        url: String,
    },
    /// Its owner stopped answering and its lease has not run out yet: ask again after this
    /// many milliseconds, when another node can take it.
    Moving {
        /// When to ask again.
        retry_after_ms: u64,
    },
    /// No node has a free slot.
    Full,
    /// No such hearing.
    Unknown,
}

/// A node's state in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Takes new hearings.
    Serving,
    /// Finishes the hearings it has and takes no new ones.
    Draining,
}

impl NodeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Serving => "serving",
            NodeState::Draining => "draining",
        }
    }
}

/// Decides which node runs a hearing and keeps the lease that says so.
#[async_trait]
pub trait Placement: Send + Sync + 'static {
    /// This node's id.
    fn node_id(&self) -> &str;
    /// Where `hearing` runs, placing it if no live lease holds it.
    async fn place(&self, hearing: &str) -> Result<Whereabouts, PlacementError>;
    /// Extends the lease held with `epoch`. `Ok(false)`: another node holds it now.
    async fn renew(&self, hearing: &str, epoch: i64) -> Result<bool, PlacementError>;
    /// Gives the lease up so the next join places the hearing anew.
    async fn release(&self, hearing: &str, epoch: i64) -> Result<(), PlacementError>;
    /// Tells the registry this node lives, in `state`.
    async fn heartbeat(&self, state: NodeState) -> Result<(), PlacementError>;
    /// The live nodes.
    async fn nodes(&self) -> Result<Vec<NodeRecord>, PlacementError>;
    /// The lease's time to live.
    fn ttl(&self) -> Duration;
}

/// One node that runs every hearing itself: no database rows, a lease that never ends.
#[derive(Debug, Clone)]
pub struct SingleNode {
    id: String,
    url: String,
}

impl SingleNode {
    /// A single node answering at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            id: "single".into(),
            url: url.into(),
        }
    }
}

#[async_trait]
impl Placement for SingleNode {
    fn node_id(&self) -> &str {
        &self.id
    }
    async fn place(&self, _hearing: &str) -> Result<Whereabouts, PlacementError> {
        Ok(Whereabouts::Here { epoch: 1 })
    }
    async fn renew(&self, _hearing: &str, _epoch: i64) -> Result<bool, PlacementError> {
        Ok(true)
    }
    async fn release(&self, _hearing: &str, _epoch: i64) -> Result<(), PlacementError> {
        Ok(())
    }
    async fn heartbeat(&self, _state: NodeState) -> Result<(), PlacementError> {
        Ok(())
    }
    async fn nodes(&self) -> Result<Vec<NodeRecord>, PlacementError> {
        Ok(vec![NodeRecord {
            id: self.id.clone(),
            url: self.url.clone(),
            state: NodeState::Serving.as_str().into(),
            capacity: i64::MAX,
            used: 0,
            version: env!("CARGO_PKG_VERSION").into(),
            heartbeat_age_ms: 0,
        }])
    }
    fn ttl(&self) -> Duration {
        Duration::from_secs(3600 * 24 * 365)
    }
}

/// Settings of a node in a PostgreSQL cluster.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// This node's id, unique per process start.
    pub id: String,
    /// Its public URL.
    pub url: String,
    /// Hearings it takes at most.
    pub capacity: i64,
    /// Lease time to live.
    pub ttl: Duration,
    /// A node whose heartbeat is older than this is taken for dead.
    pub fresh: Duration,
}

/// The cluster's placement in PostgreSQL (see [`crate::store::placement`]).
#[derive(Debug, Clone)]
pub struct DatabasePlacement {
    store: Store,
    node: NodeSettings,
}

impl DatabasePlacement {
    /// Placement through `store` (PostgreSQL) for the node `node`.
    pub fn new(store: Store, node: NodeSettings) -> Self {
        Self { store, node }
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

#[async_trait]
impl Placement for DatabasePlacement {
    fn node_id(&self) -> &str {
        &self.node.id
    }

    async fn place(&self, hearing: &str) -> Result<Whereabouts, PlacementError> {
        let placed = self
            .store
            .place_hearing(hearing, ms(self.node.fresh), ms(self.node.ttl))
            .await?;
        Ok(match placed {
            Placed::Owner { node, epoch, .. } if node == self.node.id => {
                Whereabouts::Here { epoch }
            }
            Placed::Owner {
                owner_age_ms: Some(age),
                lease_left_ms,
                ..
            } if age > ms(self.node.fresh) => Whereabouts::Moving {
                retry_after_ms: lease_left_ms.clamp(200, 5000) as u64,
            },
            Placed::Owner { node, url, .. } => Whereabouts::Elsewhere { node, url },
            Placed::NoCapacity => Whereabouts::Full,
            Placed::NoHearing => Whereabouts::Unknown,
        })
    }

    async fn renew(&self, hearing: &str, epoch: i64) -> Result<bool, PlacementError> {
        Ok(self
            .store
            .renew_lease(hearing, &self.node.id, epoch, ms(self.node.ttl))
            .await?)
    }

    async fn release(&self, hearing: &str, epoch: i64) -> Result<(), PlacementError> {
        self.store
            .release_lease(hearing, &self.node.id, epoch)
            .await?;
        Ok(())
    }

    async fn heartbeat(&self, state: NodeState) -> Result<(), PlacementError> {
        self.store
            .node_heartbeat(&Heartbeat {
                id: &self.node.id,
                url: &self.node.url,
                state: state.as_str(),
                capacity: self.node.capacity,
                version: env!("CARGO_PKG_VERSION"),
            })
            .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, PlacementError> {
        Ok(self.store.live_nodes(ms(self.node.fresh)).await?)
    }

    fn ttl(&self) -> Duration {
        self.node.ttl
    }
}
