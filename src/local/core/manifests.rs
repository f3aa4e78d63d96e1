//! Manifests and tags: OCI image manifests and indexes, Docker schema 2
//! manifests and manifest lists. A manifest is stored as a blob of its
//! repository (it counts toward the quota) and may only name blobs the
//! repository holds and, for an index, manifests of the same image.

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::error::RegistryErrorKind;
use super::model::RepoRef;
use super::secrets::hex;
use super::{rules, Core, DomainError, DomainResult};
use crate::local::store::records::ManifestRow;
pub use crate::local::store::records::{ManifestMeta, Referrer};
use crate::local::store::Tx;

/// The largest manifest accepted (distribution's own limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const KNOWN: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// What a manifest names.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    media_type: String,
    /// Config and layers (image manifests).
    blobs: Vec<String>,
    /// Manifests (indexes and lists).
    children: Vec<String>,
    /// OCI 1.1: the manifest this one is about (a signature's image).
    subject: Option<String>,
    /// OCI 1.1: what kind of artifact it is (`artifactType`, else an image
    /// manifest's config media type).
    artifact_type: Option<String>,
    /// Its annotations, as JSON, for the referrers list.
    annotations: Option<String>,
}

/// What a manifest PUT stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub digest: String,
    /// The digest of its subject, when it has one (answered as `OCI-Subject`).
    pub subject: Option<String>,
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::registry(RegistryErrorKind::ManifestInvalid, message)
}

fn unknown(image: &str, reference: &str) -> DomainError {
    DomainError::registry(
        RegistryErrorKind::ManifestUnknown,
        format!(
            "no manifest {:?} in image {image:?}",
            rules::truncate(reference, 80)
        ),
    )
}

/// The digest of bytes, `sha256:…`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// Reads what a manifest names, and its media type: from `Content-Type`, else
/// from its `mediaType` field, else from its shape.
fn parse(content_type: Option<&str>, bytes: &[u8]) -> DomainResult<Parsed> {
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("the manifest is not JSON: {e}")))?;
    let header = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty());
    if header
        .as_deref()
        .is_some_and(|h| h.starts_with("application/vnd.docker.distribution.manifest.v1"))
    {
        return Err(invalid(
            "Docker image manifest schema 1 is not supported: push schema 2 or OCI",
        ));
    }
    if json.get("schemaVersion").and_then(|v| v.as_u64()) != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let field = json.get("mediaType").and_then(|v| v.as_str());
    let media_type = match (header.as_deref().filter(|h| KNOWN.contains(h)), field) {
        (Some(h), Some(f)) if f != h => {
            return Err(invalid(format!(
                "the manifest's mediaType {f:?} is not its Content-Type {h:?}"
            )))
        }
        (Some(h), _) => h.to_string(),
        (None, Some(f)) if KNOWN.contains(&f) => f.to_string(),
        (None, _) if json.get("manifests").is_some() => OCI_INDEX.to_string(),
        (None, _) if json.get("config").is_some() => OCI_MANIFEST.to_string(),
        _ => {
            return Err(invalid(
                "not an image manifest, image index or manifest list",
            ))
        }
    };
    let digests = |list: &str, skip_foreign: bool| -> DomainResult<Vec<String>> {
        let Some(items) = json.get(list) else {
            return Ok(Vec::new());
        };
        let items = items
            .as_array()
            .ok_or_else(|| invalid(format!("{list} must be an array")))?;
        let mut out = Vec::new();
        for (i, d) in items.iter().enumerate() {
            if skip_foreign && d.get("urls").is_some() {
                continue; // a non-distributable layer fetched from elsewhere
            }
            out.push(descriptor_digest(d, &format!("{list}[{i}]"))?);
        }
        Ok(out)
    };
    let mut parsed = Parsed {
        media_type,
        ..Parsed::default()
    };
    let text = |v: Option<&serde_json::Value>, at: &str| -> DomainResult<Option<String>> {
        match v {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("{at} must be a string"))),
        }
    };
    parsed.artifact_type = text(json.get("artifactType"), "artifactType")?;
    if parsed.media_type == OCI_INDEX || parsed.media_type == DOCKER_LIST {
        parsed.children = digests("manifests", false)?;
    } else {
        let config = json
            .get("config")
            .ok_or_else(|| invalid("an image manifest needs a config"))?;
        parsed.blobs.push(descriptor_digest(config, "config")?);
        parsed.blobs.extend(digests("layers", true)?);
        if parsed.artifact_type.is_none() {
            parsed.artifact_type = text(config.get("mediaType"), "config.mediaType")?;
        }
    }
    if let Some(subject) = json.get("subject") {
        parsed.subject = Some(descriptor_digest(subject, "subject")?);
    }
    parsed.annotations = match json.get("annotations") {
        None | Some(serde_json::Value::Null) => None,
        Some(a @ serde_json::Value::Object(_)) => Some(a.to_string()),
        Some(_) => return Err(invalid("annotations must be an object")),
    };
    Ok(parsed)
}

fn descriptor_digest(d: &serde_json::Value, at: &str) -> DomainResult<String> {
    let digest = d
        .get("digest")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid(format!("{at}.digest is required")))?;
    rules::digest(digest).map_err(|e| invalid(format!("{at}: {e}")))?;
    Ok(digest.to_string())
}

impl Core {
    /// Stores a manifest under a tag or its digest; answers its digest and
    /// subject. A subject need not exist (yet): OCI 1.1 lets a signature be
    /// pushed before, or without, what it signs.
    pub async fn put_manifest(
        &self,
        repo: &RepoRef,
        image: &str,
        reference: &str,
        content_type: Option<&str>,
        bytes: Bytes,
    ) -> DomainResult<Pushed> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(DomainError::registry(
                RegistryErrorKind::SizeInvalid,
                format!("a manifest may be at most {MAX_MANIFEST_BYTES} bytes"),
            ));
        }
        let digest = digest_of(&bytes);
        let tag = if reference.contains(':') {
            rules::digest(reference)?;
            if reference != digest {
                return Err(DomainError::registry(
                    RegistryErrorKind::DigestInvalid,
                    format!("the manifest's digest is {digest}, not {reference}"),
                ));
            }
            None
        } else {
            rules::tag(reference)?;
            Some(reference)
        };
        let parsed = parse(content_type, &bytes)?;
        let size = bytes.len() as u64;
        let mut sink = Some(self.small_blob_sink(bytes).await?);
        let out = self.store.write(|tx| {
            let artifact_size = self.check_references(tx, repo, image, &parsed)? + size;
            self.hold_blob(tx, repo, &digest, size)?;
            self.store
                .blobs()
                .commit(sink.take().expect("committed once"), &digest)?;
            self.record_manifest(tx, repo, image, &digest, &parsed, size, artifact_size)?;
            if let Some(tag) = tag {
                tx.set_tag(&repo.uuid, image, tag, &digest, self.clock.now_ms())?;
            }
            let what = format!(
                "{image}{}",
                tag.map(|t| format!(":{t}")).unwrap_or_default()
            );
            self.log(
                tx,
                &repo.uuid,
                "PUSH_ARTIFACT",
                &format!("{what} pushed ({digest})"),
            )?;
            Ok(Pushed {
                digest: digest.clone(),
                subject: parsed.subject.clone(),
            })
        });
        if let Some(unused) = sink {
            unused.discard();
        }
        out
    }

    /// Checks that every blob and child manifest named is in the repository
    /// (the image, for children); answers the bytes they add up to.
    fn check_references(
        &self,
        tx: &Tx<'_>,
        repo: &RepoRef,
        image: &str,
        parsed: &Parsed,
    ) -> DomainResult<u64> {
        let mut total = 0u64;
        let mut seen = std::collections::HashSet::new();
        for blob in &parsed.blobs {
            let size = tx.held_blob_size(&repo.uuid, blob)?.ok_or_else(|| {
                DomainError::registry(
                    RegistryErrorKind::ManifestBlobUnknown,
                    format!("the manifest names blob {blob}, which this repository does not hold: push it first"),
                )
            })?;
            if seen.insert(blob) {
                total += size;
            }
        }
        for child in &parsed.children {
            let size = tx.artifact_size(&repo.uuid, image, child)?.ok_or_else(|| {
                DomainError::registry(
                    RegistryErrorKind::ManifestBlobUnknown,
                    format!("the index names manifest {child}, which image {image:?} does not hold: push it first"),
                )
            })?;
            if seen.insert(child) {
                total += size;
            }
        }
        Ok(total)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_manifest(
        &self,
        tx: &Tx<'_>,
        repo: &RepoRef,
        image: &str,
        digest: &str,
        parsed: &Parsed,
        size: u64,
        artifact_size: u64,
    ) -> DomainResult<()> {
        let now_ms = self.clock.now_ms();
        tx.touch_image(&repo.uuid, image, now_ms)?;
        tx.upsert_manifest(&ManifestRow {
            repo_uuid: &repo.uuid,
            image,
            digest,
            media_type: &parsed.media_type,
            size,
            artifact_size,
            pushed_at: now_ms,
            subject: parsed.subject.as_deref(),
            artifact_type: parsed.artifact_type.as_deref(),
            annotations: parsed.annotations.as_deref(),
        })?;
        let refs = parsed
            .blobs
            .iter()
            .map(|d| (d, false))
            .chain(parsed.children.iter().map(|d| (d, true)));
        for (reference, is_manifest) in refs {
            tx.insert_reference(&repo.uuid, image, digest, reference, is_manifest)?;
        }
        Ok(())
    }

    /// A manifest by tag or digest. A reference that is neither a valid tag
    /// nor a digest names no manifest: `MANIFEST_UNKNOWN`, as the
    /// distribution spec has it for reads and deletes (a PUT refuses it).
    pub fn manifest(
        &self,
        repo: &RepoRef,
        image: &str,
        reference: &str,
    ) -> DomainResult<ManifestMeta> {
        let valid = if reference.contains(':') {
            rules::digest(reference).is_ok()
        } else {
            rules::tag(reference).is_ok()
        };
        if !valid {
            return Err(unknown(image, reference));
        }
        self.store
            .read(|r| r.manifest_by_reference(&repo.uuid, image, reference))?
            .ok_or_else(|| unknown(image, reference))
    }

    /// A manifest's bytes, counting a pull of its image and recording when the
    /// artifact (and the tag, when pulled by tag) was last pulled.
    pub async fn pull_manifest(
        &self,
        repo: &RepoRef,
        image: &str,
        reference: &str,
    ) -> DomainResult<(ManifestMeta, Bytes)> {
        let meta = self.manifest(repo, image, reference)?;
        let bytes = self
            .store
            .blobs()
            .read_small(&meta.digest, MAX_MANIFEST_BYTES)
            .await?
            .ok_or_else(|| unknown(image, reference))?;
        let now_ms = self.clock.now_ms();
        let by_tag = (!reference.contains(':')).then_some(reference);
        self.store
            .write(|tx| tx.record_pull(&repo.uuid, image, &meta.digest, by_tag, now_ms))?;
        Ok((meta, bytes))
    }

    /// Deletes a tag (by tag) or a manifest with its tags (by digest).
    pub fn delete_manifest(
        &self,
        repo: &RepoRef,
        image: &str,
        reference: &str,
    ) -> DomainResult<()> {
        self.manifest(repo, image, reference)?;
        self.store.write(|tx| {
            if reference.contains(':') {
                self.refuse_if_listed(tx, repo, image, reference)?;
                self.remove_manifests(tx, repo, image, &[reference.to_string()])?;
            } else {
                tx.delete_tag(&repo.uuid, image, reference)?;
            }
            self.log(
                tx,
                &repo.uuid,
                "DELETE_ARTIFACT",
                &format!("{image} {reference} deleted"),
            )
        })
    }

    /// Refuses to delete a manifest that an index of the image lists (the
    /// index would name a manifest that is gone), as Harbor refuses to delete
    /// an artifact other artifacts reference: the index goes first.
    pub(super) fn refuse_if_listed(
        &self,
        tx: &Tx<'_>,
        repo: &RepoRef,
        image: &str,
        digest: &str,
    ) -> DomainResult<()> {
        match tx.index_listing(&repo.uuid, image, digest)? {
            None => Ok(()),
            Some(index) => Err(DomainError::conflict(
                "ARTIFACT_IN_USE",
                format!(
                    "manifest {digest} is listed by index {index} of image {image:?}: delete the index first"
                ),
            )),
        }
    }

    /// Removes manifests (and their tags); the repository stops holding the
    /// blobs that nothing left in it names, and the image goes with its last
    /// manifest.
    pub(super) fn remove_manifests(
        &self,
        tx: &mut Tx<'_>,
        repo: &RepoRef,
        image: &str,
        digests: &[String],
    ) -> DomainResult<()> {
        let mut candidates: Vec<String> = Vec::new();
        for digest in digests {
            candidates.extend(tx.references_of(&repo.uuid, image, digest)?);
            candidates.push(digest.clone());
            tx.delete_manifest(&repo.uuid, image, digest)?;
        }
        candidates.sort();
        candidates.dedup();
        for digest in candidates {
            if !tx.digest_in_use(&repo.uuid, &digest)? {
                tx.release_repo_blob(&repo.uuid, &digest)?;
            }
        }
        tx.delete_image_if_empty(&repo.uuid, image)?;
        Ok(())
    }

    /// The manifests of an image whose subject is `subject`, oldest push
    /// first, of one artifact type when `artifact_type` is given. None is an
    /// empty list, whether or not the subject or the image exists.
    pub fn referrers(
        &self,
        repo: &RepoRef,
        image: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> DomainResult<Vec<Referrer>> {
        rules::digest(subject)?;
        Ok(self
            .store
            .read(|r| r.referrers(&repo.uuid, image, subject, artifact_type))?)
    }

    /// Tags of an image in order, at most `n` after `last`; and whether more follow.
    pub fn tags(
        &self,
        repo: &RepoRef,
        image: &str,
        n: Option<u64>,
        last: Option<&str>,
    ) -> DomainResult<(Vec<String>, bool)> {
        self.store.read(|r| {
            if !r.image_exists(&repo.uuid, image)? {
                return Err(DomainError::registry(
                    RegistryErrorKind::NameUnknown,
                    format!("no image {image:?} in repository {:?}", repo.backend_name),
                ));
            }
            // One more than asked, to tell whether more follow.
            let mut tags = r.tags(&repo.uuid, image, last, n.map(|n| n.saturating_add(1)))?;
            let more = n.is_some_and(|n| tags.len() as u64 > n);
            if more {
                tags.pop();
            }
            Ok((tags, more))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn manifests_are_read_by_type_and_shape() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}"}},"layers":[{{"digest":"{}"}},{{"digest":"{}","urls":["x"]}}]}}"#,
            d('a'),
            d('b'),
            d('c')
        );
        let p = parse(Some(DOCKER_MANIFEST), m.as_bytes()).unwrap();
        assert_eq!(p.media_type, DOCKER_MANIFEST);
        assert_eq!(p.blobs, vec![d('a'), d('b')]);
        assert_eq!(parse(None, m.as_bytes()).unwrap().media_type, OCI_MANIFEST);
        let i = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[{{"digest":"{}"}}]}}"#,
            d('e')
        );
        let p = parse(Some("application/json"), i.as_bytes()).unwrap();
        assert_eq!(
            (p.media_type.as_str(), p.children.clone()),
            (DOCKER_LIST, vec![d('e')])
        );
        assert!(
            parse(Some(OCI_INDEX), i.as_bytes()).is_err(),
            "type disagrees"
        );
        assert!(parse(None, b"{}").is_err());
        assert!(parse(None, b"not json").is_err());
        assert!(parse(
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            m.as_bytes()
        )
        .is_err());
        let bad = r#"{"schemaVersion":2,"config":{"digest":"sha256:nope"}}"#;
        assert!(parse(None, bad.as_bytes()).is_err());
    }
}
