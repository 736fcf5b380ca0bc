//! The cluster's rows: the node registry and each hearing's owner and lease (PostgreSQL).
//!
//! Every time here is the database's clock, in milliseconds since the Unix epoch
//! (`clock_timestamp()`), so nodes whose clocks disagree still agree on who holds a lease.
//! Placement is one transaction: the hearing's row is locked (`FOR UPDATE`), so concurrent
//! first joins at different nodes queue on it and the first places the hearing; the others
//! find it placed. Nodes are chosen with `FOR UPDATE SKIP LOCKED` among those serving, with a
//! fresh heartbeat and a free slot, least loaded first, and the slot is reserved at once.

use sqlx::Row;

use super::{int, now_text, opt_text, text, Backend, Store, StoreError};

/// The channel on which nodes tell each other of hearing-state changes.
pub const STATE_CHANNEL: &str = "courtroom_hearing_state";

/// The database's clock in milliseconds since the Unix epoch.
const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

/// A node as registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeRecord {
    /// Node id (unique per process start).
    pub id: String,
    /// Public URL participants are sent to.
    pub url: String,
    /// `serving` or `draining`.
    pub state: String,
    /// Hearings it takes at most.
    pub capacity: i64,
    /// Hearings it holds leases for.
    pub used: i64,
    /// The server's version.
    pub version: String,
    /// How old its last heartbeat is, on the database's clock.
    pub heartbeat_age_ms: i64,
}

/// What one heartbeat says about a node.
#[derive(Debug, Clone)]
pub struct Heartbeat<'a> {
    /// Node id.
    pub id: &'a str,
    /// Public URL.
    pub url: &'a str,
    /// `serving` or `draining`.
    pub state: &'a str,
    /// Hearings it takes at most.
    pub capacity: i64,
    /// The server's version.
    pub version: &'a str,
}

/// Where a placement left a hearing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// `node` holds the lease with `epoch`. `fresh` when this call took it (a new epoch).
    Owner {
        /// The owner's node id.
        node: String,
        /// The owner's public URL.
        url: String,
        /// The lease epoch.
        epoch: i64,
        /// Whether this call placed it (as opposed to finding it placed).
        fresh: bool,
        /// How old the owner's last heartbeat is (when found placed): a stale one is dead.
        owner_age_ms: Option<i64>,
        /// How long the lease has left, on the database's clock.
        lease_left_ms: i64,
    },
    /// No node that serves has a free slot.
    NoCapacity,
    /// No such hearing.
    NoHearing,
}

impl Store {
    fn require_postgres(&self) -> Result<(), StoreError> {
        match self.backend() {
            Backend::Postgres => Ok(()),
            Backend::Sqlite => Err(StoreError::Corrupt(
                "cluster placement needs PostgreSQL (database_url = \"postgres://...\")".into(),
            )),
        }
    }

    /// Registers or refreshes this node, and recounts the hearings it holds live leases for.
    pub async fn node_heartbeat(&self, hb: &Heartbeat<'_>) -> Result<(), StoreError> {
        self.require_postgres()?;
        let sql1 = format!(
            "INSERT INTO nodes (id, url, state, capacity, used, version, heartbeat_ms, started_at) \
             VALUES ($1, $2, $3, $4, 0, $5, {NOW_MS}, $6) \
             ON CONFLICT (id) DO UPDATE SET url = $2, state = $3, capacity = $4, version = $5, \
             heartbeat_ms = {NOW_MS}, \
             used = (SELECT count(*) FROM hearings h WHERE h.owner_node = $1 AND h.lease_expires_ms > {NOW_MS})"
        );
        sqlx::query(&sql1)
            .bind(hb.id.to_owned())
            .bind(hb.url.to_owned())
            .bind(hb.state.to_owned())
            .bind(hb.capacity)
            .bind(hb.version.to_owned())
            .bind(now_text())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every node with a heartbeat younger than `fresh_ms`, by id.
    pub async fn live_nodes(&self, fresh_ms: i64) -> Result<Vec<NodeRecord>, StoreError> {
        self.require_postgres()?;
        let sql2 = format!(
            "SELECT id, url, state, capacity, used, version, {NOW_MS} - heartbeat_ms FROM nodes \
             WHERE heartbeat_ms > {NOW_MS} - $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql2)
            .bind(fresh_ms)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NodeRecord {
                    id: text(r, 0)?,
                    url: text(r, 1)?,
                    state: text(r, 2)?,
                    capacity: int(r, 3)?,
                    used: int(r, 4)?,
                    version: text(r, 5)?,
                    heartbeat_age_ms: int(r, 6)?,
                })
            })
            .collect()
    }

    /// Forgets nodes whose heartbeat is older than `older_than_ms` (they died long ago).
    pub async fn forget_dead_nodes(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        self.require_postgres()?;
        let sql3 = format!(
            "DELETE FROM nodes WHERE id IN (SELECT id FROM nodes WHERE heartbeat_ms < {NOW_MS} - $1 \
             FOR UPDATE SKIP LOCKED)"
        );
        let done = sqlx::query(&sql3)
            .bind(older_than_ms)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Finds where `hearing` lives, placing it when no live lease holds it: on the least loaded
    /// node that serves, has a heartbeat younger than `fresh_ms` and a free slot. A placement
    /// takes a new epoch and a lease of `ttl_ms`. One transaction.
    pub async fn place_hearing(
        &self,
        hearing: &str,
        fresh_ms: i64,
        ttl_ms: i64,
    ) -> Result<Placed, StoreError> {
        self.require_postgres()?;
        let mut tx = self.pool().begin().await?;
        let sql4 = format!(
            "SELECT owner_node, lease_epoch, lease_expires_ms, {NOW_MS} FROM hearings WHERE id = $1 FOR UPDATE"
        );
        let row = sqlx::query(&sql4)
            .bind(hearing.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(Placed::NoHearing);
        };
        let owner = opt_text(&row, 0)?;
        let epoch = int(&row, 1)?;
        let expires = int(&row, 2)?;
        let now = int(&row, 3)?;
        if let Some(owner) = owner.as_ref().filter(|_| expires > now) {
            let sql = format!("SELECT url, {NOW_MS} - heartbeat_ms FROM nodes WHERE id = $1");
            let node = sqlx::query(&sql)
                .bind(owner.clone())
                .fetch_optional(&mut *tx)
                .await?;
            let (url, age) = match node {
                Some(r) => (text(&r, 0)?, Some(int(&r, 1)?)),
                None => (String::new(), None),
            };
            tx.commit().await?;
            return Ok(Placed::Owner {
                node: owner.clone(),
                url,
                epoch,
                fresh: false,
                owner_age_ms: age,
                lease_left_ms: expires - now,
            });
        }
        let sql5 = format!(
            "SELECT id, url FROM nodes WHERE state = 'serving' AND heartbeat_ms > {NOW_MS} - $1 \
             AND used < capacity ORDER BY (used * 1000) / capacity, used, random() LIMIT 1 \
             FOR UPDATE SKIP LOCKED"
        );
        let chosen = sqlx::query(&sql5)
            .bind(fresh_ms)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(chosen) = chosen else {
            tx.rollback().await?;
            return Ok(Placed::NoCapacity);
        };
        let node = text(&chosen, 0)?;
        let url = text(&chosen, 1)?;
        sqlx::query("UPDATE nodes SET used = used + 1 WHERE id = $1")
            .bind(node.clone())
            .execute(&mut *tx)
            .await?;
        if let Some(old) = owner.as_ref().filter(|o| **o != node) {
            sqlx::query("UPDATE nodes SET used = used - 1 WHERE id = $1 AND used > 0")
                .bind(old.clone())
                .execute(&mut *tx)
                .await?;
        }
        let sql6 = format!(
            "UPDATE hearings SET owner_node = $1, lease_epoch = lease_epoch + 1, \
             lease_expires_ms = {NOW_MS} + $2 WHERE id = $3 RETURNING lease_epoch"
        );
        let epoch: i64 = sqlx::query(&sql6)
            .bind(node.clone())
            .bind(ttl_ms)
            .bind(hearing.to_owned())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(Placed::Owner {
            node,
            url,
            epoch,
            fresh: true,
            owner_age_ms: None,
            lease_left_ms: ttl_ms,
        })
    }

    /// Extends `hearing`'s lease by `ttl_ms` from now, if `node` still holds it with `epoch`,
    /// also after it ran out: every placement of an expired lease takes a new epoch, so the
    /// same epoch means nobody took the hearing meanwhile. `false`: another node took a newer
    /// epoch.
    pub async fn renew_lease(
        &self,
        hearing: &str,
        node: &str,
        epoch: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        self.require_postgres()?;
        let sql7 = format!(
            "UPDATE hearings SET lease_expires_ms = {NOW_MS} + $1 \
             WHERE id = $2 AND owner_node = $3 AND lease_epoch = $4"
        );
        let done = sqlx::query(&sql7)
            .bind(ttl_ms)
            .bind(hearing.to_owned())
            .bind(node.to_owned())
            .bind(epoch)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives `hearing`'s lease up at once, if `node` holds it with `epoch`; the next join
    /// places it anew (with a new epoch).
    pub async fn release_lease(
        &self,
        hearing: &str,
        node: &str,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        self.require_postgres()?;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE hearings SET lease_expires_ms = 0, owner_node = NULL \
             WHERE id = $1 AND owner_node = $2 AND lease_epoch = $3",
        )
        .bind(hearing.to_owned())
        .bind(node.to_owned())
        .bind(epoch)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query("UPDATE nodes SET used = used - 1 WHERE id = $1 AND used > 0")
                .bind(node.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Tells every node listening on [`STATE_CHANNEL`] that `hearing` is now in `state`
    /// (`NOTIFY`, payload `HEARING|STATE`).
    pub async fn notify_hearing_state(&self, hearing: &str, state: &str) -> Result<(), StoreError> {
        self.require_postgres()?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(STATE_CHANNEL.to_owned())
            .bind(format!("{hearing}|{state}"))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The live owner of `hearing` (node id and public URL), if a live lease holds it.
    pub async fn hearing_owner(
        &self,
        hearing: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.require_postgres()?;
        let sql = format!(
            "SELECT n.id, n.url FROM hearings h JOIN nodes n ON n.id = h.owner_node \
             WHERE h.id = $1 AND h.lease_expires_ms > {NOW_MS}"
        );
        let row = sqlx::query(&sql)
            .bind(hearing.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((text(&r, 0)?, text(&r, 1)?))).transpose()
    }

    /// `hearing`'s lease epoch (0: never placed).
    pub async fn lease_epoch(&self, hearing: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT lease_epoch FROM hearings WHERE id = $1")
            .bind(hearing.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| int(&r, 0)).transpose().map(|e| e.unwrap_or(0))
    }

    /// Whether `node` holds a live lease on `hearing` with `epoch` right now: the check a
    /// fenced write makes.
    pub async fn holds_lease(
        &self,
        hearing: &str,
        node: &str,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        self.require_postgres()?;
        let sql8 = format!(
            "SELECT 1 FROM hearings WHERE id = $1 AND owner_node = $2 AND lease_epoch = $3 \
             AND lease_expires_ms > {NOW_MS}"
        );
        let row = sqlx::query(&sql8)
            .bind(hearing.to_owned())
            .bind(node.to_owned())
            .bind(epoch)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}
