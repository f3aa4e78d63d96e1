//! Where vcr-local keeps things: the data folder (private, locked), the
//! records (SQLite, in write-ahead-log mode) and the blob contents
//! (content-addressed files), or all of it in memory. [`Store`] is the one
//! door the core uses: reads and write transactions on typed records
//! ([`Records`], [`Tx`]), and the blob contents.

pub mod blobs;
pub mod datadir;
pub mod db;
pub mod error;
pub mod records;

use std::path::Path;

use rusqlite::TransactionBehavior;

pub use blobs::{BlobReader, BlobStore, UploadSink};
pub use datadir::DataDir;
pub use db::Db;
pub use error::{StoreError, StoreResult};
pub use records::{Records, Tx};

/// The records and the blob contents, behind one lock: writes are
/// serialised, and so are the file operations done with them (linking and
/// unlinking blobs), so that no upload can link a blob while a delete
/// removes it.
pub struct Store {
    db: Db,
    blobs: BlobStore,
}

impl Store {
    /// Opens the records and blobs in `dir` (which the caller has locked), or
    /// fresh ones in memory when `dir` is `None`; deletes blob contents that no
    /// repository holds (left by a crash between a commit and a file removal).
    pub fn open(dir: Option<&Path>) -> StoreResult<Store> {
        let db = Db::open(dir)?;
        let blobs = match dir {
            Some(p) => BlobStore::on_disk(p)
                .map_err(|e| StoreError::Open(format!("cannot use {}: {e}", p.display())))?,
            None => BlobStore::in_memory(),
        };
        let store = Store { db, blobs };
        store
            .remove_unheld_blobs()
            .map_err(|e| StoreError::Open(format!("cannot check the stored blobs: {e}")))?;
        Ok(store)
    }

    /// The blob contents (their files; which repository holds which is in the records).
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Reads the records under the lock.
    pub fn read<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Records<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        off_the_workers(|| f(&Records::new(&self.db.lock())))
    }

    /// Changes records in one transaction, committed when `f` succeeds and
    /// rolled back otherwise. Blobs the change released are then deleted once
    /// no repository holds them, still under the lock.
    pub fn write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        off_the_workers(|| {
            let mut conn = self.db.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let mut change = Tx::new(&tx);
            let out = f(&mut change)?;
            let released = std::mem::take(&mut change.released);
            drop(change);
            tx.commit().map_err(StoreError::from)?;
            let records = Records::new(&conn);
            for digest in released {
                if !records.blob_held_anywhere(&digest)? {
                    self.blobs.remove(&digest);
                }
            }
            Ok(out)
        })
    }

    /// Forgets every record but `meta` (the signing key stays) and every blob.
    pub fn reset(&self) -> StoreResult<()> {
        off_the_workers(|| {
            let conn = self.db.lock();
            db::clear(&conn)?;
            for digest in self.blobs.digests()? {
                self.blobs.remove(&digest);
            }
            Ok(())
        })
    }

    fn remove_unheld_blobs(&self) -> StoreResult<()> {
        let conn = self.db.lock();
        let records = Records::new(&conn);
        for digest in self.blobs.digests()? {
            if !records.blob_held_anywhere(&digest)? {
                tracing::info!(digest, "removing a blob no repository holds");
                self.blobs.remove(&digest);
            }
        }
        Ok(())
    }

    /// Takes the lock, says so on `held`, and keeps it until `release` says
    /// so (tests of what waits for the store).
    #[cfg(test)]
    pub fn hold_lock_until(
        &self,
        held: std::sync::mpsc::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
    ) {
        let _guard = self.db.lock();
        let _ = held.send(());
        let _ = release.recv();
    }
}

/// Runs blocking store work (the lock, SQLite's fsyncs, file renames) without
/// stalling the async workers: on a multi-threaded tokio runtime (vcr-local's)
/// the worker hands its other tasks to another thread for the duration
/// (`block_in_place`). A current-thread runtime (in-process tests) cannot hand
/// its tasks over, and outside a runtime there are none: there it runs as is.
fn off_the_workers<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
