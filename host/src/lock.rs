//! The data folder's lock: `<data-dir>/zondarr.lock`, held with an OS file lock (`flock`) by the
//! daemon for as long as it runs, and by the commands that must not run beside it (`secrets
//! rotate`, `migrate`). The kernel releases the lock when the process ends, however it ends (a
//! `SIGKILL` or a power cut leaves no stale lock to clean up); the file only carries the holder's
//! process id for the error message.

use anyhow::Context;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data folder.
pub const LOCK_FILE: &str = "zondarr.lock";

/// A held lock on the data folder; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

fn open(data_dir: &Path) -> anyhow::Result<(File, PathBuf)> {
    let path = data_dir.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    Ok((file, path))
}

impl DataLock {
    /// Take the lock, or `None` when another process holds it.
    pub fn try_acquire(data_dir: &Path) -> anyhow::Result<Option<DataLock>> {
        let (mut file, path) = open(data_dir)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                file.rewind()?;
                writeln!(file, "{}", std::process::id())?;
                Ok(Some(DataLock { _file: file }))
            }
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// Take the lock or fail with a message naming the holder: `doing` is what would have been
    /// done (e.g. "rotating the secret key").
    pub fn acquire(data_dir: &Path, doing: &str) -> anyhow::Result<DataLock> {
        Self::try_acquire(data_dir)?.ok_or_else(|| held_by_other(data_dir, doing))
    }

    /// Take the lock, waiting up to `wait` for a command that holds it briefly (the daemon's
    /// start-up, so that a quick CLI command does not make it fail).
    pub fn acquire_waiting(
        data_dir: &Path,
        doing: &str,
        wait: std::time::Duration,
    ) -> anyhow::Result<DataLock> {
        let until = std::time::Instant::now() + wait;
        loop {
            if let Some(lock) = Self::try_acquire(data_dir)? {
                return Ok(lock);
            }
            if std::time::Instant::now() >= until {
                return Err(held_by_other(data_dir, doing));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// The error for a lock someone else holds, with their process id when the file names one.
pub fn held_by_other(data_dir: &Path, doing: &str) -> anyhow::Error {
    let mut holder = String::new();
    if let Ok((mut f, _)) = open(data_dir) {
        let _ = f.read_to_string(&mut holder);
    }
    let holder = holder.trim();
    let who = if !holder.is_empty() && holder.bytes().all(|b| b.is_ascii_digit()) {
        format!("another zondarr process (pid {holder})")
    } else {
        "another zondarr process".to_owned()
    };
    anyhow::anyhow!(
        "refusing {doing}: {who} holds the data folder {} — stop the daemon first",
        data_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::acquire(dir.path(), "testing").unwrap();
        let err = DataLock::acquire(dir.path(), "testing").unwrap_err();
        let text = format!("{err}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        assert!(DataLock::try_acquire(dir.path()).unwrap().is_some());
    }
}
