//! Running retention rules against vCR: reading a repository's artifacts the way
//! the rules see them (a page at a time, images read side by side), and deleting a
//! reviewed list of artifacts (side by side, re-checked first). Shared by
//! `vcr_retention_policy` and the `vcr_image_cleanup` action; neither reads nor
//! deletes artifacts any other way.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use time::OffsetDateTime;

use super::expiry::parse_api_time;
use crate::retention::{Candidate, Policy};
use crate::vcr::{Artifact, Repositories, VcrError};

/// Bytes as people read them in progress lines and warnings: `700 B`, `3.4 KiB`,
/// `12.5 MiB`, `1.20 GiB`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    const MIB: f64 = KIB * 1024.0;
    let b = bytes as f64;
    if b >= 1024.0 * MIB {
        format!("{:.2} GiB", b / (1024.0 * MIB))
    } else if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// An artifact as the rules see it, from what vCR lists.
pub fn candidate(image: &str, artifact: &Artifact) -> Candidate {
    let mut tags = artifact.tags.clone();
    tags.sort();
    tags.dedup();
    Candidate {
        image: image.to_string(),
        digest: artifact.digest.clone(),
        tags,
        size_bytes: artifact.size,
        pushed_at: parse_api_time(&artifact.push_time),
        pulled_at: Some(artifact.pull_time.as_str())
            .filter(|t| !t.is_empty())
            .and_then(parse_api_time),
    }
}

/// What a repository holds, as far as the rules look.
#[derive(Debug, Default)]
pub struct Holdings {
    /// Every artifact of every image the rules select.
    pub artifacts: Vec<Candidate>,
}

impl Holdings {
    /// The artifacts of one image.
    pub fn of_image<'a>(&'a self, image: &'a str) -> impl Iterator<Item = &'a Candidate> + 'a {
        self.artifacts.iter().filter(move |c| c.image == image)
    }
}

/// Reads the artifacts of the images of repository `id` that `selects` lets through
/// (every page of images, then every page of artifacts of each, `parallel` images at
/// a time). An image deleted while it is read holds nothing.
pub async fn read_holdings(
    repos: &Repositories<'_>,
    id: &str,
    selects: impl Fn(&str) -> bool,
    parallel: usize,
) -> Result<Holdings, VcrError> {
    let images: Vec<String> = repos
        .list_images(id)
        .await?
        .into_iter()
        .map(|i| i.name)
        .filter(|name| selects(name))
        .collect();
    read_images(repos, id, images, parallel).await
}

/// Reads the artifacts of the named images of repository `id`.
async fn read_images(
    repos: &Repositories<'_>,
    id: &str,
    images: Vec<String>,
    parallel: usize,
) -> Result<Holdings, VcrError> {
    let per_image: Vec<Vec<Candidate>> = stream::iter(images)
        .map(|image| async move {
            match repos.list_artifacts(id, &image, None).await {
                Ok(found) => Ok(found.iter().map(|a| candidate(&image, a)).collect()),
                // Deleted meanwhile: nothing to keep or delete there.
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    let mut artifacts: Vec<Candidate> = per_image.into_iter().flatten().collect();
    artifacts.sort_by(|a, b| (&a.image, &a.digest).cmp(&(&b.image, &b.digest)));
    Ok(Holdings { artifacts })
}

/// How rules are run: the rules, the time "within N days" counts back from, and how
/// many API calls may run at once.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub policy: &'a Policy,
    pub now: OffsetDateTime,
    pub parallel: usize,
}

/// What a policy would delete from repository `id` now.
pub async fn pending(
    repos: &Repositories<'_>,
    id: &str,
    judge: Judge<'_>,
) -> Result<Vec<Candidate>, VcrError> {
    let policy = judge.policy;
    let holdings = read_holdings(repos, id, |i| policy.selects_image(i), judge.parallel).await?;
    Ok(policy.deletions(&holdings.artifacts, judge.now))
}

/// An artifact of the reviewed list left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// The rules keep it now (pulled or tagged since the review, or others went).
    KeptNow(Candidate),
    /// It was gone before it was deleted here.
    AlreadyGone(Candidate),
}

/// The outcome of deleting a reviewed list.
#[derive(Debug, Default)]
pub struct Pruned {
    pub deleted: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
    /// Artifacts whose delete failed, with the error; the rest went on.
    pub failed: Vec<(Candidate, VcrError)>,
    /// Images deleted because they held nothing more.
    pub emptied_images: Vec<String>,
}

impl Pruned {
    pub fn freed_bytes(&self) -> u64 {
        self.deleted.iter().map(|c| c.size_bytes).sum()
    }
}

/// Deletes from repository `id` the artifacts of `reviewed` that `policy` still
/// deletes now, and nothing else: each image of the list is read again first, so an
/// artifact pushed since the review is never in the list, and one the rules now keep
/// is skipped. An image left with no artifact is deleted too. `progress(done, total,
/// freed_bytes)` is called as deletes complete; `stop()` is asked between deletes and,
/// when true, no new delete starts.
pub async fn prune(
    repos: &Repositories<'_>,
    id: &str,
    reviewed: &[Candidate],
    judge: Judge<'_>,
    progress: impl Fn(usize, usize, u64),
    stop: impl Fn() -> bool,
) -> Result<Pruned, VcrError> {
    let images: Vec<String> = reviewed
        .iter()
        .map(|c| c.image.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let Judge {
        policy,
        now,
        parallel,
    } = judge;
    let holdings = read_images(repos, id, images, parallel).await?;
    let still_deleted = policy.deletions(&holdings.artifacts, now);
    let still: HashSet<(&str, &str)> = still_deleted
        .iter()
        .map(|c| (c.image.as_str(), c.digest.as_str()))
        .collect();
    let present: HashSet<(&str, &str)> = holdings
        .artifacts
        .iter()
        .map(|c| (c.image.as_str(), c.digest.as_str()))
        .collect();
    let mut out = Pruned::default();
    let mut to_delete = Vec::new();
    for c in reviewed {
        let key = (c.image.as_str(), c.digest.as_str());
        if !present.contains(&key) {
            out.skipped.push(Skipped::AlreadyGone(c.clone()));
        } else if !still.contains(&key) {
            out.skipped.push(Skipped::KeptNow(c.clone()));
        } else {
            to_delete.push(c.clone());
        }
    }
    let deleted = delete_artifacts(repos, id, to_delete, parallel, progress, stop).await;
    out.deleted = deleted.deleted;
    out.skipped.extend(deleted.skipped);
    out.failed = deleted.failed;
    out.emptied_images = delete_emptied_images(repos, id, &holdings, &out.deleted).await?;
    Ok(out)
}

/// Deletes these artifacts of repository `id`, `parallel` at a time, with no re-check
/// (the caller decided just now). A 404 counts as done (someone deleted it meanwhile);
/// a failure is kept with its error and the rest go on. `progress(done, total,
/// freed_bytes)` after each; no new delete starts once `stop()` is true.
pub async fn delete_artifacts(
    repos: &Repositories<'_>,
    id: &str,
    list: Vec<Candidate>,
    parallel: usize,
    progress: impl Fn(usize, usize, u64),
    stop: impl Fn() -> bool,
) -> Pruned {
    let total = list.len();
    let mut out = Pruned::default();
    let mut freed = 0u64;
    let mut done = 0usize;
    let mut results = stream::iter(list)
        .take_while(|_| std::future::ready(!stop()))
        .map(|c| async move {
            let result = repos.delete_artifact(id, &c.image, &c.digest).await;
            (c, result)
        })
        .buffer_unordered(parallel.max(1));
    while let Some((c, result)) = results.next().await {
        done += 1;
        match result {
            Ok(()) => {
                freed += c.size_bytes;
                out.deleted.push(c);
            }
            Err(e) if e.is_not_found() => out.skipped.push(Skipped::AlreadyGone(c)),
            Err(e) => out.failed.push((c, e)),
        }
        progress(done, total, freed);
    }
    out
}

/// Deletes the images all of whose artifacts (as read before deleting) were deleted,
/// once vCR confirms they hold nothing (a push meanwhile keeps the image).
pub async fn delete_emptied_images(
    repos: &Repositories<'_>,
    id: &str,
    holdings: &Holdings,
    deleted: &[Candidate],
) -> Result<Vec<String>, VcrError> {
    let mut deleted_per_image: BTreeMap<&str, usize> = BTreeMap::new();
    for c in deleted {
        *deleted_per_image.entry(c.image.as_str()).or_default() += 1;
    }
    let held: HashMap<&str, usize> = holdings.artifacts.iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(c.image.as_str()).or_default() += 1;
        m
    });
    let mut emptied = Vec::new();
    for (image, n) in deleted_per_image {
        if held.get(image) != Some(&n) {
            continue;
        }
        match repos.list_artifacts(id, image, None).await {
            Ok(left) if !left.is_empty() => continue,
            Ok(_) => {}
            // The registry removed the image with its last artifact.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        }
        match repos.delete_image(id, image).await {
            Ok(()) => emptied.push(image.to_string()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(emptied)
}
