-- Installation-wide facts the daemon keeps for itself (e.g. the install id given to plugins as
-- a stable client identifier). Later features add their own tables in later migrations.
CREATE TABLE meta (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
