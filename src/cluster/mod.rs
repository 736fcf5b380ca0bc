//! The cluster: which node runs each hearing, and the lease that fences a stale owner.
//!
//! - [`placement`]: the [`Placement`] trait; [`SingleNode`] (the embedded default: SQLite, one
//!   machine, every hearing here) and [`DatabasePlacement`] (PostgreSQL: a node registry and
//!   one lease per hearing, placed in one transaction on the database's clock).
//! - [`lease`]: the owner's lease as a sans-I/O state machine (renew, lose, fence), tested on
//!   fake time.
//! - [`keeper`]: the tokio task per owned hearing that drives a [`lease::Lease`].
//! - [`registry`]: this node's heartbeat in the registry, and its serving/draining state.
//! - [`node`]: this node: placement, registry, the leases it holds, the upload spool.
//!
//! A hearing lives on one node, because one compositor draws it. Any node answers the portal,
//! the API and `/join`; a participant whose hearing is owned elsewhere is sent there (`moved`).

pub mod keeper;
pub mod lease;
pub mod node;
pub mod placement;
pub mod registry;

pub use self::keeper::LeaseHandle;
pub use self::lease::FenceReason;
pub use self::node::ClusterNode;
pub use self::placement::{
    DatabasePlacement, NodeSettings, NodeState, Placement, PlacementError, SingleNode, Whereabouts,
};
pub use self::registry::Registry;
