//! Blob contents, addressed by digest: files under `DIR/blobs/sha256/ab/abcd…`
//! written atomically (a private temporary file, flushed, renamed), or chunks in
//! memory with `--in-memory`. Uploads stream into a sink chunk by chunk, so no
//! layer is ever held whole in memory on disk-backed stores. Which repository
//! holds which blob is the database's business, not this module's.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::datadir;

/// Where blob contents live.
pub enum BlobStore {
    Disk { root: PathBuf },
    Memory(Mutex<HashMap<String, Arc<Vec<Bytes>>>>),
}

/// The bytes of an upload in progress.
pub enum UploadSink {
    File {
        path: PathBuf,
        file: tokio::io::BufWriter<tokio::fs::File>,
    },
    Memory(Vec<Bytes>),
}

/// A blob being read: its length and its bytes as a stream.
pub struct BlobReader {
    pub len: u64,
    pub body: BoxStream<'static, io::Result<Bytes>>,
}

const WRITE_BUFFER: usize = 1 << 20;
const READ_CHUNK: usize = 256 << 10;

impl BlobStore {
    /// Blobs under `DIR/blobs`, uploads under `DIR/uploads` (emptied: an
    /// upload does not survive a restart).
    pub fn on_disk(dir: &Path) -> io::Result<BlobStore> {
        datadir::private_dir(&dir.join("blobs/sha256"))?;
        let uploads = dir.join("uploads");
        if uploads.exists() {
            std::fs::remove_dir_all(&uploads)?;
        }
        datadir::private_dir(&uploads)?;
        Ok(BlobStore::Disk {
            root: dir.to_path_buf(),
        })
    }

    /// Blobs in memory.
    pub fn in_memory() -> BlobStore {
        BlobStore::Memory(Mutex::default())
    }

    fn blob_path(root: &Path, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        root.join("blobs/sha256")
            .join(&hex[..2.min(hex.len())])
            .join(hex)
    }

    /// A new, empty sink for the upload `id`.
    pub async fn sink(&self, id: &str) -> io::Result<UploadSink> {
        match self {
            BlobStore::Disk { root } => {
                let path = root.join("uploads").join(id);
                let file = tokio::fs::OpenOptions::new()
                    .create_new(true)
                    .write(true)
                    .mode(0o600)
                    .open(&path)
                    .await?;
                Ok(UploadSink::File {
                    path,
                    file: tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file),
                })
            }
            BlobStore::Memory(_) => Ok(UploadSink::Memory(Vec::new())),
        }
    }

    /// Makes a finished sink the blob `digest` (the caller has checked the
    /// digest). A blob already there is kept, and the sink dropped.
    pub fn commit(&self, sink: UploadSink, digest: &str) -> io::Result<()> {
        match (self, sink) {
            (BlobStore::Disk { root }, UploadSink::File { path, .. }) => {
                let dest = Self::blob_path(root, digest);
                if dest.exists() {
                    let _ = std::fs::remove_file(&path);
                    return Ok(());
                }
                let parent = dest.parent().expect("blob paths have a folder");
                datadir::private_dir(parent)?;
                std::fs::rename(&path, &dest)?;
                datadir::sync_dir(parent);
                Ok(())
            }
            (BlobStore::Memory(map), UploadSink::Memory(chunks)) => {
                map.lock()
                    .entry(digest.to_string())
                    .or_insert_with(|| Arc::new(chunks));
                Ok(())
            }
            _ => Err(io::Error::other("an upload sink of the wrong kind")),
        }
    }

    /// Opens a blob for reading; `None` when it is not stored.
    pub async fn open(&self, digest: &str) -> io::Result<Option<BlobReader>> {
        match self {
            BlobStore::Disk { root } => {
                let file = match tokio::fs::File::open(Self::blob_path(root, digest)).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let len = file.metadata().await?.len();
                let body = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed();
                Ok(Some(BlobReader { len, body }))
            }
            BlobStore::Memory(map) => {
                let Some(chunks) = map.lock().get(digest).cloned() else {
                    return Ok(None);
                };
                let len = chunks.iter().map(|c| c.len() as u64).sum();
                let body =
                    stream::iter((0..chunks.len()).map(move |i| Ok(chunks[i].clone()))).boxed();
                Ok(Some(BlobReader { len, body }))
            }
        }
    }

    /// Opens `count` bytes of a blob from byte `start` (a range the caller
    /// checked against its length); `None` when it is not stored.
    pub async fn open_part(
        &self,
        digest: &str,
        start: u64,
        count: u64,
    ) -> io::Result<Option<BlobReader>> {
        match self {
            BlobStore::Disk { root } => {
                let mut file = match tokio::fs::File::open(Self::blob_path(root, digest)).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                file.seek(io::SeekFrom::Start(start)).await?;
                let body =
                    tokio_util::io::ReaderStream::with_capacity(file.take(count), READ_CHUNK)
                        .boxed();
                Ok(Some(BlobReader { len: count, body }))
            }
            BlobStore::Memory(map) => {
                let Some(chunks) = map.lock().get(digest).cloned() else {
                    return Ok(None);
                };
                let end = start.saturating_add(count);
                let mut parts = Vec::new();
                let mut at = 0u64;
                for chunk in chunks.iter() {
                    let (from, to) = (at, at + chunk.len() as u64);
                    at = to;
                    if to <= start || from >= end {
                        continue;
                    }
                    let lo = start.max(from) - from;
                    let hi = end.min(to) - from;
                    parts.push(Ok(chunk.slice(lo as usize..hi as usize)));
                }
                Ok(Some(BlobReader {
                    len: count,
                    body: stream::iter(parts).boxed(),
                }))
            }
        }
    }

    /// Reads a small blob (a manifest) whole, refusing more than `max` bytes.
    pub async fn read_small(&self, digest: &str, max: u64) -> io::Result<Option<Bytes>> {
        let Some(mut reader) = self.open(digest).await? else {
            return Ok(None);
        };
        if reader.len > max {
            return Err(io::Error::other(format!(
                "blob {digest} is larger than {max} bytes"
            )));
        }
        let mut out = Vec::with_capacity(reader.len as usize);
        while let Some(chunk) = reader.body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(Some(Bytes::from(out)))
    }

    /// Forgets a blob (no repository holds it any more).
    pub fn remove(&self, digest: &str) {
        match self {
            BlobStore::Disk { root } => {
                let path = Self::blob_path(root, digest);
                if let Err(e) = std::fs::remove_file(&path) {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(digest, error = %e, "cannot remove a blob file");
                    }
                }
            }
            BlobStore::Memory(map) => {
                map.lock().remove(digest);
            }
        }
    }

    /// Every stored digest (to find blobs that no repository holds after a
    /// crash between the two steps of a deletion).
    pub fn digests(&self) -> io::Result<Vec<String>> {
        match self {
            BlobStore::Disk { root } => {
                let mut out = Vec::new();
                for prefix in std::fs::read_dir(root.join("blobs/sha256"))? {
                    let prefix = prefix?;
                    if !prefix.file_type()?.is_dir() {
                        continue;
                    }
                    for file in std::fs::read_dir(prefix.path())? {
                        if let Some(name) = file?.file_name().to_str() {
                            out.push(format!("sha256:{name}"));
                        }
                    }
                }
                Ok(out)
            }
            BlobStore::Memory(map) => Ok(map.lock().keys().cloned().collect()),
        }
    }
}

impl UploadSink {
    /// Appends bytes.
    pub async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        match self {
            UploadSink::File { file, .. } => file.write_all(&bytes).await,
            UploadSink::Memory(chunks) => {
                chunks.push(bytes);
                Ok(())
            }
        }
    }

    /// Flushes everything written to disk (before the blob is committed).
    pub async fn finish(&mut self) -> io::Result<()> {
        match self {
            UploadSink::File { file, .. } => {
                file.flush().await?;
                file.get_mut().sync_all().await
            }
            UploadSink::Memory(_) => Ok(()),
        }
    }

    /// Throws the upload away.
    pub fn discard(self) {
        if let UploadSink::File { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(store: &BlobStore) {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let mut sink = store.sink("u1").await.unwrap();
        sink.write(Bytes::from_static(b"hello ")).await.unwrap();
        sink.write(Bytes::from_static(b"world")).await.unwrap();
        sink.finish().await.unwrap();
        store.commit(sink, &digest).unwrap();
        let got = store.read_small(&digest, 100).await.unwrap().unwrap();
        assert_eq!(&got[..], b"hello world");
        for (start, count, expected) in [
            (0, 11, &b"hello world"[..]),
            (4, 4, b"o wo"),
            (6, 5, b"world"),
        ] {
            let mut part = store
                .open_part(&digest, start, count)
                .await
                .unwrap()
                .unwrap();
            let mut bytes = Vec::new();
            while let Some(chunk) = part.body.next().await {
                bytes.extend_from_slice(&chunk.unwrap());
            }
            assert_eq!((part.len, &bytes[..]), (count, expected));
        }
        assert!(store.read_small(&digest, 3).await.is_err());
        assert_eq!(store.digests().unwrap(), vec![digest.clone()]);
        store.remove(&digest);
        assert!(store.open(&digest).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn disk_and_memory() {
        round_trip(&BlobStore::in_memory()).await;
        let dir = tempfile::tempdir().unwrap();
        let disk = BlobStore::on_disk(dir.path()).unwrap();
        round_trip(&disk).await;
        let abandoned = disk.sink("u2").await.unwrap();
        drop(abandoned);
        assert!(dir.path().join("uploads/u2").exists());
        let _again = BlobStore::on_disk(dir.path()).unwrap();
        assert!(
            !dir.path().join("uploads/u2").exists(),
            "uploads are cleared at start"
        );
    }
}
