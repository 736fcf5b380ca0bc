-- Hearings, the invitations that let people into them, and their recordings.
CREATE TABLE IF NOT EXISTS hearings (
    id           TEXT PRIMARY KEY,
    case_number  TEXT NOT NULL,
    title        TEXT NOT NULL,
    locale       TEXT NOT NULL DEFAULT 'en',
    layout       TEXT NOT NULL DEFAULT 'courtroom',
    state        TEXT NOT NULL DEFAULT 'open',
    created_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS invitations (
    id           TEXT PRIMARY KEY,
    hearing_id   TEXT NOT NULL REFERENCES hearings(id),
    role         TEXT NOT NULL,
    seat         TEXT NOT NULL,
    name         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked      BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS recordings (
    id           TEXT PRIMARY KEY,
    hearing_id   TEXT NOT NULL REFERENCES hearings(id),
    dir          TEXT NOT NULL,
    state        TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    ended_at     TEXT
);
