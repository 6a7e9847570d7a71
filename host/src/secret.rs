//! The daemon's secret key: taken from the configuration, or generated on first start and kept in
//! the data folder (`secret.key`, mode 0600). Everything encrypted at rest derives its key from it,
//! so losing the file means losing those secrets — it belongs in every backup.

use crate::config::{Config, SecretKey};
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
        Err(e) => Err(e).with_context(|| format!("cannot read the secret key file {}", path.display())),
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
        Err(e) => Err(e).with_context(|| format!("cannot create the secret key file {}", path.display())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn config(dir: &Path) -> Config {
        Config::load_from(&Overrides { data_dir: Some(dir.to_owned()), ..Default::default() }, &[]).unwrap()
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
            let mode = std::fs::metadata(c.secret_key_path()).unwrap().permissions().mode();
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
