//! Schema migrations: `migrations/NNNN_name.sql`, embedded in the binary, applied in order inside
//! one transaction, tracked with `PRAGMA user_version`. A published migration is never edited; a
//! test checks that the folder and this list agree.

use rusqlite::Connection;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number; `user_version` after it is applied.
    pub version: u32,
    /// File name without extension, e.g. `0001_meta`.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

macro_rules! migrations {
    ($($version:literal => $name:literal),+ $(,)?) => {
        /// Every migration, in order.
        pub const MIGRATIONS: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../../migrations/", $name, ".sql")),
        }),+];
    };
}

migrations! {
    1 => "0001_meta",
    2 => "0002_security",
    3 => "0003_servers",
    4 => "0004_invitations_users",
    5 => "0005_external_admin_login",
    6 => "0006_wizards",
    7 => "0007_operations",
    8 => "0008_redemption_safety",
    9 => "0009_library_refs",
    10 => "0010_list_indexes",
    11 => "0011_invitation_message",
    12 => "0012_redemption_verifier",
    13 => "0013_server_ca",
    14 => "0014_user_search",
}

/// The schema version recorded in the database.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Apply the pending migrations. Refuses a database newer than this binary.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<u32> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let current = schema_version(&tx)?;
    if current > latest {
        anyhow::bail!(
            "the database has schema version {current}, but this zondarr knows only up to {latest}: \
             it was used by a newer release. Run that release again, or restore a backup made \
             with this one."
        );
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql)
            .map_err(|e| anyhow::anyhow!("migration {} failed: {e}", m.name))?;
        // PRAGMA does not take bound parameters; the version is a trusted integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", m.version))?;
        tracing::info!(migration = m.name, "applied database migration");
    }
    tx.commit()?;
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply the migrations up to and including `version`.
    fn migrate_to(conn: &mut Connection, version: u32) {
        for m in MIGRATIONS.iter().filter(|m| m.version <= version) {
            conn.execute_batch(m.sql).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {}", m.version))
                .unwrap();
        }
    }

    #[test]
    fn library_references_become_external_ids() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 7);
        let now = "2026-01-01T00:00:00.000Z";
        conn.execute_batch(&format!(
            "INSERT INTO servers (id, name, kind, base_url, created_at, updated_at) VALUES
                 (1, 'A', 'jellyfin', 'http://a', '{now}', '{now}'),
                 (2, 'B', 'plex', 'http://b', '{now}', '{now}');
             INSERT INTO libraries (id, server_id, external_id, name, kind, created_at, updated_at) VALUES
                 (10, 1, 'aaa', 'Movies', 'movies', '{now}', '{now}'),
                 (11, 1, 'bbb', 'Shows', 'tvshows', '{now}', '{now}'),
                 (20, 2, '3', 'Music', 'artist', '{now}', '{now}');
             INSERT INTO invitations (id, code, created_by, created_at, updated_at) VALUES
                 (1, 'one', 'admin:a', '{now}', '{now}'),
                 (2, 'two', 'admin:a', '{now}', '{now}');
             INSERT INTO invitation_servers (invitation_id, server_id, libraries) VALUES
                 (1, 1, '[11,10]'),
                 (1, 2, NULL),
                 (2, 1, '[10,12]'),
                 (2, 2, '[20]');"
        ))
        .unwrap();
        migrate(&mut conn).unwrap();
        let refs = |inv: i64, server: i64| -> Option<String> {
            conn.query_row(
                "SELECT libraries FROM invitation_servers WHERE invitation_id = ?1 AND server_id = ?2",
                [inv, server],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(
            refs(1, 1).as_deref(),
            Some(r#"["bbb","aaa"]"#),
            "order kept"
        );
        assert_eq!(refs(1, 2), None, "all libraries stays all");
        assert_eq!(refs(2, 2).as_deref(), Some(r#"["3"]"#));
        // Row 12 was deleted by an earlier sync: its reference is kept as a missing placeholder
        // (with the same row id), never dropped.
        assert_eq!(refs(2, 1).as_deref(), Some(r#"["aaa","zondarr-lost:12"]"#));
        let (id, server, missing): (i64, i64, Option<String>) = conn
            .query_row(
                "SELECT id, server_id, missing_since FROM libraries WHERE external_id = 'zondarr-lost:12'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((id, server), (12, 1));
        assert!(missing.is_some());
        let live: i64 = conn
            .query_row(
                "SELECT count(*) FROM libraries WHERE missing_since IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(live, 3, "existing libraries are not marked");
    }

    #[test]
    fn all_migrations_apply_to_memory() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v = migrate(&mut conn).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), v);
        // Idempotent.
        assert_eq!(migrate(&mut conn).unwrap(), v);
        let fk_problems: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk_problems, 0);
    }

    #[test]
    fn folder_and_list_agree_and_are_contiguous() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}.sql", m.name))
            .collect();
        assert_eq!(
            files, listed,
            "every migrations/*.sql must be listed in db/migrations.rs"
        );
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<u32> = (1..=versions.last().copied().unwrap_or(0)).collect();
        assert_eq!(versions, expected, "versions are contiguous");
        for m in MIGRATIONS {
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 999").unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("999") && err.contains("newer"), "{err}");
    }

    #[test]
    fn failing_migration_leaves_nothing_applied() {
        let mut conn = Connection::open_in_memory().unwrap();
        // Simulate a half-applied state: a table the first migration creates already exists.
        conn.execute_batch("CREATE TABLE meta (x)").unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(schema_version(&conn).unwrap(), 0);
    }
}
