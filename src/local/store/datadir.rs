//! The data folder: private to its owner (0700, files 0600, since it holds the
//! token signing key), and used by one vcr-local at a time (a lock file).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::StoreError;

/// The lock file's name inside the data folder.
pub const LOCK_FILE: &str = "lock";

/// An opened data folder. Its lock is held until this is dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the folder (0700) if missing, tightens an existing one that
    /// others can read (with a warning), and takes its lock; fails when
    /// another vcr-local holds it.
    pub fn open(path: &Path) -> Result<DataDir, StoreError> {
        let fail = |what: &str, e: io::Error| {
            StoreError::Open(format!("cannot {what} {}: {e}", path.display()))
        };
        private_dir(path).map_err(|e| fail("create the data folder", e))?;
        let mode = fs::metadata(path)
            .map_err(|e| fail("read the data folder", e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(|e| fail("make private the data folder", e))?;
            tracing::warn!(
                folder = %path.display(),
                was = format!("{:o}", mode & 0o777),
                "the data folder was readable by others (it holds the token signing key): made it 0700"
            );
        }
        let lock_path = path.join(LOCK_FILE);
        let lock = private_file(&lock_path).map_err(|e| fail("create the lock file in", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Open(format!(
                    "another vcr-local is using the data folder {} (its lock file is held): \
                     stop it, or give this one another --data folder",
                    path.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => return Err(fail("lock the data folder", e)),
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates a folder (and its parents) with mode 0700 where missing.
pub fn private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Opens (creating with mode 0600 if missing) a file for writing.
pub fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .mode(0o600)
        .open(path)
}

/// Flushes a folder's entries (a rename into it) to disk, where the platform
/// allows opening a folder for that.
pub fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(path) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_locked() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let first = DataDir::open(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let lock_mode = fs::metadata(dir.join(LOCK_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(lock_mode & 0o777, 0o600);
        let second = DataDir::open(&dir).unwrap_err();
        assert!(second.to_string().contains("another vcr-local"), "{second}");
        drop(first);
        let open = root.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        let _again = DataDir::open(&open).unwrap();
        assert_eq!(
            fs::metadata(&open).unwrap().permissions().mode() & 0o777,
            0o700
        );
        drop(second);
        let _reopened = DataDir::open(&dir).unwrap();
    }
}
