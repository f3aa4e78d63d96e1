//! vcr-local's store under concurrent writers, and what it keeps on disk.

use crate::vcr_support;

use vcr_provider::local::LocalConfig;
use vcr_provider::vcr::{CreateRepository, CreateUser, Region};
use vcr_support::{client, server_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_with(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: Some(dir.path().to_path_buf()),
        ..LocalConfig::default()
    })
    .await;
    let c = client(&srv);
    // 60 creates at once, in both regions.
    let creates: Vec<_> = (0..60)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let region = if i % 2 == 0 { Region::Hcm } else { Region::Han };
                c.repositories(region)
                    .create(&CreateRepository {
                        name: format!("load-{i:03}"),
                        is_public: false,
                        quota_limit_gb: 1,
                    })
                    .await
                    .map(|r| (region, r.uuid))
            })
        })
        .collect();
    let mut made = Vec::new();
    for t in creates {
        made.push(t.await.unwrap().unwrap());
    }
    // Then every quota changed at once, each to its own value.
    let updates: Vec<_> = made
        .iter()
        .enumerate()
        .map(|(i, (region, id))| {
            let (c, region, id) = (c.clone(), *region, id.clone());
            tokio::spawn(async move { c.repositories(region).set_quota(&id, 2 + i as u64).await })
        })
        .collect();
    for t in updates {
        t.await.unwrap().unwrap();
    }
    for region in Region::ALL {
        let all = c.repositories(region).list_all(None, None).await.unwrap();
        assert_eq!(all.len(), 30, "{region}");
    }
    for (i, (region, id)) in made.iter().enumerate() {
        let repo = c.repositories(*region).get(id).await.unwrap();
        assert_eq!(
            repo.quota_limit,
            2 + i as u64,
            "update of {} lost",
            repo.name
        );
    }
}

#[tokio::test]
async fn secrets_are_kept_hashed_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_with(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: Some(dir.path().to_path_buf()),
        ..LocalConfig::default()
    })
    .await;
    let users = client(&srv);
    let users = users.users(Region::Hcm);
    let first = users
        .create(&CreateUser {
            name: "hashed-user".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = users
        .find_by_name("hashed-user")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let second = users.refresh_secret(&id).await.unwrap();
    let mut on_disk = String::new();
    for entry in walk(dir.path()) {
        on_disk.push_str(&String::from_utf8_lossy(&std::fs::read(entry).unwrap()));
    }
    assert!(on_disk.contains("hashed-user"), "the user is on disk");
    for secret in [first.expose(), second.expose()] {
        assert!(secret.len() >= 16);
        assert!(!on_disk.contains(secret), "a secret is stored in clear");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
