-- Media servers and their libraries. Credentials (the connector's secret configuration fields)
-- are one sealed JSON object per server (see host/src/crypto.rs, purpose server-credential,
-- bound to the row id); everything else is plain.

CREATE TABLE servers (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind                 TEXT NOT NULL,                 -- connector plugin id
    base_url             TEXT NOT NULL,
    config               TEXT NOT NULL DEFAULT '{}',    -- JSON object of non-secret fields
    credentials          BLOB,                          -- sealed JSON object of secret fields
    extra_hosts          TEXT NOT NULL DEFAULT '{}',    -- JSON object: extra-host id -> origin override
    accept_invalid_certs INTEGER NOT NULL DEFAULT 0,
    enabled              INTEGER NOT NULL DEFAULT 1,
    remote_name          TEXT,                          -- from the last successful connection test
    remote_product       TEXT,
    remote_version       TEXT,
    remote_id            TEXT,
    last_checked_at      TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
) STRICT;

CREATE TABLE libraries (
    id           INTEGER PRIMARY KEY,
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (server_id, external_id)
) STRICT;
