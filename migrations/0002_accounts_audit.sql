-- Accounts and their sessions, hearing scheduling and sealing, and the audit trail.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (TEXT and BIGINT only).

ALTER TABLE hearings ADD COLUMN scheduled_at TEXT;
ALTER TABLE hearings ADD COLUMN created_by TEXT;
ALTER TABLE recordings ADD COLUMN sealed_at TEXT;

CREATE INDEX IF NOT EXISTS invitations_by_hearing ON invitations (hearing_id);
CREATE INDEX IF NOT EXISTS recordings_by_hearing ON recordings (hearing_id);

-- Clerks and administrators of the portal. Passwords are argon2id PHC strings.
CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       BIGINT NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

-- Portal sessions. Only the SHA-256 of the cookie value is stored.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Append-only, hash-chained: hash = SHA-256(prev_hash, seq, at, actor, action, hearing_id,
-- detail), see src/store/audit.rs. seq starts at 1 and has no gaps.
CREATE TABLE IF NOT EXISTS audit_log (
    seq          BIGINT PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    hearing_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_hearing ON audit_log (hearing_id, seq);
