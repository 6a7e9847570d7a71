-- Optional admin sign-in through a media server (a Jellyfin administrator, the Plex server
-- owner): enabled per server, mapped to a local admin record that has no usable password.

ALTER TABLE servers ADD COLUMN admin_login INTEGER NOT NULL DEFAULT 0;

ALTER TABLE admins ADD COLUMN external_server_id INTEGER REFERENCES servers(id) ON DELETE CASCADE;
ALTER TABLE admins ADD COLUMN external_user_id TEXT;
CREATE UNIQUE INDEX admins_external ON admins(external_server_id, external_user_id)
    WHERE external_server_id IS NOT NULL;
