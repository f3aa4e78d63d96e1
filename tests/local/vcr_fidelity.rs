//! The client against the answers the real vCR gives and vcr-local does not give on
//! its own (`docs/development/vcr-api.md`, `src/vcr/contract.rs`): produced with vcr-local's
//! fault rules (a status with any body and headers, or a real answer's body replaced),
//! over TCP on 127.0.0.1.

use crate::vcr_support;

use std::time::Duration;

use serde_json::{json, Value};
use vcr_provider::local::LocalConfig;
use vcr_provider::vcr::{
    CreateRepository, CreateUser, ListRepositories, Permission, PermissionRequest, PolicyKind,
    Region, Secret, VcrError,
};
use vcr_support::*;

const TOKEN: &str = "/iam/accounts-api/v2/auth/token";
const REPOS: &str = "/hcm/v1/repository";

fn repo(name: &str) -> CreateRepository {
    CreateRepository {
        name: name.into(),
        is_public: false,
        quota_limit_gb: 1,
    }
}

/// Whether an error is the one a row expects.
type IsExpected = fn(&VcrError) -> bool;

#[tokio::test]
async fn every_error_body_shape_reaches_the_message() {
    let srv = server().await;
    let c = client(&srv);
    let page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>\n</html>";
    // status, body, the error expected, what its message says.
    let rows: [(u16, &str, IsExpected, &str); 7] = [
        (
            400,
            r#"{"message":"Page or size invalid"}"#,
            |e| matches!(e, VcrError::Invalid { .. }),
            "invalid request: Page or size invalid",
        ),
        (
            409,
            r#"{"message":"Repository name existed","code":409,"errorCode":"REPOSITORY_EXISTED","success":false}"#,
            VcrError::is_conflict,
            "conflict: Repository name existed [REPOSITORY_EXISTED]",
        ),
        (
            404,
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
            VcrError::is_not_found,
            "not found: repository name not known to registry [NAME_UNKNOWN]",
        ),
        (
            403,
            r#"[{"code":"IAM_PERMISSION_DENIED","message":"You don't have permission to access this resource"}]"#,
            VcrError::lacks_vcr_policy,
            "forbidden: You don't have permission to access this resource [IAM_PERMISSION_DENIED]",
        ),
        (
            502,
            page,
            |e| matches!(e, VcrError::Server { status: 502, message } if message.excerpt),
            r#"server error 502: HTTP 502 Bad Gateway, with an HTML page that is not vCR's JSON: "502 Bad Gateway 502 Bad Gateway nginx""#,
        ),
        (
            500,
            "",
            |e| matches!(e, VcrError::Server { status: 500, .. }),
            "server error 500: HTTP 500 Internal Server Error, with an empty body",
        ),
        (
            418,
            r#"{"unexpected":["shape"]}"#,
            |e| matches!(e, VcrError::Status { status: 418, .. }),
            r#"unexpected HTTP status 418: HTTP 418 I'm a teapot, with a body that is not vCR's JSON: "{\"unexpected\":[\"shape\"]}""#,
        ),
    ];
    for (status, body, expected, says) in rows {
        clear_faults(&srv).await;
        fault(
            &srv,
            json!({"method": "GET", "path": REPOS, "status": status, "body": body}),
        )
        .await;
        let err = c
            .repositories(Region::Hcm)
            .list(&ListRepositories::default())
            .await
            .unwrap_err();
        assert!(expected(&err), "{status}: {err:?}");
        assert_eq!(err.to_string(), says, "{status}");
    }
}

/// A real token from vcr-local, to put in answers of another shape.
async fn real_token(srv: &vcr_provider::local::RunningServer) -> String {
    vcr_support::registry_support::iam_token(
        &registry_support::http_client(),
        &srv.token_url(),
        vcr_provider::local::DEFAULT_CLIENT_ID,
        vcr_provider::local::DEFAULT_CLIENT_SECRET,
    )
    .await
}

#[tokio::test]
async fn token_answers_of_every_published_shape() {
    let srv = server_with(LocalConfig {
        token_ttl: Duration::from_secs(3600),
        ..LocalConfig::default()
    })
    .await;
    let token = real_token(&srv).await;
    let list = ListRepositories::default();

    // Lower-case type, two hours, a scope: one token serves every call.
    let shape = json!({"token_type": "bearer", "access_token": token, "expires_in": 7200, "scope": "vcr", "refresh_expires_in": 0});
    fault(
        &srv,
        json!({"method": "POST", "path": TOKEN, "replaceBody": shape.to_string(), "times": 1}),
    )
    .await;
    reset_counts(&srv).await;
    let c = client(&srv);
    for _ in 0..3 {
        c.repositories(Region::Hcm).list(&list).await.unwrap();
    }
    assert_eq!(c.account_id().await.unwrap(), Some(100001));
    assert_eq!(count(&srv, "POST", TOKEN).await.0, 1);

    // Renewal follows the lifetime the answer gives (2 s), not vcr-local's (3600 s).
    let shape = json!({"token_type": "BEARER", "access_token": token, "expires_in": "2"});
    fault(
        &srv,
        json!({"method": "POST", "path": TOKEN, "replaceBody": shape.to_string(), "times": 1}),
    )
    .await;
    reset_counts(&srv).await;
    let c = client(&srv);
    c.repositories(Region::Hcm).list(&list).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    c.repositories(Region::Hcm).list(&list).await.unwrap();
    assert_eq!(
        count(&srv, "POST", TOKEN).await.0,
        2,
        "renewed at the given lifetime"
    );
    assert_eq!(
        count(&srv, "GET", REPOS).await.1,
        json!({"200": 2}),
        "before a 401"
    );

    // A token of another type is refused, without showing it.
    let shape = json!({"token_type": "mac", "access_token": token, "expires_in": 1800});
    fault(
        &srv,
        json!({"method": "POST", "path": TOKEN, "replaceBody": shape.to_string(), "times": 1}),
    )
    .await;
    let err = client(&srv).authenticate().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("a token of type \"mac\""), "{text}");
    assert!(!text.contains(&token), "the token leaked");
}

#[tokio::test]
async fn refreshed_secrets_of_every_shape() {
    let srv = server().await;
    let c = client(&srv);
    let users = c.users(Region::Hcm);
    users
        .create(&CreateUser {
            name: "rotating".into(),
            ..CreateUser::default()
        })
        .await
        .unwrap();
    let id = users.find_by_name("rotating").await.unwrap().unwrap().uuid;
    let path = format!("/hcm/v1/user/{id}/refresh");
    // The real answer: a bare JSON string.
    let real = users.refresh_secret(&id).await.unwrap();
    assert_eq!(real.expose().len(), 40);
    for (body, secret) in [
        (r#""json-string-secret""#, "json-string-secret"),
        ("plain-text-secret\n", "plain-text-secret"),
        (r#"{"secretKey":"object-secret"}"#, "object-secret"),
    ] {
        fault(
            &srv,
            json!({"method": "GET", "path": path, "replaceBody": body, "times": 1}),
        )
        .await;
        let got = users.refresh_secret(&id).await.unwrap();
        assert_eq!(got.expose(), secret, "{body}");
    }
    // A body with no secret in it is an error that shows nothing of the body.
    fault(
        &srv,
        json!({"method": "GET", "path": path, "replaceBody": r#"{"other":"x-leak"}"#, "times": 1}),
    )
    .await;
    let err = users.refresh_secret(&id).await.unwrap_err();
    assert!(matches!(err, VcrError::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("x-leak"));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_refused_naming_where_it_pointed() {
    let srv = server().await;
    let c = client(&srv);
    c.authenticate().await.unwrap();
    let moved = "https://vcr.api.greennode.example/v1/repository?page=1&size=10";
    fault(
        &srv,
        json!({"method": "GET", "path": REPOS, "status": 301, "body": "", "headers": {"Location": moved}}),
    )
    .await;
    reset_counts(&srv).await;
    let err = c
        .repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap_err();
    match &err {
        VcrError::Redirect {
            status,
            location,
            to_other_host,
            setting,
            suggested,
            ..
        } => {
            assert_eq!(
                (*status, location.as_str(), *to_other_host, *setting),
                (301, moved, true, "endpoint_hcm")
            );
            assert_eq!(suggested, "https://vcr.api.greennode.example/");
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "GET /hcm/v1/repository: the server answered 301 Moved Permanently pointing to {moved};"
        )),
        "{text}"
    );
    assert!(
        text.contains("set endpoint_hcm to https://vcr.api.greennode.example/"),
        "{text}"
    );
    // Asked once: neither followed nor retried.
    assert_eq!(count(&srv, "GET", REPOS).await.1, json!({"301": 1}));

    // The token endpoint too: the setting to change is token_url.
    let fresh = client(&srv);
    fault(
        &srv,
        json!({"method": "POST", "path": TOKEN, "status": 308, "body": "", "headers": {"Location": "https://iam.example/v2/auth/token"}}),
    )
    .await;
    let err = fresh.authenticate().await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("set token_url to https://iam.example/v2/auth/token"),
        "{err}"
    );
}

#[tokio::test]
async fn a_redirect_on_the_same_host_is_followed_when_it_keeps_the_call() {
    let srv = server().await;
    // The client is told an old base; vcr-local's fault answers there with redirects
    // to the real one, on the same host.
    let old = format!("{}/old", srv.base_url());
    let c = client_with(&srv, |cfg| cfg.endpoint_hcm = Some(old.clone()));
    fault(
        &srv,
        json!({"method": "GET", "path": "/old/v1/repository", "status": 301, "body": "", "headers": {"Location": "/hcm/v1/repository?page=1&size=10"}}),
    )
    .await;
    fault(
        &srv,
        json!({"method": "POST", "path": "/old/v1/repository", "status": 307, "body": "", "headers": {"Location": "/hcm/v1/repository"}, "times": 1}),
    )
    .await;
    fault(
        &srv,
        json!({"method": "PUT", "path": "/old/v1/repository/*", "status": 301, "body": "", "headers": {"Location": "/hcm/v1/repository"}}),
    )
    .await;
    reset_counts(&srv).await;
    let repos = c.repositories(Region::Hcm);
    // A 307 keeps the method and the body: the create goes through.
    let created = repos.create(&repo("followed")).await.unwrap();
    assert_eq!(created.name, "followed");
    // A 301 on a GET is followed.
    let page = repos.list(&ListRepositories::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    // vcr-local has no such route: its fault's answer is counted under "(no route)".
    assert_eq!(count(&srv, "GET", "(no route)").await.1, json!({"301": 1}));
    assert_eq!(count(&srv, "GET", REPOS).await.1, json!({"200": 1}));
    assert_eq!(count(&srv, "POST", REPOS).await.1, json!({"202": 1}));
    // A 301 on a PUT would become a GET: not followed, and said so.
    let err = repos.set_quota(&created.uuid, 2).await.unwrap_err();
    match &err {
        VcrError::Redirect { to_other_host, .. } => assert!(!to_other_host),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("this one was for a PUT"), "{err}");
}

#[tokio::test]
async fn image_calls_always_send_name_and_encode_image_names() {
    let srv = server().await;
    let c = client(&srv);
    let repos = c.repositories(Region::Hcm);
    let r = repos
        .create(&CreateRepository {
            name: "image-app".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();
    push_image(&srv, "hcm", &r.uuid, "tools/helm", 1024).await;
    push_image(&srv, "hcm", &r.uuid, "web", 1024).await;
    reset_counts(&srv).await;
    // vcr-local answers 500 to an image list without `name`, as vCR does.
    let images = repos.list_images(&r.uuid).await.unwrap();
    let mut names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["tools/helm", "web"]);
    let helm = repos.image(&r.uuid, "tools/helm").await.unwrap();
    assert_eq!((helm.name.as_str(), helm.artifact_count), ("tools/helm", 1));
    let artifacts = repos
        .list_artifacts(&r.uuid, "tools/helm", None)
        .await
        .unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0].tags, ["latest"]);
    assert!(
        artifacts[0].digest.starts_with("sha256:"),
        "{:?}",
        artifacts[0]
    );
    let tagged = repos
        .list_artifacts(&r.uuid, "tools/helm", Some("latest"))
        .await
        .unwrap();
    assert_eq!(tagged, artifacts);
    repos
        .delete_artifact(&r.uuid, "tools/helm", &artifacts[0].digest)
        .await
        .unwrap();
    repos.delete_image(&r.uuid, "web").await.unwrap();
    assert!(repos
        .list_images(&r.uuid)
        .await
        .unwrap()
        .iter()
        .all(|i| i.name != "web"));
    let (_, statuses) = count(
        &srv,
        "GET",
        &format!("/hcm/v1/repository/{}/images", r.uuid),
    )
    .await;
    assert_eq!(
        statuses,
        json!({"200": 2}),
        "never a 500 for a missing name"
    );
}

#[tokio::test]
async fn the_all_policy_is_never_attached() {
    let srv = server().await;
    let c = client(&srv);
    let users = c.users(Region::Hcm);
    let policies = users.policies().await.unwrap();
    let kinds: Vec<Option<PolicyKind>> = policies.iter().map(|p| p.kind()).collect();
    assert_eq!(kinds.len(), 3, "{policies:?}");
    for kind in [PolicyKind::Pull, PolicyKind::Push, PolicyKind::All] {
        assert!(kinds.contains(&Some(kind)), "{policies:?}");
    }
    let all = policies
        .iter()
        .find(|p| p.kind() == Some(PolicyKind::All))
        .unwrap()
        .uuid
        .clone();
    let r = c
        .repositories(Region::Hcm)
        .create(&repo("no-all-repo"))
        .await
        .unwrap();
    let ids = Permission::PushPull.policy_ids(&policies).unwrap();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&all));
    users
        .create(&CreateUser {
            name: "pusher".into(),
            permissions: vec![PermissionRequest {
                repo_id: r.uuid.clone(),
                policy_ids: ids,
            }],
            ..CreateUser::default()
        })
        .await
        .unwrap();
    let u = users.find_by_name("pusher").await.unwrap().unwrap();
    let granted = &u.repo_permission_list[0].policy_dto_list;
    let mut texts: Vec<&str> = granted.iter().map(|p| p.text()).collect();
    texts.sort();
    assert_eq!(texts, ["Pull Images", "Push Images"]);
    assert_eq!(
        Permission::from_policies(granted),
        Some(Permission::PushPull)
    );

    // Policies named under `name`, as one source shows them, are read the same.
    let renamed: Vec<Value> = policies
        .iter()
        .map(|p| json!({"uuid": p.uuid, "name": p.text()}))
        .collect();
    fault(
        &srv,
        json!({"method": "GET", "path": "/hcm/v1/user/permissions", "replaceBody": Value::from(renamed).to_string(), "times": 1}),
    )
    .await;
    let read = users.policies().await.unwrap();
    assert_eq!(
        Permission::PullOnly.policy_ids(&read).unwrap(),
        Permission::PullOnly.policy_ids(&policies).unwrap()
    );
}

#[tokio::test]
async fn no_secret_reaches_the_clients_log() {
    let logs = Logs::capture();
    let srv = server().await;
    let c = client(&srv);
    let secret = c
        .users(Region::Hcm)
        .create(&CreateUser {
            name: "logged-one".into(),
            ..CreateUser::default()
        })
        .await
        .unwrap();
    let id = c
        .users(Region::Hcm)
        .find_by_name("logged-one")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let fresh = c.users(Region::Hcm).refresh_secret(&id).await.unwrap();
    fault(
        &srv,
        json!({"method": "GET", "path": REPOS, "status": 403, "body": r#"[{"code":"IAM_PERMISSION_DENIED","message":"denied"}]"#, "times": 1}),
    )
    .await;
    c.repositories(Region::Hcm)
        .list(&ListRepositories::default())
        .await
        .unwrap_err();
    let wrong = client_with(&srv, |cfg| {
        cfg.client_secret = Secret::new("wrong-secret-0815")
    });
    wrong.authenticate().await.unwrap_err();
    let log = logs.text();
    assert!(log.contains("vCR request"), "the log was captured: {log}");
    for (what, value) in [
        ("client secret", vcr_provider::local::DEFAULT_CLIENT_SECRET),
        ("wrong client secret", "wrong-secret-0815"),
        ("user secret", secret.expose()),
        ("refreshed secret", fresh.expose()),
    ] {
        assert!(!log.contains(value), "the {what} is in the log");
    }
    assert!(!log.contains("eyJ"), "a token is in the log");
}
