//! The client's images calls against vcr-local over TCP, on images really pushed
//! to its registry: a nested name (`web/frontend`) with two artifacts, more images
//! than one page holds, the `name` parameter always sent, and one call per page
//! counted by vcr-local.

use crate::vcr_support;

use reqwest::Method;
use vcr_provider::vcr::{CreateRepository, Region, VcrError};
use vcr_support::registry_support::{push_synthetic_image, PULL_POLICY, PUSH_POLICY};
use vcr_support::*;

/// Images pushed besides `web/frontend`: with it, one more than the client's walk
/// reads in a page (50).
const FILLERS: usize = 50;

#[tokio::test]
async fn images_and_artifacts_are_listed_page_by_page_with_nested_names() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    let repo = repos
        .create(&CreateRepository {
            name: "image-list".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();
    let (login, secret, _) = hcm
        .create_user("pusher01", &repo.uuid, &[PULL_POLICY, PUSH_POLICY])
        .await;
    let push = |image: String, tag: &'static str, size: u64| {
        let (registry, login, secret) = (hcm.registry.clone(), login.clone(), secret.clone());
        let name = format!("{}/{image}", repo.backend_name);
        async move {
            push_synthetic_image(&registry, &login, &secret, &name, tag, size)
                .await
                .unwrap_or_else(|e| panic!("push {name}:{tag}: {e:?}"))
        }
    };
    let v1 = push("web/frontend".into(), "v1", 1000).await;
    advance_clock(&srv, 60).await;
    let v2 = push("web/frontend".into(), "v2", 2000).await;
    assert_ne!(v1, v2);
    // The fillers at once: vcr-local serves concurrent pushes.
    futures_util::future::join_all((0..FILLERS).map(|i| push(format!("fill/img-{i:02}"), "1", 10)))
        .await;

    // Every image, across two pages: one call per page.
    reset_counts(&srv).await;
    let images = repos.list_images(&repo.uuid).await.unwrap();
    let images_path = format!("/hcm/v1/repository/{}/images", repo.uuid);
    assert_eq!(count(&srv, "GET", &images_path).await.0, 2);
    let mut expected: Vec<String> = (0..FILLERS).map(|i| format!("fill/img-{i:02}")).collect();
    expected.push("web/frontend".into());
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, expected);
    let web = images.iter().find(|i| i.name == "web/frontend").unwrap();
    assert_eq!(web.artifact_count, 2);
    assert!(!web.update_time.is_empty());

    // A filter with `/`: one page.
    reset_counts(&srv).await;
    let found = repos.search_images(&repo.uuid, Some("web/")).await.unwrap();
    assert_eq!(found, vec![web.clone()]);
    assert_eq!(count(&srv, "GET", &images_path).await.0, 1);

    // The artifacts of the nested name, newest first, and the detail.
    reset_counts(&srv).await;
    let artifacts = repos
        .list_artifacts(&repo.uuid, "web/frontend", None)
        .await
        .unwrap();
    let artifacts_path = format!("{images_path}/artifacts");
    assert_eq!(count(&srv, "GET", &artifacts_path).await.0, 1);
    let digests: Vec<&str> = artifacts.iter().map(|a| a.digest.as_str()).collect();
    assert_eq!(digests, [v2.as_str(), v1.as_str()]);
    assert_eq!(artifacts[0].tags, ["v2"]);
    assert_eq!(artifacts[1].tags, ["v1"]);
    assert!(artifacts[0].size > 2000 && artifacts[1].size > 1000);
    assert!(artifacts[0].push_time > artifacts[1].push_time);
    assert_eq!(
        artifacts[0].media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    let detail = repos.image(&repo.uuid, "web/frontend").await.unwrap();
    assert_eq!(&detail, web);

    // An image or repository that does not exist: 404.
    let err = repos
        .list_artifacts(&repo.uuid, "web/backend", None)
        .await
        .unwrap_err();
    assert!(matches!(err, VcrError::NotFound { .. }), "{err}");
    let err = repos.list_images("repo-missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// vcr-local answers an image list without `name` with 500, as vCR does: the
/// client's list works only because it always sends it.
#[tokio::test]
async fn the_image_list_always_sends_name() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let repos = client(&srv);
    let repos = repos.repositories(Region::Hcm);
    let repo = repos
        .create(&CreateRepository {
            name: "image-name".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();
    let path = format!("/v1/repository/{}/images", repo.uuid);
    let (status, body) = hcm.api(Method::GET, &path, None).await;
    assert_eq!(status, 500, "without name: {body}");
    let (status, _) = hcm.api(Method::GET, &format!("{path}?name="), None).await;
    assert_eq!(status, 200);
    assert!(repos.list_images(&repo.uuid).await.unwrap().is_empty());
    assert!(repos
        .search_images(&repo.uuid, None)
        .await
        .unwrap()
        .is_empty());
}

/// A repository's names (what `image_uri` is made of) never change: a client that
/// has seen the repository asks no more, lookups of one repository at the same
/// time make one read, and a deleted repository is forgotten.
#[tokio::test]
async fn repository_names_are_read_once_per_client() {
    let srv = server().await;
    let maker = client(&srv);
    let repo = maker
        .repositories(Region::Hcm)
        .create(&CreateRepository {
            name: "names-once".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();
    let path = format!("/hcm/v1/repository/{}", repo.uuid);

    // The client that created it knows its names.
    reset_counts(&srv).await;
    let names = maker
        .repositories(Region::Hcm)
        .names(&repo.uuid)
        .await
        .unwrap();
    assert_eq!(
        (names.name.as_str(), names.backend_name.as_str()),
        ("names-once", repo.backend_name.as_str())
    );
    assert_eq!(count(&srv, "GET", &path).await.0, 0);

    // A new client, eight lookups at once: one read.
    let fresh = client(&srv);
    let repos = fresh.repositories(Region::Hcm);
    let lookups = (0..8).map(|_| repos.names(&repo.uuid));
    for names in futures_util::future::join_all(lookups).await {
        assert_eq!(names.unwrap().backend_name, repo.backend_name);
    }
    assert_eq!(count(&srv, "GET", &path).await.0, 1);
    // The other region is another repository space.
    let elsewhere = fresh.repositories(Region::Han).names(&repo.uuid).await;
    assert!(elsewhere.unwrap_err().is_not_found());

    // Deleted: forgotten, so the next lookup asks vCR and hears it is gone.
    repos.delete(&repo.uuid).await.unwrap();
    assert!(repos.names(&repo.uuid).await.unwrap_err().is_not_found());
    assert_eq!(count(&srv, "GET", &path).await.0, 2);
}
