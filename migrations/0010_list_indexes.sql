-- Indexes for every sort the admin user list offers (issue 22): a page reads an index range instead
-- of sorting every row. Each ends in `id`, the list's tie-breaker, so `ORDER BY <sort>, u.id` is
-- served by the index in both directions. The per-server variants serve the common `server_id`
-- filter with the same orders.
CREATE INDEX users_username_nocase ON users(username COLLATE NOCASE, id);
CREATE INDEX users_created ON users(created_at, id);
CREATE INDEX users_expires_sort ON users(coalesce(expires_at, '9999'), id);
CREATE INDEX users_server_username ON users(server_id, username COLLATE NOCASE, id);
CREATE INDEX users_server_created ON users(server_id, created_at, id);
CREATE INDEX users_enabled_username ON users(enabled, username COLLATE NOCASE, id);
CREATE INDEX users_server ON users(server_id);
-- The invitation list's sorts (`code` already has its UNIQUE NOCASE index).
CREATE INDEX invitations_created ON invitations(created_at, id);
CREATE INDEX invitations_expires_sort ON invitations(coalesce(expires_at, '9999'), id);
CREATE INDEX invitations_use_count ON invitations(use_count, id);
