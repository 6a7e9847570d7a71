//! `zondarr backup PATH`: a consistent copy of the database, safe while the daemon runs.
//!
//! The copy is made with SQLite's online backup API in one step, which reads the database in a
//! single read transaction: the daemon keeps writing (WAL), and the copy is the state at one
//! moment. It is written to a temporary file next to the destination (mode 0600 from the start:
//! it holds encrypted secrets and password hashes), switched to a self-contained rollback
//! journal, verified (`PRAGMA integrity_check`, schema version), and only then moved into
//! place, so a failed or interrupted backup never leaves a half-written file under the final
//! name. An existing file is kept unless `--force`.
//!
//! The secret key (`<data_dir>/secret.key`) is deliberately not part of the backup; the README
//! describes how to restore, and why the key must be kept separately.

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a finished backup looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Where it was written.
    pub path: PathBuf,
    /// Size, bytes.
    pub bytes: u64,
    /// Schema version (same as the source's).
    pub schema_version: u32,
    /// Pages in the copy.
    pub pages: i64,
    /// Page size, bytes.
    pub page_size: i64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written to {}\n  size: {} bytes ({} pages of {} bytes)\n  schema version: {}\n  integrity check: ok\n\
             The backup does not contain the secret key: keep a copy of secret.key from the data folder (once) to be able to restore it.",
            self.path.display(),
            self.bytes,
            self.pages,
            self.page_size,
            self.schema_version
        )
    }
}

/// Copy the database at `source` to `dest`. Refuses to replace an existing `dest` unless
/// `force`.
pub fn run(
    source: &Path,
    dest: &Path,
    force: bool,
    busy_timeout: Duration,
) -> anyhow::Result<Summary> {
    if !source.is_file() {
        bail!(
            "there is no database at {}; check --data-dir",
            source.display()
        );
    }
    if dest.is_dir() {
        bail!(
            "{} is a folder; give the path of the backup file, e.g. {}",
            dest.display(),
            dest.join("zondarr-backup.db").display()
        );
    }
    if dest.exists() && !force {
        bail!(
            "{} already exists; choose another path or pass --force to replace it",
            dest.display()
        );
    }
    let name = dest
        .file_name()
        .with_context(|| format!("{} is not a file path", dest.display()))?;
    let folder = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        bail!("the folder {} does not exist", folder.display());
    }
    let temp = folder.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = copy_and_verify(source, &temp, busy_timeout).and_then(|summary| {
        place(&temp, dest, force)?;
        Ok(Summary {
            path: dest.to_owned(),
            ..summary
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        let _ = std::fs::remove_file(journal_of(&temp));
    }
    result
}

fn journal_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-journal");
    PathBuf::from(s)
}

/// Create `temp` (0600), copy into it, verify it. Returns the summary with `temp` as path.
fn copy_and_verify(source: &Path, temp: &Path, busy_timeout: Duration) -> anyhow::Result<Summary> {
    create_private(temp)?;
    let src = Connection::open_with_flags(
        source,
        // Read-write without create: a read-only connection cannot always open a WAL database
        // whose -shm file is missing; the backup only reads.
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the database {}", source.display()))?;
    src.busy_timeout(busy_timeout)?;
    let source_version = crate::db::schema_version(&src)?;

    let mut dst = Connection::open(temp)
        .with_context(|| format!("cannot create the backup file {}", temp.display()))?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // One step: the whole copy comes from one read transaction, so it is consistent even
        // while the daemon writes.
        let deadline = std::time::Instant::now() + busy_timeout.max(Duration::from_secs(1));
        loop {
            match backup.step(-1).context("the backup did not complete")? {
                rusqlite::backup::StepResult::Done => break,
                _ if std::time::Instant::now() >= deadline => {
                    bail!("the database stayed locked; the backup did not complete, try again")
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    drop(src);
    // The copy inherits WAL mode; make it one self-contained file.
    let mode: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!("cannot switch the backup to a self-contained file (journal mode {mode})");
    }
    let check: String = dst.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        bail!("the copy failed its integrity check: {check}");
    }
    let schema_version = crate::db::schema_version(&dst)?;
    if schema_version != source_version {
        bail!(
            "the copy has schema version {schema_version}, the database {source_version}; try again"
        );
    }
    let pages: i64 = dst.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = dst.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    dst.close().map_err(|(_, e)| e)?;
    File::open(temp)?.sync_all()?;
    Ok(Summary {
        path: temp.to_owned(),
        bytes: std::fs::metadata(temp)?.len(),
        schema_version,
        pages,
        page_size,
    })
}

/// An empty file only the owner can read, created before any data goes into it.
fn create_private(path: &Path) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// Move the finished copy to its name: replacing (`force`) is a rename; otherwise a hard link,
/// which fails if a file of that name appeared meanwhile, so nothing is ever overwritten.
fn place(temp: &Path, dest: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        std::fs::rename(temp, dest)
            .with_context(|| format!("cannot move the backup to {}", dest.display()))?;
    } else {
        std::fs::hard_link(temp, dest).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "{} already exists; choose another path or pass --force to replace it",
                    dest.display()
                )
            } else {
                anyhow::anyhow!("cannot move the backup to {}: {e}", dest.display())
            }
        })?;
        std::fs::remove_file(temp)?;
    }
    if let Some(folder) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Make the new name durable too.
        let _ = File::open(folder).and_then(|f| f.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path) -> PathBuf {
        let path = dir.join("zondarr.db");
        let db = crate::db::Db::open(&path, 2, Duration::from_secs(1)).unwrap();
        drop(db);
        let conn = Connection::open(&path).unwrap();
        conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'kept')", [])
            .unwrap();
        path
    }

    #[test]
    fn copies_verifies_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let src = source(dir.path());
        let dest = dir.path().join("out.db");
        let summary = run(&src, &dest, false, Duration::from_secs(1)).unwrap();
        assert_eq!(summary.path, dest);
        let latest = crate::db::MIGRATIONS.last().map_or(0, |m| m.version);
        assert_eq!(summary.schema_version, latest);
        assert!(summary.pages > 1);
        assert_eq!(summary.bytes, std::fs::metadata(&dest).unwrap().len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let conn = Connection::open(&dest).unwrap();
        let kept: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'probe'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "kept");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        drop(conn);

        let err = run(&src, &dest, false, Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already exists") && err.contains("--force"),
            "{err}"
        );
        run(&src, &dest, true, Duration::from_secs(1)).unwrap();
        // No temporary files are left behind.
        let leftovers: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_missing_database_or_folder_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(
            &dir.path().join("none.db"),
            &dir.path().join("out.db"),
            false,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no database"), "{err}");
        let src = source(dir.path());
        let err = run(&src, dir.path(), false, Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a folder"), "{err}");
        let err = run(
            &src,
            &dir.path().join("missing/out.db"),
            false,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
