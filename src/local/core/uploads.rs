//! Blob uploads in progress: their bytes so far (in a sink), the running
//! digest, and when they were last touched. Bounded in number; abandoned ones
//! are swept; one request at a time works on an upload. The bytes they hold
//! are counted per repository as they grow, so that uploads in progress
//! together never hold more than the repository's free quota.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};

use super::error::{DomainError, DomainResult, RegistryErrorKind};
use super::secrets::hex;
use super::LocalRegion;
use crate::local::store::UploadSink;

/// An upload untouched this long is abandoned and swept.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(15 * 60);
/// Uploads in progress at once, across both registries.
pub const MAX_UPLOADS: usize = 256;

/// An upload's state between requests.
pub struct Session {
    pub id: String,
    pub region: LocalRegion,
    pub repo_uuid: String,
    pub sink: UploadSink,
    hasher: Sha256,
    pub size: u64,
    touched: Instant,
}

impl Session {
    /// A new, empty upload.
    pub fn new(id: String, region: LocalRegion, repo_uuid: String, sink: UploadSink) -> Session {
        Session {
            id,
            region,
            repo_uuid,
            sink,
            hasher: Sha256::new(),
            size: 0,
            touched: Instant::now(),
        }
    }

    /// Counts and hashes bytes written to the sink.
    pub fn hash(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// The digest of everything written so far.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex(&self.hasher.clone().finalize()))
    }
}

enum Slot {
    Idle(Box<Session>),
    /// A request is working on it.
    Busy {
        region: LocalRegion,
        repo_uuid: String,
    },
}

/// The uploads in progress.
#[derive(Default)]
pub struct Uploads {
    slots: Mutex<HashMap<String, Slot>>,
    /// Bytes held by the uploads in progress of each repository (by uuid).
    held: Mutex<HashMap<String, u64>>,
}

fn unknown(id: &str) -> DomainError {
    DomainError::registry(
        RegistryErrorKind::BlobUploadUnknown,
        format!(
            "no upload {:?} in progress here (finished, cancelled, or abandoned for {} minutes)",
            super::rules::truncate(id, 64),
            UPLOAD_IDLE.as_secs() / 60
        ),
    )
}

impl Uploads {
    /// Registers a new upload, after sweeping abandoned ones; refuses past
    /// [`MAX_UPLOADS`].
    pub fn add(&self, session: Session) -> DomainResult<()> {
        self.sweep();
        let mut slots = self.slots.lock();
        if slots.len() >= MAX_UPLOADS {
            drop(slots);
            session.sink.discard();
            return Err(DomainError::TooMany(format!(
                "{MAX_UPLOADS} uploads are already in progress: finish or cancel some first"
            )));
        }
        slots.insert(session.id.clone(), Slot::Idle(Box::new(session)));
        Ok(())
    }

    /// Takes an upload of this repository for one request; it goes back with
    /// [`Lease::give_back`], or is thrown away if the request ends otherwise
    /// (a client that disconnected mid-chunk cannot resume it).
    pub fn lease(&self, id: &str, region: LocalRegion, repo_uuid: &str) -> DomainResult<Lease<'_>> {
        let mut slots = self.slots.lock();
        let slot = slots.get_mut(id).ok_or_else(|| unknown(id))?;
        let belongs = match &*slot {
            Slot::Idle(s) => s.region == region && s.repo_uuid == repo_uuid,
            Slot::Busy {
                region: r,
                repo_uuid: u,
            } => *r == region && u == repo_uuid,
        };
        if !belongs {
            return Err(unknown(id));
        }
        let busy = Slot::Busy {
            region,
            repo_uuid: repo_uuid.to_string(),
        };
        match std::mem::replace(slot, busy) {
            Slot::Idle(session) => Ok(Lease {
                uploads: self,
                session: Some(*session),
            }),
            previous @ Slot::Busy { .. } => {
                *slot = previous;
                Err(DomainError::registry(
                    RegistryErrorKind::BlobUploadInvalid,
                    "another request is writing to this upload",
                ))
            }
        }
    }

    /// Counts `adding` more bytes of an upload of the repository, unless the
    /// repository's uploads in progress would then hold more than `free`
    /// bytes: then answers how many they hold already.
    pub fn grow(&self, repo_uuid: &str, adding: u64, free: u64) -> Result<(), u64> {
        let mut held = self.held.lock();
        let total = held.entry(repo_uuid.to_string()).or_default();
        if total.saturating_add(adding) > free {
            return Err(*total);
        }
        *total += adding;
        Ok(())
    }

    /// Bytes the uploads in progress of a repository hold.
    pub fn held(&self, repo_uuid: &str) -> u64 {
        self.held.lock().get(repo_uuid).copied().unwrap_or(0)
    }

    /// Stops counting the bytes of an upload that ended.
    fn release(&self, session: &Session) {
        let mut held = self.held.lock();
        if let Some(total) = held.get_mut(&session.repo_uuid) {
            *total = total.saturating_sub(session.size);
            if *total == 0 {
                held.remove(&session.repo_uuid);
            }
        }
    }

    /// Ends an upload for good: its bytes stop counting and are thrown away.
    fn drop_session(&self, session: Session) {
        self.release(&session);
        session.sink.discard();
    }

    /// How many bytes an upload holds.
    pub fn size(&self, id: &str, region: LocalRegion, repo_uuid: &str) -> DomainResult<u64> {
        match self.slots.lock().get(id) {
            Some(Slot::Idle(s)) if s.region == region && s.repo_uuid == repo_uuid => Ok(s.size),
            _ => Err(unknown(id)),
        }
    }

    /// Drops uploads untouched for [`UPLOAD_IDLE`], and their bytes.
    pub fn sweep(&self) {
        let stale: Vec<Session> = {
            let mut slots = self.slots.lock();
            let ids: Vec<String> = slots
                .iter()
                .filter(|(_, s)| matches!(s, Slot::Idle(s) if s.touched.elapsed() > UPLOAD_IDLE))
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter()
                .filter_map(|id| match slots.remove(id) {
                    Some(Slot::Idle(s)) => Some(*s),
                    _ => None,
                })
                .collect()
        };
        for s in stale {
            tracing::info!(upload = %s.id, bytes = s.size, "sweeping an abandoned upload");
            self.drop_session(s);
        }
    }

    /// Forgets every upload.
    pub fn clear(&self) {
        let all: Vec<Slot> = self.slots.lock().drain().map(|(_, s)| s).collect();
        for slot in all {
            if let Slot::Idle(s) = slot {
                self.drop_session(*s);
            }
        }
    }

    /// Uploads in progress.
    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    /// Whether none is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An upload taken by one request.
pub struct Lease<'a> {
    uploads: &'a Uploads,
    session: Option<Session>,
}

impl Lease<'_> {
    /// The upload.
    pub fn session(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .expect("a lease holds its session until it ends")
    }

    /// Puts the upload back for the next request.
    pub fn give_back(mut self) {
        let mut session = self.session.take().expect("a lease holds its session");
        session.touched = Instant::now();
        self.uploads
            .slots
            .lock()
            .insert(session.id.clone(), Slot::Idle(Box::new(session)));
    }

    /// Ends the upload (finished or cancelled) and hands its session over;
    /// its bytes stop counting as an upload's (a finished blob counts as the
    /// repository's own).
    pub fn finish(mut self) -> Session {
        let session = self.session.take().expect("a lease holds its session");
        self.uploads.slots.lock().remove(&session.id);
        self.uploads.release(&session);
        session
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            tracing::info!(upload = %session.id, "an upload request ended early: the upload is dropped");
            self.uploads.slots.lock().remove(&session.id);
            self.uploads.drop_session(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, region: LocalRegion, repo: &str) -> Session {
        Session::new(
            id.into(),
            region,
            repo.into(),
            UploadSink::Memory(Vec::new()),
        )
    }

    fn kind(e: DomainError) -> RegistryErrorKind {
        match e {
            DomainError::Registry { kind, .. } => kind,
            other => panic!("not a registry error: {other:?}"),
        }
    }

    /// One request at a time works on an upload ("busy" for a second one);
    /// another region or repository does not see it; it comes back for the
    /// next request, and goes with a request that ends early.
    #[test]
    fn one_request_at_a_time() {
        let uploads = Uploads::default();
        uploads.add(session("u1", LocalRegion::Hcm, "r1")).unwrap();
        let lease = uploads.lease("u1", LocalRegion::Hcm, "r1").unwrap();
        let busy = uploads.lease("u1", LocalRegion::Hcm, "r1").err().unwrap();
        assert_eq!(kind(busy), RegistryErrorKind::BlobUploadInvalid);
        for (region, repo) in [(LocalRegion::Han, "r1"), (LocalRegion::Hcm, "r2")] {
            let other = uploads.lease("u1", region, repo).err().unwrap();
            assert_eq!(kind(other), RegistryErrorKind::BlobUploadUnknown);
        }
        lease.give_back();
        let lease = uploads.lease("u1", LocalRegion::Hcm, "r1").unwrap();
        drop(lease);
        assert!(
            uploads.is_empty(),
            "a request that ended early drops its upload"
        );
    }

    /// Bytes in progress count per repository as they arrive, up to the free
    /// space given, and stop counting when their upload ends however it ends.
    #[test]
    fn bytes_in_progress_are_counted_per_repository() {
        let uploads = Uploads::default();
        uploads.add(session("a", LocalRegion::Hcm, "r1")).unwrap();
        uploads.add(session("b", LocalRegion::Hcm, "r1")).unwrap();
        uploads.add(session("c", LocalRegion::Hcm, "r2")).unwrap();
        let mut a = uploads.lease("a", LocalRegion::Hcm, "r1").unwrap();
        uploads.grow("r1", 60, 100).unwrap();
        a.session().hash(&[0; 60]);
        a.give_back();
        let mut b = uploads.lease("b", LocalRegion::Hcm, "r1").unwrap();
        assert_eq!(uploads.grow("r1", 50, 100), Err(60), "a holds 60 of 100");
        uploads.grow("r1", 40, 100).unwrap();
        b.session().hash(&[0; 40]);
        let mut c = uploads.lease("c", LocalRegion::Hcm, "r2").unwrap();
        uploads.grow("r2", 100, 100).unwrap();
        c.session().hash(&[0; 100]);
        assert_eq!((uploads.held("r1"), uploads.held("r2")), (100, 100));
        b.finish();
        assert_eq!(uploads.held("r1"), 60, "a finished upload stops counting");
        drop(c);
        assert_eq!(uploads.held("r2"), 0, "so does one dropped");
        uploads.clear();
        assert_eq!(uploads.held("r1"), 0, "and one cleared");
    }
}
