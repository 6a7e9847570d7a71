-- Onboarding wizards: ordered steps of Markdown content, each with interactions the invitee must
-- complete, attached to invitations before (pre) and after (post) account creation.

CREATE TABLE wizards (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT,
    enabled      INTEGER NOT NULL DEFAULT 1,
    -- Bumped by every change to the wizard, its steps or their interactions. Progress and
    -- completion tokens name the version they were issued for, so an edit invalidates them.
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

-- Positions are 0-based and kept contiguous by the repository functions, which move rows
-- through negative temporaries so the unique constraint never fires half-way.
CREATE TABLE wizard_steps (
    id          INTEGER PRIMARY KEY,
    wizard_id   INTEGER NOT NULL REFERENCES wizards(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    content     TEXT NOT NULL,                         -- Markdown, rendered and sanitised on output
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (wizard_id, position)
) STRICT;

CREATE TABLE wizard_interactions (
    id          INTEGER PRIMARY KEY,
    step_id     INTEGER NOT NULL REFERENCES wizard_steps(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('click', 'timer', 'terms', 'text_input', 'quiz')),
    config      TEXT NOT NULL,                         -- JSON, normalised per kind
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX wizard_interactions_step ON wizard_interactions(step_id, position);

-- Deleting a wizard detaches it from its invitations.
ALTER TABLE invitations ADD COLUMN pre_wizard_id INTEGER REFERENCES wizards(id) ON DELETE SET NULL;
ALTER TABLE invitations ADD COLUMN post_wizard_id INTEGER REFERENCES wizards(id) ON DELETE SET NULL;
CREATE INDEX invitations_pre_wizard ON invitations(pre_wizard_id);
CREATE INDEX invitations_post_wizard ON invitations(post_wizard_id);
