//! vcr-local's state: both regions' repositories and users, kept in memory and,
//! with a data directory, written to disk before a write is acknowledged.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::LocalError;

/// The policies every region offers, with stable ids.
pub const POLICIES: [(&str, &str); 2] = [
    ("b7f3c2d0-5a1e-4c8b-9f2a-1d0e6c3b7a01", "Pull Images"),
    ("e4a9d1c6-2b7f-4e3a-8c5d-9f1b0a2e6d02", "Push Images"),
];

/// The name of the state file in the data directory.
pub const STATE_FILE: &str = "state.json";
const STATE_VERSION: u32 = 1;

/// Everything vcr-local remembers.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Snapshot {
    pub version: u32,
    /// The key that signs access tokens (base64), kept so that tokens stay
    /// valid across a restart.
    pub signing_key: String,
    pub hcm: RegionData,
    pub han: RegionData,
}

/// One region's data.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RegionData {
    pub repos: Vec<Repo>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repo {
    pub uuid: String,
    pub name: String,
    pub public: bool,
    pub quota_limit_gb: u64,
    pub created_at: i64,
    pub images: Vec<ImageRec>,
    /// Newest last.
    pub history: Vec<HistoryRec>,
}

impl Repo {
    /// Storage used, in MB.
    pub fn used_mb(&self) -> u64 {
        self.images.iter().map(|i| i.size_mb).sum()
    }

    pub fn log(&mut self, at: i64, action: &str, detail: impl Into<String>) {
        self.history.push(HistoryRec {
            action: action.to_string(),
            detail: detail.into(),
            at,
        });
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRec {
    pub name: String,
    pub tags: Vec<String>,
    pub size_mb: u64,
    pub pushed_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRec {
    pub action: String,
    pub detail: String,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub disabled: bool,
    /// Unix seconds; `None` for never.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// Hex salt and hex SHA-256 of salt followed by the secret.
    pub salt: String,
    pub secret_hash: String,
    pub grants: Vec<Grant>,
}

/// Policies granted to a user on a repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub repo_id: String,
    pub policy_ids: Vec<String>,
}

impl User {
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// The state behind a lock, and where it is saved.
pub struct Store {
    snap: Mutex<Snapshot>,
    file: Option<PathBuf>,
}

impl Store {
    /// Opens the state: loads `DIR/state.json` when a directory is given
    /// (creating the directory), or starts empty in memory.
    pub fn open(data_dir: Option<&Path>) -> Result<Store, LocalError> {
        let Some(dir) = data_dir else {
            return Ok(Store {
                snap: Mutex::new(Snapshot::fresh()),
                file: None,
            });
        };
        fs::create_dir_all(dir)
            .map_err(|e| LocalError::Data(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join(STATE_FILE);
        let snap = match fs::read(&file) {
            Ok(bytes) => {
                let mut s: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
                    LocalError::Data(format!(
                        "{} is not a vcr-local state file: {e}",
                        file.display()
                    ))
                })?;
                if s.version > STATE_VERSION {
                    return Err(LocalError::Data(format!(
                        "{} was written by a newer vcr-local (version {})",
                        file.display(),
                        s.version
                    )));
                }
                if s.signing_key.is_empty() {
                    s.signing_key = new_signing_key();
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = Snapshot::fresh();
                save(&file, &s).map_err(|e| {
                    LocalError::Data(format!("cannot write {}: {e}", file.display()))
                })?;
                s
            }
            Err(e) => {
                return Err(LocalError::Data(format!(
                    "cannot read {}: {e}",
                    file.display()
                )))
            }
        };
        Ok(Store {
            snap: Mutex::new(snap),
            file: Some(file),
        })
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.snap.lock())
    }

    /// Changes the state: `f` works on a copy, which replaces the state only
    /// if `f` succeeds and (with a data directory) the copy is safely on disk.
    /// Writes are serialised by the lock, so the file always holds the latest
    /// acknowledged state.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Snapshot) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut guard = self.snap.lock();
        let mut next = guard.clone();
        let out = f(&mut next)?;
        if let Some(file) = &self.file {
            save(file, &next).map_err(|e| {
                tracing::error!(file = %file.display(), error = %e, "cannot save the state");
                ApiError::internal(format!("vcr-local cannot save its state: {e}"))
            })?;
        }
        *guard = next;
        Ok(out)
    }

    /// The file the state is saved to, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl Snapshot {
    fn fresh() -> Snapshot {
        Snapshot {
            version: STATE_VERSION,
            signing_key: new_signing_key(),
            hcm: RegionData::default(),
            han: RegionData::default(),
        }
    }
}

fn new_signing_key() -> String {
    use base64::Engine as _;
    let key: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// Writes the snapshot atomically and durably: a temporary file in the same
/// directory, flushed to disk, renamed over the old one, then the directory
/// flushed so the rename itself survives a crash.
fn save(file: &Path, snap: &Snapshot) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(snap).map_err(std::io::Error::other)?;
    let tmp = file.with_extension("json.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, file)?;
    if let Some(dir) = file.parent() {
        // Directories cannot be opened for syncing on every platform.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// A new secret for a repository user: 40 random letters and digits.
pub fn new_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

/// `(salt, hash)` of a secret, both hex.
pub fn hash_secret(secret: &str) -> (String, String) {
    let salt: [u8; 16] = rand::random();
    let salt = hex(&salt);
    let hash = hash_with(&salt, secret);
    (salt, hash)
}

/// Whether `secret` is the one hashed as `hash` with `salt`.
pub fn secret_matches(salt: &str, hash: &str, secret: &str) -> bool {
    same_text(&hash_with(salt, secret), hash)
}

/// Whether two strings are equal, compared through their SHA-256 digests
/// without an early exit, so the time taken does not tell how much matched.
pub fn same_text(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn hash_with(salt: &str, secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(secret.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashed_and_checked() {
        let s = new_secret();
        assert_eq!(s.len(), 40);
        let (salt, hash) = hash_secret(&s);
        assert!(!hash.contains(&s));
        assert!(secret_matches(&salt, &hash, &s));
        assert!(!secret_matches(&salt, &hash, "wrong"));
        let (salt2, hash2) = hash_secret(&s);
        assert_ne!((salt, hash), (salt2, hash2));
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        store
            .write(|s| {
                s.han.repos.push(Repo {
                    uuid: "repo-1".into(),
                    name: "abcdef".into(),
                    public: false,
                    quota_limit_gb: 1,
                    created_at: 0,
                    images: vec![],
                    history: vec![],
                });
                Ok(())
            })
            .unwrap();
        let key = store.read(|s| s.signing_key.clone());
        let failed: Result<(), ApiError> = store.write(|s| {
            s.hcm.repos.clear();
            s.han.repos.clear();
            Err(ApiError::invalid("no"))
        });
        assert!(failed.is_err());
        drop(store);
        let again = Store::open(Some(dir.path())).unwrap();
        again.read(|s| {
            assert_eq!(s.han.repos.len(), 1);
            assert_eq!(s.signing_key, key);
        });
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        assert!(matches!(
            Store::open(Some(dir.path())),
            Err(LocalError::Data(_))
        ));
    }
}
