//! Where vcr-local keeps things: the data folder (private, locked), the
//! records (SQLite) and the blob contents (content-addressed files), or all of
//! it in memory.

pub mod blobs;
pub mod datadir;
pub mod db;

pub use blobs::{BlobReader, BlobStore, UploadSink};
pub use datadir::DataDir;
pub use db::Db;
