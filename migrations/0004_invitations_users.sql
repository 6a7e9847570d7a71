-- Invitations, the people (identities) and accounts (users) they create, and the redemption
-- journal that makes a redemption across several servers all-or-nothing, even across a crash.

CREATE TABLE invitations (
    id                   INTEGER PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
    enabled              INTEGER NOT NULL DEFAULT 1,
    expires_at           TEXT,                         -- NULL: never
    max_uses             INTEGER CHECK (max_uses IS NULL OR max_uses >= 1),
    use_count            INTEGER NOT NULL DEFAULT 0 CHECK (use_count >= 0),
    access_duration_days INTEGER CHECK (access_duration_days IS NULL OR access_duration_days >= 1),
    note                 TEXT,
    created_by           TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
) STRICT;

-- Target servers of an invitation, with what it grants there.
CREATE TABLE invitation_servers (
    invitation_id  INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    libraries      TEXT,                               -- JSON array of libraries.id; NULL: all
    permissions    TEXT NOT NULL DEFAULT '{}',         -- JSON object: permission key -> value
    PRIMARY KEY (invitation_id, server_id)
) STRICT;
CREATE INDEX invitation_servers_server ON invitation_servers(server_id);

CREATE TABLE identities (
    id            INTEGER PRIMARY KEY,
    display_name  TEXT NOT NULL,
    email         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    identity_id    INTEGER REFERENCES identities(id) ON DELETE SET NULL,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    username       TEXT NOT NULL,
    email          TEXT,
    kind           TEXT,
    enabled        INTEGER NOT NULL DEFAULT 1,
    expires_at     TEXT,
    invitation_id  INTEGER REFERENCES invitations(id) ON DELETE SET NULL,
    source         TEXT NOT NULL CHECK (source IN ('invitation', 'sync', 'manual')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (server_id, external_id)
) STRICT;
CREATE INDEX users_identity ON users(identity_id);
CREATE INDEX users_invitation ON users(invitation_id);
CREATE INDEX users_expires ON users(expires_at);

-- The redemption journal. A row is written, with one step per target server, before the first
-- remote call; each step is marked before and after its remote call. A journal left `pending`
-- by a crash is compensated at start-up (remote accounts removed, the use released).
CREATE TABLE redemptions (
    id             INTEGER PRIMARY KEY,
    invitation_id  INTEGER REFERENCES invitations(id) ON DELETE SET NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'failed', 'compensated')),
    username       TEXT NOT NULL,
    email          TEXT,
    identity_id    INTEGER REFERENCES identities(id) ON DELETE SET NULL,
    error          TEXT,
    started_at     TEXT NOT NULL,
    finished_at    TEXT
) STRICT;
CREATE INDEX redemptions_state ON redemptions(state);

CREATE TABLE redemption_steps (
    redemption_id  INTEGER NOT NULL REFERENCES redemptions(id) ON DELETE CASCADE,
    server_id      INTEGER NOT NULL,                   -- no FK: the journal outlives a deleted server
    kind           TEXT NOT NULL,                      -- connector id, for compensation
    state          TEXT NOT NULL CHECK (state IN ('pending', 'calling', 'created', 'compensated', 'failed')),
    external_id    TEXT,
    username       TEXT NOT NULL,                      -- the name asked for, to find an account whose creation was not recorded
    PRIMARY KEY (redemption_id, server_id)
) STRICT;

-- Account links in progress on the join page (PIN flows). The invitee's token is sealed and
-- never leaves the daemon.
CREATE TABLE join_links (
    id             INTEGER PRIMARY KEY,
    invitation_id  INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    pin_id         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'linked', 'expired', 'used')),
    account        BLOB,                               -- sealed JSON of the linked account, token included
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    UNIQUE (server_id, pin_id)
) STRICT;
