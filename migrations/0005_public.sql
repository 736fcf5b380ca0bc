-- Whether a hearing is held in public (its broadcast may run) or closed (never broadcast:
-- minors, privacy, trade secrets). Closed unless the clerk says otherwise.
ALTER TABLE hearings ADD COLUMN public BIGINT NOT NULL DEFAULT 0;
