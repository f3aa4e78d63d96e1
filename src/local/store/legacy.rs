//! Reads the `state.json` of vcr-local before 0.2 (a JSON snapshot) into the
//! database once, so that a `--data` folder keeps its repositories, users,
//! grants and history across the upgrade. The old fake images are dropped:
//! images now come from real pushes. The file is then renamed
//! `state.json.imported`.

use std::path::Path;

use rusqlite::{params, Connection};
use serde::Deserialize;

use super::super::LocalError;

/// The old snapshot's file name.
pub const LEGACY_FILE: &str = "state.json";

#[derive(Deserialize)]
struct Snapshot {
    #[serde(default)]
    hcm: RegionData,
    #[serde(default)]
    han: RegionData,
}

#[derive(Deserialize, Default)]
struct RegionData {
    #[serde(default)]
    repos: Vec<Repo>,
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Deserialize)]
struct Repo {
    uuid: String,
    name: String,
    public: bool,
    quota_limit_gb: u64,
    created_at: i64,
    #[serde(default)]
    images: Vec<serde_json::Value>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize)]
struct History {
    action: String,
    detail: String,
    at: i64,
}

#[derive(Deserialize)]
struct User {
    uuid: String,
    name: String,
    description: Option<String>,
    disabled: bool,
    expires_at: Option<i64>,
    created_at: i64,
    salt: String,
    secret_hash: String,
    #[serde(default)]
    grants: Vec<Grant>,
}

#[derive(Deserialize)]
struct Grant {
    repo_id: String,
    policy_ids: Vec<String>,
}

/// Imports `DIR/state.json` if there is one and the database holds nothing
/// yet; answers how many repositories and users came over.
pub fn import(dir: &Path, conn: &mut Connection) -> Result<Option<(usize, usize)>, LocalError> {
    let file = dir.join(LEGACY_FILE);
    let Ok(bytes) = std::fs::read(&file) else {
        return Ok(None);
    };
    let fail = |why: String| LocalError::Data(format!("cannot import {}: {why}", file.display()));
    let snap: Snapshot = serde_json::from_slice(&bytes)
        .map_err(|e| fail(format!("it is not a vcr-local state file: {e}")))?;
    let tx = conn.transaction().map_err(|e| fail(e.to_string()))?;
    let empty: bool = tx
        .query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM repositories) AND NOT EXISTS (SELECT 1 FROM users)",
            [],
            |r| r.get(0),
        )
        .map_err(|e| fail(e.to_string()))?;
    if !empty {
        return Err(fail(
            "the database already holds records: move one of them away".into(),
        ));
    }
    let mut counts = (0, 0);
    let mut dropped_images = 0;
    for (code, data) in [("HCM", &snap.hcm), ("HAN", &snap.han)] {
        for r in &data.repos {
            tx.execute(
                "INSERT INTO repositories (uuid, region, name, public, quota_gb, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![r.uuid, code, r.name, r.public, r.quota_limit_gb, r.created_at],
            )
            .map_err(|e| fail(e.to_string()))?;
            for h in &r.history {
                tx.execute(
                    "INSERT INTO history (repo_uuid, action, detail, at) VALUES (?1, ?2, ?3, ?4)",
                    params![r.uuid, h.action, h.detail, h.at],
                )
                .map_err(|e| fail(e.to_string()))?;
            }
            dropped_images += r.images.len();
            counts.0 += 1;
        }
        for u in &data.users {
            tx.execute(
                "INSERT INTO users (uuid, region, name, description, disabled, expires_at, created_at, salt, secret_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![u.uuid, code, u.name, u.description, u.disabled, u.expires_at, u.created_at, u.salt, u.secret_hash],
            )
            .map_err(|e| fail(e.to_string()))?;
            for (position, g) in u.grants.iter().enumerate() {
                tx.execute(
                    "INSERT INTO grants (user_uuid, repo_uuid, position, policies) VALUES (?1, ?2, ?3, ?4)",
                    params![u.uuid, g.repo_id, position as i64 + 1, g.policy_ids.join(",")],
                )
                .map_err(|e| fail(e.to_string()))?;
            }
            counts.1 += 1;
        }
    }
    tx.commit().map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&file, dir.join(format!("{LEGACY_FILE}.imported")))
        .map_err(|e| fail(e.to_string()))?;
    tracing::warn!(
        repositories = counts.0,
        users = counts.1,
        fake_images_dropped = dropped_images,
        "imported the state of an older vcr-local (state.json, now state.json.imported); \
         its fake images are dropped: push real ones to the registry"
    );
    Ok(Some(counts))
}
