//! What can go wrong below the core: the data folder, the database, the disk.
//! The core turns it into its own error in one place.

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data folder or the database cannot be opened or set up; the message
    /// says which and why.
    #[error("{0}")]
    Open(String),
    /// A database statement failed.
    #[error(transparent)]
    Database(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
