//! vcr-local's domain: repositories, users, grants, images and blobs, with the
//! contract's rules, the registry's authentication of a repository user's login
//! (`authenticate() -> Principal`) and authorization (`authorize(principal,
//! repository, action)`). The management API's IAM bearer tokens are checked by the
//! API itself (`api::require_token`, with `jwt`), not here. The management
//! API and the registry are two thin adapters over this core; each maps
//! [`DomainError`] to its own wire shape. The core holds no persistence of its
//! own: records and blob contents are behind [`Store`], asked for by name.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::store::{DataDir, Store, Tx};

pub mod auth;
pub mod blobs;
pub mod error;
pub mod images;
pub mod manifests;
pub mod model;
pub mod region;
pub mod repos;
pub mod rules;
pub mod secrets;
pub mod uploads;
pub mod users;

#[cfg(test)]
mod unit_tests;

pub use error::{DomainError, DomainResult, LocalError, RegistryErrorKind};
pub use model::QuotaUnit;
pub use region::LocalRegion;

/// Entries of history kept per repository; older ones are dropped.
pub const HISTORY_CAP: i64 = 1000;

/// vcr-local's clock: the system's plus an offset (`/_local/clock`), so that
/// tests can expire users and tokens without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.offset()
    }

    /// Unix milliseconds: push and pull times, which retention rules order by (two
    /// pushes in one second must not tie).
    pub fn now_ms(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        sys + self.offset() * 1000
    }

    /// The offset in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Sets the offset in seconds.
    pub fn set_offset(&self, seconds: i64) {
        self.offset.store(seconds, Ordering::SeqCst);
    }
}

/// The domain core: records, blob contents, uploads in progress, the clock.
pub struct Core {
    store: Store,
    uploads: uploads::Uploads,
    account_id: u64,
    /// The key that signs every token (kept in the database so that tokens
    /// stay valid across a restart).
    signing_key: Vec<u8>,
    pub clock: Clock,
    data_dir: Option<DataDir>,
    /// What a GB of quota is.
    quota_unit: QuotaUnit,
}

impl Core {
    /// Opens the data folder (locking it), or starts empty in memory.
    pub fn open(data_dir: Option<&std::path::Path>, account_id: u64) -> Result<Core, LocalError> {
        let data = |e: super::store::StoreError| LocalError::Data(e.to_string());
        let dir = data_dir.map(DataDir::open).transpose().map_err(data)?;
        let store = Store::open(dir.as_ref().map(|d| d.path())).map_err(data)?;
        let signing_key = signing_key(&store)
            .map_err(|e| LocalError::Data(format!("cannot read the signing key: {e}")))?;
        Ok(Core {
            store,
            uploads: uploads::Uploads::default(),
            account_id,
            signing_key,
            clock: Clock::default(),
            data_dir: dir,
            quota_unit: QuotaUnit::GIB,
        })
    }

    /// The core with quotas counted in `unit` (vCR's GiB unless a test says otherwise).
    pub fn with_quota_unit(mut self, unit: QuotaUnit) -> Core {
        self.quota_unit = unit;
        self
    }

    /// The account id (prefix of every backend name).
    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    /// The key that signs tokens.
    pub fn signing_key(&self) -> &[u8] {
        &self.signing_key
    }

    /// The data folder, if any.
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// `{accountId}-{name}`.
    pub fn backend_name(&self, name: &str) -> String {
        format!("{}-{name}", self.account_id)
    }

    /// Forgets every repository, user, image and upload of both regions (the
    /// signing key stays).
    pub fn reset(&self) -> DomainResult<()> {
        self.uploads.clear();
        Ok(self.store.reset()?)
    }

    /// Appends to a repository's history, dropping the oldest entries past
    /// [`HISTORY_CAP`].
    fn log(&self, tx: &Tx<'_>, repo_uuid: &str, action: &str, detail: &str) -> DomainResult<()> {
        Ok(tx.add_history(repo_uuid, action, detail, self.clock.now(), HISTORY_CAP)?)
    }
}

/// The stored signing key, made on first use.
fn signing_key(store: &Store) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let stored = store
        .write(|tx| {
            if let Some(key) = tx.meta("signing_key")? {
                return Ok(key);
            }
            let key: [u8; 32] = rand::random();
            let key = b64.encode(key);
            tx.set_meta("signing_key", &key)?;
            Ok::<_, super::store::StoreError>(key)
        })
        .map_err(|e| e.to_string())?;
    b64.decode(stored)
        .map_err(|_| "the stored signing key is not base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any adapter (or a test calling the core) gets the refusals the
    /// management API gives: names, quotas, durations, descriptions.
    #[test]
    fn the_core_refuses_what_the_api_refuses() {
        let core = Core::open(None, 7).unwrap();
        let invalid = |r: DomainResult<()>| matches!(r, Err(DomainError::Invalid(_)));
        let repo = |name: &str, quota: u64| {
            core.create_repository(LocalRegion::Hcm, name, false, quota)
                .map(drop)
        };
        for (name, quota) in [
            ("Bad Name", 1),
            ("ab", 1),
            ("good-name", 0),
            ("good-name", 1 << 40),
        ] {
            assert!(invalid(repo(name, quota)), "{name} {quota}");
        }
        let made = core
            .create_repository(LocalRegion::Hcm, "good-name", false, 1)
            .unwrap();
        assert!(invalid(
            core.set_quota(LocalRegion::Hcm, &made.uuid, 0).map(drop)
        ));
        let user = |name: &str, days: Option<u64>, description: Option<String>| {
            let new = users::NewUser {
                name: name.into(),
                description,
                duration_days: days,
                grants: Vec::new(),
            };
            core.create_user(LocalRegion::Hcm, &new).map(drop)
        };
        assert!(invalid(user("x", None, None)));
        assert!(invalid(user("good-user", Some(0), None)));
        assert!(invalid(user("good-user", None, Some("d".repeat(256)))));
        let names: Vec<String> = core
            .list_repositories(LocalRegion::Hcm, None, None)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["good-name"], "nothing refused was kept");
    }

    #[test]
    fn history_is_capped() {
        let core = Core::open(None, 7).unwrap();
        let repo = core
            .create_repository(LocalRegion::Hcm, "capped", false, 1)
            .unwrap();
        for q in 0..(HISTORY_CAP as u64 + 50) {
            core.set_quota(LocalRegion::Hcm, &repo.uuid, 1 + q % 3)
                .unwrap();
        }
        let history = core.history(LocalRegion::Hcm, &repo.uuid).unwrap();
        assert_eq!(history.len() as i64, HISTORY_CAP);
        assert!(history[0].detail.contains("quota changed"), "newest first");
        assert!(
            history.iter().all(|h| h.action == "UPDATE_QUOTA"),
            "the oldest went first"
        );
    }
}
