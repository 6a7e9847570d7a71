-- Libraries are referenced by the server's own id for them, not by row id, and a library the
-- server stops listing is kept (marked missing) while an invitation still offers it, so a sync
-- can never silently turn "these libraries" into "no libraries".
--
-- 0008 is the redemption migration (issue 13); this one does not depend on it.

ALTER TABLE libraries ADD COLUMN missing_since TEXT;  -- library sync no longer saw it on the server

-- Before this migration, library sync deleted the rows of libraries the server stopped listing,
-- so an invitation may refer to a row id that no longer exists: its external id is lost. Such a
-- reference becomes a placeholder row, marked missing (and keeping the row id where it is free),
-- so the invitation is flagged and its redemption refused instead of granting fewer libraries.
INSERT INTO libraries (id, server_id, external_id, name, kind, created_at, updated_at, missing_since)
SELECT CASE WHEN d.server_id = d.first_server
                 AND NOT EXISTS (SELECT 1 FROM libraries l WHERE l.id = d.ref) THEN d.ref END,
       d.server_id,
       'zondarr-lost:' || d.ref,
       'library ' || d.ref || ' (removed from the server before this upgrade)',
       'unknown',
       d.now, d.now, d.now
FROM (
    SELECT j.value AS ref, s.server_id AS server_id,
           (SELECT min(o.server_id) FROM invitation_servers o, json_each(o.libraries) oj
            WHERE o.libraries IS NOT NULL AND oj.value = j.value) AS first_server,
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS now
    FROM invitation_servers s, json_each(s.libraries) j
    WHERE s.libraries IS NOT NULL AND j.type = 'integer'
      AND NOT EXISTS (SELECT 1 FROM libraries l WHERE l.id = j.value AND l.server_id = s.server_id)
    GROUP BY j.value, s.server_id
) d;

-- Row ids become the libraries' external ids (the row is per server, so they are server-scoped),
-- in the same order.
UPDATE invitation_servers SET libraries = (
    SELECT json_group_array(l.external_id ORDER BY j.key)
    FROM json_each(invitation_servers.libraries) j
    JOIN libraries l ON l.server_id = invitation_servers.server_id
                    AND (l.id = j.value OR l.external_id = 'zondarr-lost:' || j.value)
    WHERE j.type = 'integer'
)
WHERE libraries IS NOT NULL;
