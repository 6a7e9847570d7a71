-- Redemption safety (docs/redemption.md): the daemon owns each redemption (a handle to poll it, an
-- idempotency key per join attempt), and the journal records what proves who made an account.

-- The journal of a redemption. New: `handle` (unguessable, what the join page polls), `attempt_key`
-- (the invitee's idempotency key: a retried or double-clicked request joins the same attempt),
-- `links` (the join links it reserved), `error_code` and `error` (the public answer of a failed
-- one), the state `unresolved` (an account
-- whose origin could not be proven is left alone and reported to the admin).
CREATE TABLE redemptions_new (
    id             INTEGER PRIMARY KEY,
    invitation_id  INTEGER REFERENCES invitations(id) ON DELETE SET NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'failed', 'compensated', 'unresolved')),
    handle         TEXT NOT NULL UNIQUE,
    attempt_key    TEXT,
    links          TEXT,                               -- JSON array of the join_links.id it reserved
    username       TEXT NOT NULL,
    email          TEXT,
    identity_id    INTEGER REFERENCES identities(id) ON DELETE SET NULL,
    error_code     TEXT,
    error          TEXT,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (invitation_id, attempt_key)
) STRICT;
INSERT INTO redemptions_new (id, invitation_id, state, handle, username, email, identity_id, error, started_at, finished_at)
    SELECT id, invitation_id, state, lower(hex(randomblob(16))), username, email, identity_id, error, started_at, finished_at
    FROM redemptions;

-- One step per target server. States: pending (not called yet), calling (the existence check
-- found the name free, or found the account to adopt, and create-user is being called), created
-- / adopted (the connector said which; `external_id` set), unknown (the call's outcome is not
-- known: timeout, trap, crash), failed (the server refused; nothing was made), compensated (the
-- account this redemption created was deleted again), kept (an adopted account left as it was on
-- rollback), reported (an account exists whose origin cannot be proven: never deleted, shown to
-- the admin).
-- `name_free` is the proof: 1 when the existence check right before the call found no account,
-- 0 when it found `pre_existing_id` (which is then never deleted), NULL when no check was made.
CREATE TABLE redemption_steps_new (
    redemption_id    INTEGER NOT NULL REFERENCES redemptions_new(id) ON DELETE CASCADE,
    server_id        INTEGER NOT NULL,                 -- no FK: the journal outlives a deleted server
    kind             TEXT NOT NULL,                    -- connector id, for compensation
    state            TEXT NOT NULL CHECK (state IN ('pending', 'calling', 'created', 'adopted', 'unknown', 'failed', 'compensated', 'kept', 'reported')),
    external_id      TEXT,
    username         TEXT NOT NULL,                    -- the name asked for
    linked_id        TEXT,                             -- the linked account's id (PIN flows)
    name_free        INTEGER CHECK (name_free IN (0, 1)),
    pre_existing_id  TEXT,
    remote_username  TEXT,                             -- the account's name as the server reports it
    PRIMARY KEY (redemption_id, server_id)
) STRICT;
INSERT INTO redemption_steps_new (redemption_id, server_id, kind, state, external_id, username)
    SELECT redemption_id, server_id, kind, state, external_id, username FROM redemption_steps;

DROP TABLE redemption_steps;
DROP TABLE redemptions;
ALTER TABLE redemptions_new RENAME TO redemptions;
ALTER TABLE redemption_steps_new RENAME TO redemption_steps;
CREATE INDEX redemptions_state ON redemptions(state);

-- Join links get an unguessable handle; the row id stays internal. A link is `reserved` from the
-- moment a redemption reserves a use with it until that redemption ends.
CREATE TABLE join_links_new (
    id             INTEGER PRIMARY KEY,
    handle         TEXT NOT NULL UNIQUE,
    invitation_id  INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    pin_id         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'linked', 'expired', 'reserved', 'used')),
    account        BLOB,                               -- sealed JSON of the linked account, token included
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    UNIQUE (server_id, pin_id)
) STRICT;
INSERT INTO join_links_new (id, handle, invitation_id, server_id, pin_id, state, account, created_at, expires_at)
    SELECT id, lower(hex(randomblob(16))), invitation_id, server_id, pin_id, state, account, created_at, expires_at
    FROM join_links;
DROP TABLE join_links;
ALTER TABLE join_links_new RENAME TO join_links;
