//! The records (repositories, users, grants, history, images, manifests, tags,
//! which blobs each repository holds) in SQLite: one row changed per write
//! instead of a whole snapshot rewritten, transactions, and crash safety from
//! its write-ahead log. In memory with `--in-memory`, the same code either way.

use std::path::Path;

use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, OpenFlags};

use super::datadir;
use super::error::StoreError;

/// The database file's name in the data folder.
pub const DB_FILE: &str = "vcr-local.db";
/// The schema this build writes (`PRAGMA user_version`). Version 2: push times and
/// images' change times in milliseconds, and pull times per artifact and per tag (retention rules need both).
/// Version 3: each manifest's OCI 1.1 `subject`, `artifactType` and annotations, for
/// the referrers API.
const SCHEMA_VERSION: i64 = 3;

/// From schema 1 to 2: push and change times were whole seconds.
const UPGRADE_1_TO_2: &str = "
ALTER TABLE manifests ADD COLUMN pulled_at INTEGER;
UPDATE manifests SET pushed_at = pushed_at * 1000;
UPDATE images SET updated_at = updated_at * 1000;
ALTER TABLE tags ADD COLUMN pushed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tags ADD COLUMN pulled_at INTEGER;
UPDATE tags SET pushed_at = (SELECT m.pushed_at FROM manifests m WHERE m.repo_uuid = tags.repo_uuid
    AND m.image = tags.image AND m.digest = tags.digest);
";

/// From schema 2 to 3: manifests pushed before keep no subject (they were stored
/// without one), so they are nobody's referrers.
const UPGRADE_2_TO_3: &str = "
ALTER TABLE manifests ADD COLUMN subject TEXT;
ALTER TABLE manifests ADD COLUMN artifact_type TEXT;
ALTER TABLE manifests ADD COLUMN annotations TEXT;
CREATE INDEX manifests_subject ON manifests (repo_uuid, image, subject);
";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE repositories (
    uuid TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    public INTEGER NOT NULL,
    quota_gb INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (region, name)
);
CREATE TABLE users (
    uuid TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    disabled INTEGER NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    UNIQUE (region, name)
);
CREATE TABLE grants (
    user_uuid TEXT NOT NULL REFERENCES users (uuid) ON DELETE CASCADE,
    repo_uuid TEXT NOT NULL REFERENCES repositories (uuid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    policies TEXT NOT NULL,
    PRIMARY KEY (user_uuid, repo_uuid)
);
CREATE INDEX grants_repo ON grants (repo_uuid);
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_uuid TEXT NOT NULL REFERENCES repositories (uuid) ON DELETE CASCADE,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX history_repo ON history (repo_uuid, id);
CREATE TABLE repo_blobs (
    repo_uuid TEXT NOT NULL REFERENCES repositories (uuid) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repo_uuid, digest)
);
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE images (
    repo_uuid TEXT NOT NULL REFERENCES repositories (uuid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pull_count INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repo_uuid, name)
);
CREATE TABLE manifests (
    repo_uuid TEXT NOT NULL,
    image TEXT NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    artifact_size INTEGER NOT NULL,
    -- Unix milliseconds of the last push, and of the last pull (NULL: never pulled).
    pushed_at INTEGER NOT NULL,
    pulled_at INTEGER,
    -- OCI 1.1 (schema 3): the digest of the manifest's subject, its artifactType, its annotations (JSON).
    subject TEXT,
    artifact_type TEXT,
    annotations TEXT,
    PRIMARY KEY (repo_uuid, image, digest),
    FOREIGN KEY (repo_uuid, image) REFERENCES images (repo_uuid, name) ON DELETE CASCADE
);
CREATE INDEX manifests_subject ON manifests (repo_uuid, image, subject);
CREATE TABLE manifest_refs (
    repo_uuid TEXT NOT NULL,
    image TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    ref_digest TEXT NOT NULL,
    is_manifest INTEGER NOT NULL,
    PRIMARY KEY (repo_uuid, image, manifest_digest, ref_digest),
    FOREIGN KEY (repo_uuid, image, manifest_digest)
        REFERENCES manifests (repo_uuid, image, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_refs_ref ON manifest_refs (repo_uuid, ref_digest);
CREATE TABLE tags (
    repo_uuid TEXT NOT NULL,
    image TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    -- Unix milliseconds: when the tag was last pointed at its digest, last pulled.
    pushed_at INTEGER NOT NULL DEFAULT 0,
    pulled_at INTEGER,
    PRIMARY KEY (repo_uuid, image, tag),
    FOREIGN KEY (repo_uuid, image, digest)
        REFERENCES manifests (repo_uuid, image, digest) ON DELETE CASCADE
);
";

/// The database behind one lock: writes are serialised, and so are the file
/// operations done with them (linking and unlinking blobs).
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens `DIR/vcr-local.db` (created 0600 with the schema), or a fresh
    /// database in memory when `dir` is `None`.
    pub fn open(dir: Option<&Path>) -> Result<Db, StoreError> {
        let conn = match dir {
            None => Connection::open_in_memory(),
            Some(dir) => {
                let file = dir.join(DB_FILE);
                // Created here so that its mode is 0600; SQLite gives its
                // journal files the mode of the database file.
                datadir::private_file(&file).map_err(|e| {
                    StoreError::Open(format!("cannot create {}: {e}", file.display()))
                })?;
                Connection::open_with_flags(
                    &file,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
            }
        }
        .map_err(|e| StoreError::Open(format!("cannot open the database: {e}")))?;
        let setup = |conn: &Connection| -> rusqlite::Result<i64> {
            if dir.is_some() {
                conn.pragma_update(None, "journal_mode", "WAL")?;
                // Every acknowledged write is on disk, as before.
                conn.pragma_update(None, "synchronous", "FULL")?;
            }
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
        };
        let version = setup(&conn)
            .map_err(|e| StoreError::Open(format!("cannot set up the database: {e}")))?;
        match version {
            0 => {
                let create = format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                );
                conn.execute_batch(&create).map_err(|e| {
                    StoreError::Open(format!("cannot create the database schema: {e}"))
                })?;
            }
            old @ (1 | 2) => {
                let steps = if old == 1 {
                    format!("{UPGRADE_1_TO_2}{UPGRADE_2_TO_3}")
                } else {
                    UPGRADE_2_TO_3.to_string()
                };
                let upgrade =
                    format!("BEGIN; {steps} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;");
                conn.execute_batch(&upgrade).map_err(|e| {
                    StoreError::Open(format!("cannot upgrade the database from schema {old}: {e}"))
                })?;
            }
            SCHEMA_VERSION => {}
            newer => {
                return Err(StoreError::Open(format!(
                    "the database was written by a newer vcr-local (schema {newer}, this one knows {SCHEMA_VERSION})"
                )))
            }
        }
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// The connection, exclusively, for as long as the guard lives.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock()
    }
}

/// A value from `meta`, or `None`.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Sets a value in `meta`.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(drop)
}

/// Forgets every record but `meta` (the signing key stays).
pub fn clear(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM tags; DELETE FROM manifest_refs; DELETE FROM manifests;
         DELETE FROM images; DELETE FROM repo_blobs; DELETE FROM history;
         DELETE FROM grants; DELETE FROM users; DELETE FROM repositories;
         COMMIT;",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn schema_files_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(Some(dir.path())).unwrap();
        set_meta(&db.lock(), "k", "v").unwrap();
        drop(db);
        let db = Db::open(Some(dir.path())).unwrap();
        assert_eq!(meta(&db.lock(), "k").unwrap().as_deref(), Some("v"));
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?}", entry.path());
        }
        db.lock().pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        let err = Db::open(Some(dir.path())).err().unwrap();
        assert!(err.to_string().contains("newer vcr-local"), "{err}");
        assert!(Db::open(None).is_ok());
    }

    /// Whether a line of [`SCHEMA`] is what schema 3 added.
    fn is_schema_3(line: &str) -> bool {
        ["subject", "artifact_type TEXT", "annotations TEXT"]
            .iter()
            .any(|added| line.contains(added))
    }

    /// Writes an old schema (the lines of [`SCHEMA`] `keep` keeps) at `version`
    /// with `rows`, then opens it: the database, upgraded to the current schema.
    fn upgraded(dir: &Path, keep: impl Fn(&str) -> bool, version: i64, rows: &str) -> Db {
        let old: String = SCHEMA
            .lines()
            .filter(|l| keep(l))
            .collect::<Vec<_>>()
            .join("\n");
        {
            let conn = Connection::open(dir.join(DB_FILE)).unwrap();
            conn.execute_batch(&format!("{old} PRAGMA user_version = {version};"))
                .unwrap();
            conn.execute_batch(rows).unwrap();
        }
        let db = Db::open(Some(dir)).unwrap();
        let now: i64 = db
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(now, SCHEMA_VERSION);
        db
    }

    /// A schema-2 database opens as schema 3: its manifests have no subject, and
    /// a manifest pushed after the upgrade records one.
    #[test]
    fn schema_2_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let db = upgraded(
            dir.path(),
            |l| !is_schema_3(l),
            2,
            "INSERT INTO repositories VALUES ('repo-1', 'HCM', 'app', 0, 1, 0);
             INSERT INTO images (repo_uuid, name, updated_at) VALUES ('repo-1', 'web', 0);
             INSERT INTO manifests VALUES ('repo-1', 'web', 'sha256:a', 'x', 1, 1, 1700000000000, NULL);",
        );
        let conn = db.lock();
        let subject: Option<String> = conn
            .query_row("SELECT subject FROM manifests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(subject, None);
        conn.execute(
            "INSERT INTO manifests (repo_uuid, image, digest, media_type, size, artifact_size,
             pushed_at, subject, artifact_type) VALUES ('repo-1', 'web', 'sha256:b', 'x', 1, 1, 0,
             'sha256:a', 'application/example')",
            [],
        )
        .unwrap();
    }

    /// A schema-1 database (push times in seconds, no pull times) opens as the current schema
    /// with its push times in milliseconds and its tags dated by their manifest.
    #[test]
    fn schema_1_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let db = upgraded(
            dir.path(),
            |l| {
                !l.contains("pulled_at")
                    && !l.contains("-- ")
                    && !l.contains("pushed_at INTEGER NOT NULL DEFAULT 0")
                    && !is_schema_3(l)
            },
            1,
            "INSERT INTO repositories VALUES ('repo-1', 'HCM', 'app', 0, 1, 0);
             INSERT INTO images (repo_uuid, name, updated_at) VALUES ('repo-1', 'web', 0);
             INSERT INTO manifests VALUES ('repo-1', 'web', 'sha256:a', 'x', 1, 1, 1700000000);
             INSERT INTO tags VALUES ('repo-1', 'web', 'v1', 'sha256:a');",
        );
        let conn = db.lock();
        let (pushed, pulled): (i64, Option<i64>) = conn
            .query_row("SELECT pushed_at, pulled_at FROM manifests", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((pushed, pulled), (1_700_000_000_000, None));
        let tag_pushed: i64 = conn
            .query_row("SELECT pushed_at FROM tags", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tag_pushed, 1_700_000_000_000);
    }
}
