-- Admin access and security: admins, sessions, pending second-factor logins, TOTP backup codes,
-- API keys, login failure tracking for lockout, the audit log, and daemon settings.
-- Secrets are stored sealed (see host/src/crypto.rs) or hashed, never in plain text.

CREATE TABLE admins (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash       TEXT NOT NULL,               -- Argon2id PHC string
    totp_secret         BLOB,                        -- sealed; NULL unless TOTP is enabled
    totp_pending        BLOB,                        -- sealed; set between setup and confirm
    totp_last_step      INTEGER,                     -- last accepted time step (replay guard)
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    admin_id     INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,                      -- synchronizer token for HTML forms
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,                      -- absolute lifetime
    ip           TEXT,
    user_agent   TEXT
) STRICT;
CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);

-- A login whose password was right and whose second factor is still due.
CREATE TABLE login_challenges (
    token_hash  BLOB PRIMARY KEY,
    admin_id    INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE totp_backup_codes (
    id         INTEGER PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX totp_backup_codes_admin ON totp_backup_codes(admin_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,               -- public part, shown in lists
    secret_hash  BLOB NOT NULL,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
    admin_id     INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

-- Failed logins per username (known or not, so lockout reveals nothing about existence).
CREATE TABLE login_failures (
    username        TEXT PRIMARY KEY COLLATE NOCASE,
    failures        INTEGER NOT NULL,
    lockouts        INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    last_failure_at TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,                          -- e.g. admin:alice, api-key:zk_ab12, anonymous
    ip       TEXT,
    action   TEXT NOT NULL,                          -- e.g. auth.login
    target   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    detail   TEXT                                    -- JSON; never secret
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_action ON audit_log(action);

-- Settings changed at run time (public URL from setup, later the live settings).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
