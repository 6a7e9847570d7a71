-- Operations: records of background work, the user-sync exclusion list, what sync and expiry
-- enforcement found or did to accounts, the marks the invitation-expiry job sets, and each
-- server's last known health.

CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    job          TEXT NOT NULL,                 -- e.g. user_sync, invitation_expiry
    server_id    INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    server_name  TEXT,                          -- kept for display after the server is deleted
    trigger      TEXT NOT NULL CHECK (trigger IN ('automatic', 'manual')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'refused', 'interrupted')),
    counts       TEXT NOT NULL DEFAULT '{}',    -- JSON object of numbers (and short lists)
    error        TEXT                           -- client-safe message
) STRICT;
CREATE INDEX job_runs_started ON job_runs(started_at);
CREATE INDEX job_runs_job ON job_runs(job, started_at);

-- Accounts user sync must not import again (removed from Zondarr but kept on the server).
CREATE TABLE sync_exclusions (
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,
    username     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (server_id, external_id)
) STRICT;

ALTER TABLE users ADD COLUMN vanished_at TEXT;        -- user sync no longer saw it on the server
ALTER TABLE users ADD COLUMN expiry_action TEXT;      -- what expiry enforcement did: disabled, deleted, libraries_removed, none
ALTER TABLE users ADD COLUMN expiry_action_at TEXT;

ALTER TABLE invitations ADD COLUMN closed_at TEXT;    -- set by the invitation-expiry job
ALTER TABLE invitations ADD COLUMN closed_reason TEXT CHECK (closed_reason IS NULL OR closed_reason IN ('expired', 'used_up'));

ALTER TABLE servers ADD COLUMN last_sync_at TEXT;
ALTER TABLE servers ADD COLUMN last_error TEXT;       -- client-safe message of the last failed background call
ALTER TABLE servers ADD COLUMN last_error_at TEXT;
