-- The cluster: the nodes that serve hearings, and each hearing's owner and lease.
-- Portable SQL; placement itself runs only on PostgreSQL (FOR UPDATE SKIP LOCKED, the
-- database's clock), a single SQLite node places every hearing on itself.
CREATE TABLE IF NOT EXISTS nodes (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    state         TEXT NOT NULL,
    capacity      BIGINT NOT NULL,
    used          BIGINT NOT NULL DEFAULT 0,
    version       TEXT NOT NULL,
    heartbeat_ms  BIGINT NOT NULL,
    started_at    TEXT NOT NULL
);

ALTER TABLE hearings ADD COLUMN owner_node TEXT;
ALTER TABLE hearings ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hearings ADD COLUMN lease_expires_ms BIGINT NOT NULL DEFAULT 0;

-- Signing keys shared by every node: `invitation` keys (HMAC-SHA256 secrets) sign invitation
-- links, `recording` keys (Ed25519) sign manifests. A key id travels with what it signed.
-- The newest key of a purpose that is not retired signs; every key still verifies.
CREATE TABLE IF NOT EXISTS signing_keys (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    secret      TEXT NOT NULL,
    public      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    retired_at  TEXT
);

-- Which node recorded, under which lease epoch.
ALTER TABLE recordings ADD COLUMN node_id TEXT;
ALTER TABLE recordings ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;
