//! The vCR client against vcr-local, over TCP on 127.0.0.1: every call of the
//! contract, paging, regions, the token, retries and persistence.

use crate::vcr_support;

use std::time::{Duration, Instant};

use serde_json::json;
use vcr_provider::local::{LocalConfig, QuotaUnit};
use vcr_provider::vcr::{
    AccessLevel, AttachUser, CreateRepository, CreateUser, ListRepositories, Permission,
    PermissionRequest, PolicyKind, Region, Secret, UpdateUser, VcrError,
};
use vcr_support::*;

fn repo(name: &str, quota: u64) -> CreateRepository {
    CreateRepository {
        name: name.into(),
        is_public: false,
        quota_limit_gb: quota,
    }
}

#[tokio::test]
async fn repository_calls() {
    // Real images of 2 GB of quota in all, where a GB is a MiB.
    let srv = server_with(LocalConfig {
        quota_unit: QuotaUnit::new(1 << 20).unwrap(),
        ..LocalConfig::default()
    })
    .await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);

    let created = repos
        .create(&CreateRepository {
            name: "my-app".into(),
            is_public: true,
            quota_limit_gb: 2,
        })
        .await
        .unwrap();
    assert!(created.uuid.starts_with("repo-"));
    assert_eq!(created.name, "my-app");
    assert_eq!(created.backend_name, "100001-my-app");
    assert_eq!(created.access_level, AccessLevel::Public);
    assert_eq!(created.quota_limit, 2);
    assert_eq!(created.quota_used, 0.0);
    let registry = srv.registry(vcr_provider::local::LocalRegion::Hcm);
    assert_eq!(created.registry_url, format!("{registry}/100001-my-app"));
    assert!(!created.created_at.is_empty());
    let other = repos.create(&repo("other-app", 1)).await.unwrap();

    assert_eq!(repos.get(&created.uuid).await.unwrap(), created);

    let page = repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(page.total_item, 2);
    assert_eq!(page.page, 1);
    let only_public = repos
        .list_all(None, Some(AccessLevel::Public))
        .await
        .unwrap();
    assert_eq!(
        only_public
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["my-app"]
    );
    let by_name = repos.list_all(Some("other"), None).await.unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].uuid, other.uuid);

    // Quotas, images, and the rules tying them.
    let grown = repos.set_quota(&created.uuid, 5).await.unwrap();
    assert_eq!(grown.quota_limit, 5);
    push_image(&srv, "hcm", &created.uuid, "web", 1536).await;
    push_image(&srv, "hcm", "my-app", "worker", 512).await;
    let r = repos.get(&created.uuid).await.unwrap();
    assert_eq!(r.image_count, 2);
    // The layers' 2 MiB, and two configs and manifests of under a KiB each.
    assert!((2.0..2.002).contains(&r.quota_used), "{}", r.quota_used);
    let err = repos.set_quota(&created.uuid, 1).await.unwrap_err();
    assert!(matches!(err, VcrError::Invalid { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot be below what is used"),
        "{err}"
    );

    let images = repos.list_images(&created.uuid).await.unwrap();
    assert_eq!(
        images.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["web", "worker"]
    );
    // The artifacts of an image carry its tags and size (ImageDto does not).
    let artifacts = repos
        .list_artifacts(&created.uuid, "web", None)
        .await
        .unwrap();
    assert_eq!(artifacts[0].tags, ["latest"]);
    assert!(artifacts[0].size > 1536 << 10);

    let err = repos.delete(&created.uuid).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("delete its images first"), "{err}");

    repos.delete_image(&created.uuid, "web").await.unwrap();
    let err = repos.delete_image(&created.uuid, "web").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    repos.delete_image(&created.uuid, "worker").await.unwrap();
    assert_eq!(repos.get(&created.uuid).await.unwrap().image_count, 0);

    let history = repos.history(&created.uuid, 1, 50).await.unwrap();
    assert!(history.total_item >= 5, "{history:?}");
    assert!(history.items.iter().any(|h| h.action == "UPDATE_QUOTA"));
    assert!(!history.items[0].created_at.is_empty());

    let deleted = repos.delete(&created.uuid).await.unwrap();
    assert_eq!(deleted.uuid, created.uuid);
    let err = repos.get(&created.uuid).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(repos
        .delete(&created.uuid)
        .await
        .unwrap_err()
        .is_not_found());
    assert_eq!(repos.list_all(None, None).await.unwrap().len(), 1);
}

/// What vcr-local refuses at create, and the words of its refusal.
const REPOSITORY_RULES: &[(&str, u64, &str)] = &[
    ("short", 1, "6 to 20 characters"),
    ("UpperCase", 1, "6 to 20 characters"),
    ("-leading", 1, "6 to 20 characters"),
    ("has.dot", 1, "6 to 20 characters"),
    ("a-name-that-is-too-long", 1, "6 to 20 characters"),
    ("valid-name", 0, "at least 1"),
];

#[tokio::test]
async fn repository_rules_are_enforced_with_messages() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    for &(name, quota, says) in REPOSITORY_RULES {
        let err = repos.create(&repo(name, quota)).await.unwrap_err();
        assert!(matches!(err, VcrError::Invalid { .. }), "{name}: {err}");
        assert!(err.to_string().contains(says), "{name}: {err}");
    }
    repos.create(&repo("valid-name", 1)).await.unwrap();
    let err = repos.create(&repo("valid-name", 1)).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = repos
        .list(&ListRepositories {
            page: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, VcrError::Invalid { .. }), "{err}");
}

#[tokio::test]
async fn user_calls() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    let users = c.users(Region::Hcm);
    let app = repos.create(&repo("app-repo", 1)).await.unwrap();
    let lib = repos.create(&repo("lib-repo", 1)).await.unwrap();

    let policies = users.policies().await.unwrap();
    assert_eq!(policies.len(), 3, "Pull Images, Push Images and All");
    assert!(policies.iter().any(|p| p.kind() == Some(PolicyKind::Pull)));
    assert!(policies.iter().any(|p| p.kind() == Some(PolicyKind::Push)));
    let push_pull = Permission::PushPull.policy_ids(&policies).unwrap();
    let pull_only = Permission::PullOnly.policy_ids(&policies).unwrap();

    let secret = users
        .create(&CreateUser {
            name: "ci-user1".into(),
            duration_days: Some(30),
            description: Some("pushes from CI".into()),
            permissions: vec![PermissionRequest {
                repo_id: app.uuid.clone(),
                policy_ids: push_pull.clone(),
            }],
        })
        .await
        .unwrap();
    assert_eq!(format!("{secret:?}"), "***");
    assert_eq!(secret.expose().len(), 40);
    // A user whose name contains the first one's: find_by_name must be exact.
    users
        .create(&CreateUser {
            name: "ci-user10".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let u = users
        .find_by_name("ci-user1")
        .await
        .unwrap()
        .expect("found");
    assert!(u.uuid.starts_with("ra-"));
    assert_eq!(u.name, "ci-user1");
    assert_eq!(u.backend_name, "100001-ci-user1");
    assert_eq!(u.description.as_deref(), Some("pushes from CI"));
    assert!(!u.disable);
    assert!(u.expired_at.is_some());
    assert_eq!(u.user_id, 100001);
    assert_eq!(u.number_of_repo, 1);
    assert_eq!(u.repo_permission_list[0].repo_id, app.uuid);
    assert_eq!(u.repo_permission_list[0].repo_name, "app-repo");
    assert_eq!(
        u.repo_permission_list[0].backend_repo_name,
        "100001-app-repo"
    );
    assert_eq!(
        Permission::from_policies(&u.repo_permission_list[0].policy_dto_list),
        Some(Permission::PushPull)
    );
    assert!(users.find_by_name("ci-user").await.unwrap().is_none());
    let u10 = users.find_by_name("ci-user10").await.unwrap().unwrap();
    assert_eq!(u10.expired_at, None);
    assert_eq!(
        users.find_by_id(&u.uuid).await.unwrap().unwrap().name,
        "ci-user1"
    );
    assert!(users.find_by_id("ra-nope").await.unwrap().is_none());
    assert_eq!(
        users.list(Some("ci-user"), 1, 10).await.unwrap().total_item,
        2
    );
    assert_eq!(repos.get(&app.uuid).await.unwrap().attached_user, 1);

    // The secret logs in; a disabled user does not; enabled again it does.
    assert_eq!(
        login(&srv, "hcm", &u.backend_name, secret.expose()).await,
        200
    );
    assert_eq!(login(&srv, "hcm", &u.backend_name, "wrong").await, 401);
    users.disable(&u.uuid).await.unwrap();
    assert!(users.find_by_id(&u.uuid).await.unwrap().unwrap().disable);
    assert_eq!(
        login(&srv, "hcm", &u.backend_name, secret.expose()).await,
        401
    );
    users.enable(&u.uuid).await.unwrap();
    assert_eq!(
        login(&srv, "hcm", &u.backend_name, secret.expose()).await,
        200
    );

    // Rotation: the old secret stops working, the new one works.
    let fresh = users.refresh_secret(&u.uuid).await.unwrap();
    assert_ne!(fresh, secret);
    assert_eq!(
        login(&srv, "hcm", &u.backend_name, secret.expose()).await,
        401
    );
    assert_eq!(
        login(&srv, "hcm", &u.backend_name, fresh.expose()).await,
        200
    );

    // Update: description and duration (replaced: None means never).
    users
        .update(
            &u.uuid,
            &UpdateUser {
                duration_days: None,
                description: Some("changed".into()),
            },
        )
        .await
        .unwrap();
    let after = users.find_by_id(&u.uuid).await.unwrap().unwrap();
    assert_eq!(after.description.as_deref(), Some("changed"));
    assert_eq!(after.expired_at, None);

    // Permissions: move the user to pull-only on the other repository.
    users
        .set_permissions(
            &u.uuid,
            &[PermissionRequest {
                repo_id: lib.uuid.clone(),
                policy_ids: pull_only.clone(),
            }],
        )
        .await
        .unwrap();
    let after = users.find_by_id(&u.uuid).await.unwrap().unwrap();
    assert_eq!(after.repo_permission_list.len(), 1);
    assert_eq!(after.repo_permission_list[0].repo_id, lib.uuid);
    assert_eq!(
        Permission::from_policies(&after.repo_permission_list[0].policy_dto_list),
        Some(Permission::PullOnly)
    );
    assert!(repos.list_users(&app.uuid).await.unwrap().is_empty());
    assert_eq!(repos.list_users(&lib.uuid).await.unwrap()[0].uuid, u.uuid);

    // Attach and detach from the repository's side.
    repos
        .attach(
            &app.uuid,
            &[AttachUser {
                repo_user_id: u10.uuid.clone(),
                policy_ids: push_pull.clone(),
            }],
        )
        .await
        .unwrap();
    let attached = repos.list_users(&app.uuid).await.unwrap();
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].uuid, u10.uuid);
    repos
        .detach(&app.uuid, std::slice::from_ref(&u10.uuid))
        .await
        .unwrap();
    assert!(repos.list_users(&app.uuid).await.unwrap().is_empty());

    // Bad references are refused with a message.
    let refused: [(&str, Result<(), VcrError>, IsExpected); 3] = [
        (
            "a permission on a missing repository",
            users
                .set_permissions(
                    &u.uuid,
                    &[PermissionRequest {
                        repo_id: "repo-missing".into(),
                        policy_ids: pull_only.clone(),
                    }],
                )
                .await,
            |e| matches!(e, VcrError::Invalid { .. }),
        ),
        (
            "a taken name",
            users.create(&user_named("ci-user1")).await.map(drop),
            VcrError::is_conflict,
        ),
        (
            "a bad name",
            users.create(&user_named("bad name!")).await.map(drop),
            |e| e.to_string().contains("6 to 14 characters"),
        ),
    ];
    for (what, result, expected) in refused {
        let err = result.expect_err(what);
        assert!(expected(&err), "{what}: {err}");
    }

    users.delete(&u.uuid).await.unwrap();
    assert!(users.find_by_id(&u.uuid).await.unwrap().is_none());
    let after_delete = [
        ("delete", users.delete(&u.uuid).await.map(drop)),
        ("enable", users.enable(&u.uuid).await.map(drop)),
        ("refresh", users.refresh_secret(&u.uuid).await.map(drop)),
    ];
    for (call, result) in after_delete {
        assert!(
            result.unwrap_err().is_not_found(),
            "{call} of a deleted user"
        );
    }
}

/// Whether an error is the one a table row expects.
type IsExpected = fn(&VcrError) -> bool;

fn user_named(name: &str) -> CreateUser {
    CreateUser {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn expired_users_are_locked_until_extended() {
    let srv = server().await;
    let c = client(&srv);
    let users = c.users(Region::Han);
    let secret = users
        .create(&CreateUser {
            name: "short-lived".into(),
            duration_days: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let u = users.find_by_name("short-lived").await.unwrap().unwrap();
    assert_eq!(
        login(&srv, "han", &u.backend_name, secret.expose()).await,
        200
    );
    advance_clock(&srv, 2 * 86_400).await;
    assert_eq!(
        login(&srv, "han", &u.backend_name, secret.expose()).await,
        401
    );
    users
        .update(
            &u.uuid,
            &UpdateUser {
                duration_days: Some(7),
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        login(&srv, "han", &u.backend_name, secret.expose()).await,
        200
    );
}

#[tokio::test]
async fn paging_walks_past_one_page() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Han);
    // More than one page of the client's walk (50) and of vcr-local's cap (100).
    for i in 0..123 {
        repos
            .create(&repo(&format!("repo-{i:04}"), 1))
            .await
            .unwrap();
    }
    let p1 = repos
        .list(&ListRepositories {
            size: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (p1.items.len(), p1.page_size, p1.total_page, p1.total_item),
        (10, 10, 13, 123)
    );
    let p13 = repos
        .list(&ListRepositories {
            page: 13,
            size: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p13.items.len(), 3);
    assert_eq!(p13.items[2].name, "repo-0122");
    let past = repos
        .list(&ListRepositories {
            page: 14,
            size: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(past.items.is_empty());

    reset_counts(&srv).await;
    let all = repos.list_all(None, None).await.unwrap();
    assert_eq!(all.len(), 123);
    let names: std::collections::HashSet<_> = all.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names.len(), 123);
    assert_eq!(count(&srv, "GET", "/han/v1/repository").await.0, 3);

    for i in 0..55 {
        c.users(Region::Han)
            .create(&CreateUser {
                name: format!("user-{i:03}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(c.users(Region::Han).list_all(None).await.unwrap().len(), 55);
    assert!(c
        .users(Region::Han)
        .find_by_name("user-054")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn regions_hold_separate_data() {
    let srv = server().await;
    let c = client(&srv);
    let hcm = c.repositories(Region::Hcm);
    let han = c.repositories(Region::Han);
    let a = hcm.create(&repo("same-name", 1)).await.unwrap();
    let b = han.create(&repo("same-name", 1)).await.unwrap();
    assert_ne!(a.uuid, b.uuid);
    let registry = srv.registry(vcr_provider::local::LocalRegion::Han);
    assert_eq!(b.registry_url, format!("{registry}/100001-same-name"));
    assert!(han.get(&a.uuid).await.unwrap_err().is_not_found());
    assert!(hcm.get(&b.uuid).await.unwrap_err().is_not_found());
    hcm.create(&repo("hcm-only", 1)).await.unwrap();
    assert_eq!(hcm.list_all(None, None).await.unwrap().len(), 2);
    assert_eq!(han.list_all(None, None).await.unwrap().len(), 1);

    c.users(Region::Hcm)
        .create(&CreateUser {
            name: "hcm-user".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(c
        .users(Region::Han)
        .find_by_name("hcm-user")
        .await
        .unwrap()
        .is_none());
    // A HAN user cannot be granted a HCM repository.
    let err = c
        .users(Region::Han)
        .create(&CreateUser {
            name: "han-user".into(),
            permissions: vec![PermissionRequest {
                repo_id: a.uuid.clone(),
                policy_ids: Permission::PullOnly
                    .policy_ids(&c.users(Region::Han).policies().await.unwrap())
                    .unwrap(),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, VcrError::Invalid { .. }), "{err}");
}

const TOKEN: &str = "/iam/accounts-api/v2/auth/token";

#[tokio::test]
async fn one_token_is_shared_by_concurrent_calls() {
    let srv = server().await;
    let c = client(&srv);
    assert_eq!(c.account_id().await.unwrap(), Some(100001));
    let c2 = client(&srv);
    let calls = (0..16).map(|_| {
        let c2 = c2.clone();
        tokio::spawn(async move {
            c2.repositories(Region::Hcm)
                .list(&ListRepositories::default())
                .await
        })
    });
    for h in calls {
        h.await.unwrap().unwrap();
    }
    assert_eq!(
        count(&srv, "POST", TOKEN).await.0,
        2,
        "one token per client"
    );
}

#[tokio::test]
async fn token_is_renewed_before_it_expires() {
    // Two seconds: the first two calls must fit in the 1.8 s before renewal, which
    // a loaded two-core machine running the other tests beside this one did not
    // always give a one-second token.
    let srv = server_with(LocalConfig {
        token_ttl: Duration::from_secs(2),
        ..LocalConfig::default()
    })
    .await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    repos.list(&ListRepositories::default()).await.unwrap();
    repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 2);
    let (n, statuses) = count(&srv, "GET", "/hcm/v1/repository").await;
    assert_eq!(n, 3);
    assert_eq!(
        statuses,
        json!({"200": 3}),
        "renewed before, not after, a 401"
    );
}

#[tokio::test]
async fn token_is_renewed_once_on_401() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    repos.list(&ListRepositories::default()).await.unwrap();
    // The server's clock jumps past the token's expiry: the client still
    // believes its token good, gets a 401, fetches a new token and succeeds.
    advance_clock(&srv, 3 * 3600).await;
    repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 2);
    assert_eq!(
        count(&srv, "GET", "/hcm/v1/repository").await.1,
        json!({"200": 2, "401": 1})
    );

    // A 401 that persists is reported after one renewal, not looped on.
    fault(&srv, json!({"path": "/hcm/v1/repository", "status": 401})).await;
    reset_counts(&srv).await;
    let err = repos.list(&ListRepositories::default()).await.unwrap_err();
    assert!(matches!(err, VcrError::Unauthorized { .. }), "{err}");
    assert_eq!(count(&srv, "GET", "/hcm/v1/repository").await.0, 2);
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 1);
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let srv = server().await;
    let c = client_with(&srv, |cfg| {
        cfg.client_secret = Secret::new("not-the-secret")
    });
    let err = c
        .repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VcrError::Auth { status: 401, .. }), "{err}");
    assert!(!format!("{err:?}{err}").contains("not-the-secret"));
}

/// A call the retry table makes.
#[derive(Debug, Clone, Copy)]
enum Call {
    ListRepositories,
    CreateRepository(&'static str),
    CreateUser(&'static str),
    RefreshSecret,
}

impl Call {
    async fn run(self, c: &vcr_provider::vcr::Client, user_id: &str) -> Result<(), VcrError> {
        let (repos, users) = (c.repositories(Region::Hcm), c.users(Region::Hcm));
        match self {
            Call::ListRepositories => repos.list(&ListRepositories::default()).await.map(drop),
            Call::CreateRepository(name) => repos.create(&repo(name, 1)).await.map(drop),
            Call::CreateUser(name) => users.create(&user_named(name)).await.map(drop),
            Call::RefreshSecret => users.refresh_secret(user_id).await.map(drop),
        }
    }
}

/// What vcr-local counted for the call's path afterwards.
enum Counted {
    Tries(u64),
    Statuses(serde_json::Value),
}

/// One retry case: a fault on a path, a call, its outcome and the tries it took.
struct RetryCase {
    what: &'static str,
    fault: serde_json::Value,
    call: Call,
    ok: Option<IsExpected>,
    method: &'static str,
    path: &'static str,
    counted: Counted,
}

const REPOS: &str = "/hcm/v1/repository";
const USERS: &str = "/hcm/v1/user";
const REFRESH: &str = "/hcm/v1/user/{user}/refresh";

fn retry_cases() -> Vec<RetryCase> {
    use Call::*;
    use Counted::*;
    let fault = |method: &str, path: &str, extra: serde_json::Value| {
        let mut rule = json!({"method": method, "path": path});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        rule
    };
    let case = |what, fault, call, ok, method, path, counted| RetryCase {
        what,
        fault,
        call,
        ok,
        method,
        path,
        counted,
    };
    vec![
        case(
            "a 503 twice on a GET is retried",
            fault("GET", REPOS, json!({"status": 503, "times": 2})),
            ListRepositories,
            None,
            "GET",
            REPOS,
            Statuses(json!({"503": 2, "200": 1})),
        ),
        case(
            "a lasting 502 ends after max_retries (3): four tries",
            fault("GET", REPOS, json!({"status": 502})),
            ListRepositories,
            Some(|e| matches!(e, VcrError::Server { status: 502, .. })),
            "GET",
            REPOS,
            Tries(4),
        ),
        case(
            "a 500 is not retried, even on an idempotent call",
            fault("GET", REPOS, json!({"status": 500, "times": 1})),
            ListRepositories,
            Some(|e| matches!(e, VcrError::Server { status: 500, .. })),
            "GET",
            REPOS,
            Tries(1),
        ),
        case(
            "a dropped answer to an idempotent call is resent",
            fault("GET", REPOS, json!({"dropAfter": true, "times": 1})),
            ListRepositories,
            None,
            "GET",
            REPOS,
            Statuses(json!({"dropped": 1, "200": 1})),
        ),
        case(
            "a create answered 500 is not resent",
            fault("POST", REPOS, json!({"status": 500, "times": 1})),
            CreateRepository("first-try"),
            Some(|e| matches!(e, VcrError::Server { status: 500, .. })),
            "POST",
            REPOS,
            Tries(1),
        ),
        case(
            "a create answered 503 is not resent (a gateway may answer after the create)",
            fault("POST", REPOS, json!({"status": 503, "times": 1})),
            CreateRepository("first-try"),
            Some(|e| matches!(e, VcrError::Server { status: 503, .. })),
            "POST",
            REPOS,
            Tries(1),
        ),
        case(
            "a create whose answer is lost is not resent: a transport error, maybe sent",
            fault("POST", REPOS, json!({"dropAfter": true, "times": 1})),
            CreateRepository("first-try"),
            Some(|e| {
                matches!(
                    e,
                    VcrError::Transport {
                        not_sent: false,
                        ..
                    }
                )
            }),
            "POST",
            REPOS,
            Tries(1),
        ),
        case(
            "refreshing a secret is a GET that changes state: not resent",
            fault("GET", REFRESH, json!({"status": 503, "times": 1})),
            RefreshSecret,
            Some(|_| true),
            "GET",
            REFRESH,
            Tries(1),
        ),
        case(
            "a 429 is a refusal: nothing was created, so even a create is sent again",
            fault("POST", USERS, json!({"status": 429, "times": 1})),
            CreateUser("second-one"),
            None,
            "POST",
            USERS,
            Statuses(json!({"429": 1, "200": 1})),
        ),
    ]
}

#[tokio::test]
async fn retries_follow_idempotency() {
    let srv = server().await;
    let c = client(&srv);
    let users = c.users(Region::Hcm);
    users.create(&user_named("rotating")).await.unwrap();
    let user = users.find_by_name("rotating").await.unwrap().unwrap().uuid;
    for case in retry_cases() {
        clear_faults(&srv).await;
        reset_counts(&srv).await;
        let with_user = |text: &str| text.replace("{user}", &user);
        let mut rule = case.fault.clone();
        rule["path"] = json!(with_user(rule["path"].as_str().unwrap()));
        fault(&srv, rule).await;
        let result = case.call.run(&c, &user).await;
        match (case.ok, result) {
            (None, Ok(())) => {}
            (Some(expected), Err(e)) => assert!(expected(&e), "{}: {e:?}", case.what),
            (_, other) => panic!("{}: {other:?}", case.what),
        }
        let (tries, statuses) = count(&srv, case.method, &with_user(case.path)).await;
        match case.counted {
            Counted::Tries(n) => assert_eq!(tries, n, "{}", case.what),
            Counted::Statuses(s) => assert_eq!(statuses, s, "{}", case.what),
        }
    }
    // The lost create made its repository, once; the throttled one made its user.
    let repos = c.repositories(Region::Hcm);
    assert_eq!(
        repos.list_all(Some("first-try"), None).await.unwrap().len(),
        1
    );
    assert_eq!(users.list_all(Some("second-one")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let srv = server().await;
    let c = client(&srv);
    fault(
        &srv,
        json!({"method": "GET", "path": REPOS, "status": 429, "retryAfter": 1, "times": 1}),
    )
    .await;
    let started = Instant::now();
    c.repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(
        count(&srv, "GET", REPOS).await.1,
        json!({"429": 1, "200": 1})
    );
}

#[tokio::test]
async fn a_create_that_never_reached_the_server_is_resent() {
    // vcr-local goes away after the client got its token, and comes back on
    // the same port (and data, so the token stays valid) a moment later: the
    // create's first attempts are refused at connect, so it is resent.
    let dir = tempfile::tempdir().unwrap();
    let cfg = LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: Some(dir.path().to_path_buf()),
        ..LocalConfig::default()
    };
    let srv = vcr_provider::local::start(cfg.clone()).await.unwrap();
    let addr = srv.addr();
    let c = client_with(&srv, |cfg| {
        cfg.max_retries = 8;
        cfg.retry_base_delay = Duration::from_millis(50);
        cfg.retry_max_delay = Duration::from_millis(200);
    });
    assert_eq!(c.account_id().await.unwrap(), Some(100001));
    srv.shutdown().await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        vcr_provider::local::start(LocalConfig {
            listen: addr,
            ..cfg
        })
        .await
        .unwrap()
    });
    let created = c
        .repositories(Region::Hcm)
        .create(&repo("late-server", 1))
        .await;
    let srv = later.await.unwrap();
    assert_eq!(created.unwrap().name, "late-server");
    assert_eq!(count(&srv, "POST", "/hcm/v1/repository").await.0, 1);
    assert_eq!(
        count(&srv, "POST", TOKEN).await.0,
        0,
        "the token survived the restart"
    );

    // With nobody listening at all, the error says the request never left.
    let c2 = vcr_provider::vcr::Client::new(vcr_provider::vcr::ClientConfig {
        client_id: "x".into(),
        client_secret: Secret::new("y"),
        token_url: Some(format!("http://127.0.0.1:{}/token", free_port())),
        max_retries: 1,
        retry_base_delay: Duration::from_millis(1),
        ..Default::default()
    })
    .unwrap();
    let err = c2.repositories(Region::Hcm).get("x").await.unwrap_err();
    assert!(
        matches!(err, VcrError::Transport { not_sent: true, .. }),
        "{err:?}"
    );
    // The cause is kept as it came, not flattened to text.
    let cause = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<reqwest::Error>());
    assert!(cause.is_some_and(reqwest::Error::is_connect), "{err:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn state_survives_a_restart_with_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LocalConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..LocalConfig::default()
    };
    let srv = server_with(cfg.clone()).await;
    let c = client(&srv);
    let r = c
        .repositories(Region::Han)
        .create(&repo("kept-repo", 3))
        .await
        .unwrap();
    push_image(&srv, "han", &r.uuid, "img", 10 << 10).await;
    let secret = c
        .users(Region::Han)
        .create(&CreateUser {
            name: "kept-user".into(),
            duration_days: Some(10),
            permissions: vec![PermissionRequest {
                repo_id: r.uuid.clone(),
                policy_ids: Permission::PushPull
                    .policy_ids(&c.users(Region::Han).policies().await.unwrap())
                    .unwrap(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let u = c
        .users(Region::Han)
        .find_by_name("kept-user")
        .await
        .unwrap()
        .unwrap();
    srv.shutdown().await;

    let srv = server_with(cfg).await;
    let c = client(&srv);
    let again = c.repositories(Region::Han).get(&r.uuid).await.unwrap();
    assert_eq!(again.name, "kept-repo");
    assert_eq!(again.image_count, 1);
    assert_eq!(again.attached_user, 1);
    let u2 = c
        .users(Region::Han)
        .find_by_id(&u.uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u2, u);
    assert_eq!(
        login(&srv, "han", &u.backend_name, secret.expose()).await,
        200
    );
    assert!(c
        .repositories(Region::Hcm)
        .list_all(None, None)
        .await
        .unwrap()
        .is_empty());
    let mut stored = Vec::new();
    for name in ["vcr-local.db", "vcr-local.db-wal"] {
        stored.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
    }
    assert!(stored.len() > 4096, "the database is on disk");
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("kept-user"), "users are on disk");
    assert!(
        !stored.contains(secret.expose()),
        "secrets are stored hashed"
    );
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let srv = server().await;
    let c = client_with(&srv, |cfg| {
        cfg.client_secret = Secret::new(vcr_provider::local::DEFAULT_CLIENT_SECRET)
    });
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains(vcr_provider::local::DEFAULT_CLIENT_SECRET),
        "{dbg}"
    );
    let secret = c
        .users(Region::Hcm)
        .create(&CreateUser {
            name: "secretive".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(format!("{secret:?} {secret}"), "*** ***");
    let u = c
        .users(Region::Hcm)
        .find_by_name("secretive")
        .await
        .unwrap()
        .unwrap();
    let fresh = c.users(Region::Hcm).refresh_secret(&u.uuid).await.unwrap();
    assert_eq!(format!("{:?}", Some(&fresh)), "Some(***)");
    // An error answer after a secret was issued never carries it.
    let err = c
        .users(Region::Hcm)
        .create(&CreateUser {
            name: "secretive".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let text = format!("{err:?} {err}");
    assert!(!text.contains(fresh.expose()) && !text.contains(secret.expose()));
}

#[tokio::test]
async fn answers_of_other_shapes_are_tolerated() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);

    // A 202 with no body: the new repository is found by its name.
    fault(
        &srv,
        json!({"method": "POST", "path": "/hcm/v1/repository", "replaceBody": "", "times": 1}),
    )
    .await;
    let r = repos.create(&repo("bodyless", 4)).await.unwrap();
    assert_eq!((r.name.as_str(), r.quota_limit), ("bodyless", 4));
    assert!(r.uuid.starts_with("repo-"));

    // A quota answer without the repository: read again.
    let quota_path = format!("/hcm/v1/repository/{}/quotas", r.uuid);
    fault(
        &srv,
        json!({"path": quota_path, "replaceBody": "{}", "times": 1}),
    )
    .await;
    assert_eq!(repos.set_quota(&r.uuid, 6).await.unwrap().quota_limit, 6);

    // Paging under `data`, numbers as strings and floats.
    fault(
        &srv,
        json!({"method": "GET", "path": "/hcm/v1/repository", "times": 1, "replaceBody":
            r#"{"data":[{"uuid":"repo-x","name":"from-data","quotaUsed":"1.5","quotaLimit":2.0,"accessLevel":"public"}],"page":1,"totalPage":1,"totalItem":1}"#}),
    )
    .await;
    let page = repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, "from-data");
    assert_eq!(
        (page.items[0].quota_used, page.items[0].quota_limit),
        (1.5, 2)
    );
    assert_eq!(page.items[0].access_level, AccessLevel::Public);

    // A delete answered with no body still succeeds.
    let path = format!("/hcm/v1/repository/{}", r.uuid);
    fault(
        &srv,
        json!({"method": "DELETE", "path": path, "replaceBody": "", "times": 1}),
    )
    .await;
    assert_eq!(repos.delete(&r.uuid).await.unwrap().uuid, r.uuid);
    assert!(repos.get(&r.uuid).await.unwrap_err().is_not_found());

    // An error answer carries the server's message.
    fault(
        &srv,
        json!({"method": "GET", "path": "/hcm/v1/user", "status": 404, "times": 1, "message": "gone"}),
    )
    .await;
    let err = c.users(Region::Hcm).list(None, 1, 10).await.unwrap_err();
    assert!(
        err.is_not_found() && err.to_string().contains("gone"),
        "{err}"
    );
    // A secret answered as a bare string rather than {"secretKey"}.
    fault(
        &srv,
        json!({"method": "POST", "path": "/hcm/v1/user", "times": 1, "replaceBody": "\"bare-secret\""}),
    )
    .await;
    let s = c
        .users(Region::Hcm)
        .create(&CreateUser {
            name: "bare-one".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(s.expose(), "bare-secret");
}

#[tokio::test]
async fn authenticate_fetches_the_token_later_calls_reuse() {
    let srv = server().await;
    let c = client(&srv);
    c.authenticate().await.unwrap();
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 1);
    c.authenticate().await.unwrap();
    c.repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap();
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 1, "one token in all");

    let wrong = client_with(&srv, |cfg| cfg.client_secret = Secret::new("nope"));
    let err = wrong.authenticate().await.unwrap_err();
    assert!(matches!(err, VcrError::Auth { status: 401, .. }), "{err}");
}

#[tokio::test]
async fn answers_larger_than_the_bound_are_not_read() {
    let srv = server().await;
    let c = client(&srv);
    for i in 0..8 {
        c.repositories(Region::Hcm)
            .create(&repo(&format!("bulky-{i:02}"), 1))
            .await
            .unwrap();
    }
    let small = client_with(&srv, |cfg| cfg.max_answer_bytes = 1024);
    let err = small
        .repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, VcrError::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 1024 bytes"), "{err}");
    // Not retried: the same answer would come again.
    assert_eq!(count(&srv, "GET", "/hcm/v1/repository").await.0, 1);
    // The default bound reads it.
    let page = c
        .repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 8);
}

#[tokio::test]
async fn nothing_listening_is_not_retried() {
    // Nothing ever answered at this address: a refused connection is a wrong address,
    // not a blip (a server that answered before and restarts is waited for: see
    // a_create_that_never_reached_the_server_is_resent).
    let logs = Logs::capture();
    let port = free_port();
    let c = vcr_provider::vcr::Client::new(vcr_provider::vcr::ClientConfig {
        client_id: "x".into(),
        client_secret: Secret::new("y"),
        token_url: Some(format!("http://127.0.0.1:{port}/token")),
        max_retries: 5,
        retry_base_delay: Duration::from_millis(1),
        ..Default::default()
    })
    .unwrap();
    let err = c.authenticate().await.unwrap_err();
    assert_eq!(
        err.transport_kind(),
        Some(vcr_provider::vcr::TransportKind::Refused)
    );
    assert!(
        err.to_string().contains(&format!(
            "could not connect to 127.0.0.1:{port}: connection refused"
        )),
        "{err}"
    );
    let log = logs.text();
    // One try, marked not retryable: the log's structure says no retry was made.
    assert_eq!(log.matches("no answer").count(), 1, "one try:\n{log}");
    assert!(log.contains("retryable=false"), "{log}");
}

/// A page of repositories (each a different one) announcing a million pages.
fn endless_page(items: usize) -> String {
    let repos: Vec<serde_json::Value> = (0..items)
        .map(|i| json!({"uuid": format!("repo-{i}"), "name": format!("endless-{i}"), "quotaUsed": 0, "quotaLimit": 1, "accessLevel": "private"}))
        .collect();
    json!({"listData": repos, "page": 1, "totalPage": 1_000_000, "totalItem": 50_000_000})
        .to_string()
}

/// A server that announces a million pages does not take the provider's memory with
/// it: a walk stops at its bound on items, and on bytes of answers, with an error
/// naming the call, after reading no more than the bound.
#[tokio::test]
async fn a_walk_of_an_endless_list_stops_at_its_bounds_naming_the_call() {
    let srv = server().await;
    let page = endless_page(50);
    fault(
        &srv,
        json!({"method": "GET", "path": "/hcm/v1/repository", "replaceBody": page}),
    )
    .await;

    let by_items = client_with(&srv, |cfg| cfg.max_walk_items = 120);
    let err = by_items
        .repositories(Region::Hcm)
        .list_all(None, None)
        .await
        .unwrap_err();
    let VcrError::ListTooLong {
        method,
        path,
        limit,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("GET", "/hcm/v1/repository")
    );
    assert_eq!(limit, "more than 120 items");
    assert!(
        err.to_string()
            .starts_with("GET /hcm/v1/repository: the list is longer"),
        "{err}"
    );
    assert_eq!(
        count(&srv, "GET", "/hcm/v1/repository").await.0,
        3,
        "50 + 50 + 50 > 120"
    );

    reset_counts(&srv).await;
    let by_bytes = client_with(&srv, |cfg| cfg.max_walk_bytes = 4 * page.len());
    let err = by_bytes
        .repositories(Region::Hcm)
        .list_all(None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VcrError::ListTooLong { limit, .. } if *limit == format!("more than {} bytes of answers", 4 * page.len())),
        "{err:?}"
    );
    assert_eq!(count(&srv, "GET", "/hcm/v1/repository").await.0, 5);
}

/// A server that echoes the request's headers in its error body does not put the
/// bearer token in the error the provider shows and logs.
#[tokio::test]
async fn an_echoed_authorization_header_is_redacted_from_errors() {
    let srv = server().await;
    let c = client(&srv);
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYS1lY2hvIn0.ZWNob2VkLXNpZ25hdHVyZQ";
    let body = json!({
        "message": format!("bad request; you sent Authorization: Bearer {token}"),
        "errorCode": format!("ECHO bearer {token}"),
    });
    fault(
        &srv,
        json!({"method": "GET", "path": "/hcm/v1/repository", "status": 400, "body": body.to_string(), "times": 1}),
    )
    .await;
    let err = c
        .repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap_err();
    let message = err.message().expect("an error answer");
    assert_eq!(
        message.text,
        "bad request; you sent Authorization: [redacted]"
    );
    assert_eq!(message.code.as_deref(), Some("ECHO bearer [redacted]"));
    assert!(!format!("{err} {err:?}").contains("ZWNob2VkLXNpZ25hdHVyZQ"));
}
