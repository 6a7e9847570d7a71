//! The daemon's secret key: taken from the configuration, or generated on first start and kept in
//! the data folder (`secret.key`, mode 0600). Everything encrypted at rest derives its key from it,
//! so losing the file means losing those secrets — it belongs in every backup.

use crate::config::{Config, SecretKey};
use crate::db::Cached;
use anyhow::Context;
use rand::RngCore;
use std::io::Write;
use std::path::Path;

/// Create the data folder (mode 0700 on Unix) if it does not exist.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))
}

/// The key to use: the configured one, else the key file, else a new key written to the file.
pub fn load_or_create(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    let path = config.secret_key_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim().to_owned();
            anyhow::ensure!(
                key.len() >= 32,
                "the secret key file {} is damaged (shorter than 32 characters); restore it from a backup",
                path.display()
            );
            warn_if_readable_by_others(&path);
            Ok(SecretKey::new(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the secret key file {}", path.display()))
        }
    }
}

fn create(path: &Path) -> anyhow::Result<SecretKey> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(key.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a new secret key; keep it with your backups");
            Ok(SecretKey::new(key))
        }
        // Another process created it between our read and our create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            Ok(SecretKey::new(text.trim().to_owned()))
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the secret key file {}", path.display()))
        }
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the secret key file is readable by other users; run: chmod 600 {}",
                path.display()
            );
        }
    }
}

/// Columns that hold sealed values: table, column, purpose, and the binding prefix (the row id
/// is appended). Every feature that stores a sealed value adds its column here so that key
/// rotation re-encrypts it.
pub const SEALED_COLUMNS: &[(&str, &str, crate::crypto::Purpose, &str)] = &[
    (
        "admins",
        "totp_secret",
        crate::crypto::Purpose::TotpSecret,
        "admin:",
    ),
    (
        "admins",
        "totp_pending",
        crate::crypto::Purpose::TotpSecret,
        "admin:",
    ),
    (
        "servers",
        "credentials",
        crate::crypto::Purpose::ServerCredential,
        "server:",
    ),
    (
        "join_links",
        "account",
        crate::crypto::Purpose::LinkedAccount,
        "join-link:",
    ),
];

const FINGERPRINT_KEY: &str = "secret_key_fingerprint";

fn count_sealed(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    let mut total = 0;
    for (table, column, _, _) in SEALED_COLUMNS {
        let n: i64 = conn.row(
            &format!("SELECT count(*) FROM {table} WHERE {column} IS NOT NULL"),
            [],
            |r| r.get(0),
        )?;
        total += n;
    }
    Ok(total)
}

/// Check that `key` is the key the database's secrets were sealed with, recording its
/// fingerprint on first use. A different key is refused while sealed values exist, because
/// they could not be opened.
pub fn check_key_matches(conn: &rusqlite::Connection, key: &SecretKey) -> anyhow::Result<()> {
    let fingerprint = crate::crypto::Crypto::new(key.expose()).fingerprint();
    let stored = crate::db::meta::get(conn, FINGERPRINT_KEY)?;
    match stored {
        Some(s) if s == fingerprint => Ok(()),
        Some(s) if count_sealed(conn)? > 0 => anyhow::bail!(
            "the secret key (fingerprint {fingerprint}) is not the one that sealed this database's \
             secrets (fingerprint {s}): restore the original secret.key or the configured secret_key"
        ),
        _ => {
            conn.exec(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                rusqlite::params![FINGERPRINT_KEY, fingerprint],
            )?;
            Ok(())
        }
    }
}

/// Finish or undo a rotation that was interrupted: `secret.key.new` exists only between writing
/// the new key and renaming it into place. Whichever key the database says it is sealed with wins.
pub fn recover_interrupted_rotation(
    config: &Config,
    conn: &rusqlite::Connection,
) -> anyhow::Result<()> {
    let new_path = config.secret_key_path().with_extension("key.new");
    if config.secret_key.is_some() || !new_path.exists() {
        return Ok(());
    }
    let new_key = std::fs::read_to_string(&new_path)?.trim().to_owned();
    let stored = crate::db::meta::get(conn, FINGERPRINT_KEY)?;
    if stored.as_deref() == Some(crate::crypto::Crypto::new(&new_key).fingerprint().as_str()) {
        let old = config.secret_key_path();
        if old.exists() {
            std::fs::rename(
                &old,
                old.with_extension(format!(
                    "key.old-{}",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                )),
            )?;
        }
        std::fs::rename(&new_path, &old)?;
        tracing::warn!("finished an interrupted secret key rotation");
    } else {
        std::fs::remove_file(&new_path)?;
        tracing::warn!(
            "discarded an interrupted secret key rotation that never reached the database"
        );
    }
    Ok(())
}

/// Re-encrypt every sealed value with a new key (given, or generated) in one transaction. With a
/// key file, the new key replaces it (the old one is kept as `secret.key.old-<time>`); with a
/// configured key, the caller must update the configuration. Returns a summary for the CLI.
pub fn rotate(config: &Config, new_key: Option<String>) -> anyhow::Result<String> {
    use crate::crypto::Crypto;
    // Never beside a daemon: it keeps the old key in memory and would seal new values with it.
    let _lock = crate::lock::DataLock::acquire(&config.data_dir, "to rotate the secret key")?;
    {
        // A rotation killed half-way is finished (or undone) before anything else.
        let conn = rusqlite::Connection::open(config.database_path())?;
        recover_interrupted_rotation(config, &conn)?;
    }
    let old_key = load_or_create(config)?;
    let new_key = match new_key {
        Some(k) => {
            anyhow::ensure!(
                k.trim().len() >= 32,
                "the new key must be at least 32 characters"
            );
            k.trim().to_owned()
        }
        None if config.secret_key.is_some() => anyhow::bail!(
            "the secret key comes from the configuration: pass the new one with --new-key-file, then update the configuration"
        ),
        None => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
    };
    anyhow::ensure!(
        new_key != old_key.expose(),
        "the new key is the same as the current one"
    );
    let (old, new) = (Crypto::new(old_key.expose()), Crypto::new(&new_key));

    let file_based = config.secret_key.is_none();
    let new_path = config.secret_key_path().with_extension("key.new");
    if file_based {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&new_path)?;
        f.write_all(new_key.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        sync_dir(&config.data_dir);
    }
    failpoint("rotate-key-written");

    let mut conn = rusqlite::Connection::open(config.database_path())?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // The commit must be on disk before the key files move (WAL with NORMAL could lose it in a
    // power cut, leaving values sealed with a key that is only in the kept old file).
    conn.execute_batch("PRAGMA synchronous = FULL")?;
    crate::db::migrate(&mut conn)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    check_key_matches(&tx, &old_key)?;
    let mut count = 0usize;
    for (table, column, purpose, prefix) in SEALED_COLUMNS {
        let rows: Vec<(i64, Vec<u8>)> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
            ))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, sealed) in rows {
            let binding = format!("{prefix}{id}");
            let plain = old
                .open(*purpose, &binding, &sealed)
                .map_err(|e| anyhow::anyhow!("cannot open {table}.{column} of row {id}: {e}"))?;
            let resealed = new.seal(*purpose, &binding, &plain);
            tx.exec(
                &format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"),
                rusqlite::params![resealed, id],
            )?;
            count += 1;
            failpoint("rotate-mid-transaction");
        }
    }
    tx.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        rusqlite::params![FINGERPRINT_KEY, new.fingerprint()],
    )?;
    crate::db::audit::append(
        &tx,
        &crate::db::audit::NewEvent {
            actor: "cli",
            ip: None,
            action: "secrets.rotate",
            target: None,
            outcome: crate::db::audit::Outcome::Success,
            detail: Some(serde_json::json!({ "values": count, "fingerprint": new.fingerprint() })),
        },
    )?;
    tx.commit()?;
    failpoint("rotate-committed");

    if file_based {
        let path = config.secret_key_path();
        let kept = path.with_extension(format!(
            "key.old-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ));
        std::fs::rename(&path, &kept)?;
        failpoint("rotate-old-key-moved");
        std::fs::rename(&new_path, &path)?;
        sync_dir(&config.data_dir);
        Ok(format!(
            "re-encrypted {count} secret(s); new key in {} (fingerprint {}); the old key is kept in {} — delete it once your backups use the new key. Restart the daemon now.",
            path.display(),
            new.fingerprint(),
            kept.display()
        ))
    } else {
        Ok(format!(
            "re-encrypted {count} secret(s) with the new key (fingerprint {}). Update secret_key in your configuration to the new key before restarting the daemon.",
            new.fingerprint()
        ))
    }
}

/// Make renames and new files in `dir` durable (best effort; not every platform can).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Crash-safety tests: when `ZONDARR_FAILPOINT` names this point, the process dies here at once
/// (as a `SIGKILL` or a power cut would stop it), so the integration tests can show that every
/// value stays readable after a rotation killed at each step.
fn failpoint(name: &str) {
    if std::env::var_os("ZONDARR_FAILPOINT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    #[test]
    fn rotation_re_encrypts_and_swaps_the_key_file() {
        use crate::crypto::{Crypto, Purpose};
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        ensure_data_dir(&c.data_dir).unwrap();
        let old_key = load_or_create(&c).unwrap();
        let mut conn = rusqlite::Connection::open(c.database_path()).unwrap();
        crate::db::migrate(&mut conn).unwrap();
        check_key_matches(&conn, &old_key).unwrap();
        let id = crate::db::auth::insert_admin(&conn, "alice", "x").unwrap();
        let sealed = Crypto::new(old_key.expose()).seal(
            Purpose::TotpSecret,
            &format!("admin:{id}"),
            b"totp-secret",
        );
        conn.exec(
            "UPDATE admins SET totp_secret = ?1 WHERE id = ?2",
            rusqlite::params![sealed, id],
        )
        .unwrap();
        drop(conn);

        let summary = rotate(&c, None).unwrap();
        assert!(summary.contains("re-encrypted 1 secret"), "{summary}");
        let new_key = load_or_create(&c).unwrap();
        assert_ne!(new_key, old_key);
        let conn = rusqlite::Connection::open(c.database_path()).unwrap();
        let stored: Vec<u8> = conn
            .query_row("SELECT totp_secret FROM admins WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        let opened = Crypto::new(new_key.expose())
            .open(Purpose::TotpSecret, &format!("admin:{id}"), &stored)
            .unwrap();
        assert_eq!(opened, b"totp-secret");
        check_key_matches(&conn, &new_key).unwrap();
        let err = check_key_matches(&conn, &old_key).unwrap_err().to_string();
        assert!(err.contains("not the one that sealed"), "{err}");
    }

    fn config(dir: &Path) -> Config {
        Config::load_from(
            &Overrides {
                data_dir: Some(dir.to_owned()),
                ..Default::default()
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let a = load_or_create(&c).unwrap();
        let b = load_or_create(&c).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c.secret_key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        std::fs::write(c.secret_key_path(), "short").unwrap();
        let err = load_or_create(&c).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
