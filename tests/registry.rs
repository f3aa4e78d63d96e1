//! vcr-local's Docker registry over TCP, driven by an independent OCI client
//! (`oci-client`) and, where an exact status or error code is the point, by
//! raw HTTP: push and pull per permission, public and private, refused
//! credentials, another region, mounts, uploads of every kind, digests,
//! multi-architecture images, quotas, the images API, deletes, and images
//! kept through a restart and a kill -9.

mod vcr_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{
    ImageIndexEntry, OciImageIndex, Platform, IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use reqwest::Method;
use serde_json::{json, Value};
use vcr_provider::local::{LocalConfig, LocalRegion, RunningServer};
use vcr_support::registry_support::{self as rs, Region, PULL_POLICY, PUSH_POLICY};
use vcr_support::*;

const PUSH_PULL: &[&str] = &[PULL_POLICY, PUSH_POLICY];
const PULL_ONLY: &[&str] = &[PULL_POLICY];

fn oci(monolithic: bool) -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        use_monolithic_push: monolithic,
        ..ClientConfig::default()
    })
}

fn basic(login: &str, secret: &str) -> RegistryAuth {
    RegistryAuth::Basic(login.to_string(), secret.to_string())
}

/// A repository: its id and backend name.
struct Repo {
    id: String,
    backend: String,
}

async fn create_repo(r: &Region, name: &str, public: bool, quota_gb: u64) -> Repo {
    let (status, body) = r
        .api(
            Method::POST,
            "/v1/repository",
            Some(json!({"repoName": name, "isPublic": public, "quotaLimit": quota_gb})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    Repo {
        id: body["uuid"].as_str().unwrap().to_string(),
        backend: body["backendName"].as_str().unwrap().to_string(),
    }
}

/// A user with policies on several repositories: (login, secret, id).
async fn create_user(
    r: &Region,
    name: &str,
    grants: &[(&Repo, &[&str])],
) -> (String, String, String) {
    let mut list = Vec::new();
    for (repo, actions) in grants {
        list.push(json!({"repoId": repo.id, "policyIdList": r.policy_ids(actions).await}));
    }
    let (status, body) = r
        .api(
            Method::POST,
            "/v1/user",
            Some(json!({"name": name, "duration": 30, "permissionRequestList": list})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let secret = body["secretKey"].as_str().unwrap().to_string();
    let (_, page) = r
        .api(Method::GET, &format!("/v1/user?name={name}"), None)
        .await;
    let u = &page["listData"][0];
    (
        u["backendName"].as_str().unwrap().to_string(),
        secret,
        u["uuid"].as_str().unwrap().to_string(),
    )
}

fn reference(r: &Region, repo: &Repo, image: &str) -> Reference {
    format!("{}/{}/{image}", r.registry, repo.backend)
        .parse()
        .unwrap()
}

/// A small image: one layer with `text`, a config for `arch`.
fn image(text: &str, arch: &str) -> (Vec<ImageLayer>, Config) {
    let layer = ImageLayer::oci_v1(text.as_bytes().to_vec(), None);
    let config =
        json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    (
        vec![layer],
        Config::oci_v1(serde_json::to_vec(&config).unwrap(), None),
    )
}

/// A raw registry request; answers status, headers and body text.
async fn raw(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<(Vec<u8>, &str)>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut rb = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some((bytes, content_type)) = body {
        rb = rb.header("content-type", content_type).body(bytes);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// The first error code of a distribution-spec error body.
fn code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {body}"))
        .to_string()
}

async fn anonymous_token(r: &Region, name: &str, actions: &str) -> String {
    let v: Value = reqwest::Client::new()
        .get(format!("http://{}/service/token", r.registry))
        .query(&[
            ("service", "harbor-registry"),
            ("scope", &format!("repository:{name}:{actions}")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn push_and_pull_obey_what_was_declared() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "app-repo", false, 1).await;
    let public = create_repo(&hcm, "public-repo", true, 1).await;
    let (ci, ci_secret, _) = create_user(
        &hcm,
        "ci-pusher",
        &[(&app, PUSH_PULL), (&public, PUSH_PULL)],
    )
    .await;
    let (reader, reader_secret, _) = create_user(&hcm, "deployer", &[(&app, PULL_ONLY)]).await;
    let (stranger, stranger_secret, _) =
        create_user(&hcm, "stranger", &[(&public, PULL_ONLY)]).await;

    // docker login: the challenge, then the token endpoint with no scope.
    let (status, headers, _) = raw(
        Method::GET,
        &format!("http://{}/v2/", hcm.registry),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"http://{}/service/token\",service=\"harbor-registry\"",
            hcm.registry
        )
    );
    let login = reqwest::Client::new()
        .get(format!(
            "http://{}/service/token?service=harbor-registry",
            hcm.registry
        ))
        .basic_auth(&ci, Some(&ci_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    for key in ["token", "access_token", "expires_in", "issued_at"] {
        assert!(login.get(key).is_some(), "{key} in {login}");
    }

    // push_pull pushes (chunked, and POST then PUT) and pulls, nested names too.
    let web = reference(&hcm, &app, "web:v1");
    let (layers, config) = image("web v1", "amd64");
    oci(false)
        .push(&web, &layers, config, &basic(&ci, &ci_secret), None)
        .await
        .unwrap();
    let helm = reference(&hcm, &app, "tools/helm-chart:1.0");
    let (layers, config) = image("a chart", "amd64");
    oci(true)
        .push(&helm, &layers, config, &basic(&ci, &ci_secret), None)
        .await
        .unwrap();
    let pulled = oci(false)
        .pull(
            &web,
            &basic(&ci, &ci_secret),
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"web v1");

    // pull_only pulls, and its push is refused as docker expects.
    let pulled = oci(false)
        .pull(
            &helm,
            &basic(&reader, &reader_secret),
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"a chart");
    let (layers, config) = image("not allowed", "amd64");
    let refused = oci(false)
        .push(
            &reference(&hcm, &app, "web:evil"),
            &layers,
            config,
            &basic(&reader, &reader_secret),
            None,
        )
        .await;
    assert!(refused.is_err(), "a pull-only push must fail");
    let token = rs::registry_token(
        &hcm.registry,
        &reader,
        &reader_secret,
        &format!("{}/web", app.backend),
        "pull,push",
    )
    .await
    .unwrap();
    let upload = format!(
        "http://{}/v2/{}/web/blobs/uploads/",
        hcm.registry, app.backend
    );
    let (status, _, body) = raw(Method::POST, &upload, Some(&token), None).await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
    assert!(
        body.contains("requested access to the resource is denied"),
        "{body}"
    );

    // A user without rights on the repository: denied; anonymous: asked to log in.
    let manifest_url = format!(
        "http://{}/v2/{}/web/manifests/v1",
        hcm.registry, app.backend
    );
    let token = rs::registry_token(
        &hcm.registry,
        &stranger,
        &stranger_secret,
        &format!("{}/web", app.backend),
        "pull",
    )
    .await
    .unwrap();
    let (status, _, body) = raw(Method::GET, &manifest_url, Some(&token), None).await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
    let anon = anonymous_token(&hcm, &format!("{}/web", app.backend), "pull").await;
    let (status, headers, body) = raw(Method::GET, &manifest_url, Some(&anon), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"repository:"));
    assert!(oci(false)
        .pull(
            &web,
            &RegistryAuth::Anonymous,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE]
        )
        .await
        .is_err());

    // A public repository: anyone pulls, nobody anonymous pushes.
    let open = reference(&hcm, &public, "base:1");
    let (layers, config) = image("public base", "amd64");
    oci(false)
        .push(&open, &layers, config, &basic(&ci, &ci_secret), None)
        .await
        .unwrap();
    let pulled = oci(false)
        .pull(
            &open,
            &RegistryAuth::Anonymous,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"public base");
    let anon = anonymous_token(&hcm, &format!("{}/base", public.backend), "pull,push").await;
    let upload = format!(
        "http://{}/v2/{}/base/blobs/uploads/",
        hcm.registry, public.backend
    );
    let (status, _, body) = raw(Method::POST, &upload, Some(&anon), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );

    // Another region's registry knows neither the user nor the token.
    let han = region(&srv, "han");
    let refused = rs::registry_token(
        &han.registry,
        &ci,
        &ci_secret,
        &format!("{}/web", app.backend),
        "pull",
    )
    .await;
    assert_eq!(refused.unwrap_err().0, 401);
    let hcm_token = rs::registry_token(
        &hcm.registry,
        &ci,
        &ci_secret,
        &format!("{}/web", app.backend),
        "pull",
    )
    .await
    .unwrap();
    let elsewhere = format!(
        "http://{}/v2/{}/web/manifests/v1",
        han.registry, app.backend
    );
    assert_eq!(
        raw(Method::GET, &elsewhere, Some(&hcm_token), None).await.0,
        401
    );
    // Nor is an IAM access token a registry token.
    let (_, iam) = (0, {
        let v: Value = reqwest::Client::new()
            .post(&hcm.token_url)
            .basic_auth(&hcm.client_id, Some(&hcm.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_string()
    });
    assert_eq!(
        raw(Method::GET, &manifest_url, Some(&iam), None).await.0,
        401
    );

    // The management API shows what was really pushed.
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(repo["imageCount"], 2, "{repo}");
    assert!(repo["quotaUsed"].as_f64().unwrap() >= 0.0);
    let (_, images) = hcm
        .api(
            Method::GET,
            &format!("/v1/repository/{}/images?name=", app.id),
            None,
        )
        .await;
    let names: Vec<&str> = images["listData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tools/helm-chart", "web"]);
    let (_, web_image) = hcm
        .api(
            Method::GET,
            &format!("/v1/repository/{}/images/detail?imageName=web", app.id),
            None,
        )
        .await;
    assert_eq!(
        (
            web_image["artifactCount"].as_u64(),
            web_image["pullCount"].as_u64()
        ),
        (Some(1), Some(1)),
        "{web_image}"
    );
    let (_, arts) = hcm
        .api(
            Method::GET,
            &format!(
                "/v1/repository/{}/images/artifacts?imageName=tools%2Fhelm-chart",
                app.id
            ),
            None,
        )
        .await;
    let art = &arts["listData"][0];
    assert_eq!(art["tags"], json!(["1.0"]));
    assert_eq!(art["mediaType"], OCI_IMAGE_MEDIA_TYPE);
    assert!(art["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(art["size"].as_u64().unwrap() > "a chart".len() as u64);
    assert!(art["pushTime"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn wrong_disabled_and_expired_credentials_are_refused() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "cred-repo", false, 1).await;
    let (login, secret, id) = create_user(&hcm, "cred-user", &[(&app, PUSH_PULL)]).await;
    let name = format!("{}/web", app.backend);
    assert_eq!(
        rs::registry_token(&hcm.registry, &login, "wrong", &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    assert_eq!(
        rs::registry_token(&hcm.registry, "100001-nobody", &secret, &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull,push")
        .await
        .unwrap();
    let upload = format!("http://{}/v2/{name}/blobs/uploads/", hcm.registry);
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 202);

    // Disabled after login: refused from then on, token or not; enabled again: back.
    let (s, _) = hcm
        .api(Method::PUT, &format!("/v1/user/{id}/disable"), None)
        .await;
    assert_eq!(s, 200);
    let (status, _, body) = raw(Method::POST, &upload, Some(&token), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    assert_eq!(
        rs::registry_token(&hcm.registry, &login, &secret, &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    hcm.api(Method::PUT, &format!("/v1/user/{id}/enable"), None)
        .await;
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 202);

    // A refreshed secret replaces the old one.
    let (_, fresh) = hcm
        .api(Method::GET, &format!("/v1/user/{id}/refresh"), None)
        .await;
    let fresh = fresh.as_str().unwrap().to_string();
    assert_eq!(
        rs::registry_token(&hcm.registry, &login, &secret, &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    rs::registry_token(&hcm.registry, &login, &fresh, &name, "pull")
        .await
        .unwrap();

    // Expired (30 days): neither a new token nor the old one works.
    let token = rs::registry_token(&hcm.registry, &login, &fresh, &name, "pull,push")
        .await
        .unwrap();
    advance_clock(&srv, 31 * 86_400).await;
    assert_eq!(
        rs::registry_token(&hcm.registry, &login, &fresh, &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 401);
    let (s, _) = hcm
        .api(
            Method::PUT,
            &format!("/v1/user/{id}"),
            Some(json!({"repoUserId": id, "duration": 10})),
        )
        .await;
    assert_eq!(s, 200);
    rs::registry_token(&hcm.registry, &login, &fresh, &name, "pull")
        .await
        .unwrap();
    // A token outlives nothing: registry tokens are short-lived.
    advance_clock(&srv, 301).await;
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 401);
}

#[tokio::test]
async fn uploads_digests_blobs_tags_and_deletes() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "blob-repo", false, 1).await;
    let other = create_repo(&hcm, "other-repo", false, 1).await;
    let (login, secret, _) =
        create_user(&hcm, "blob-user", &[(&app, PUSH_PULL), (&other, PUSH_PULL)]).await;
    let name = format!("{}/web", app.backend);
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull,push,delete")
        .await
        .unwrap();
    let base = format!("http://{}/v2/{name}", hcm.registry);

    // Chunked: POST, PATCH with Content-Range, status, PATCH, PUT ?digest=.
    let (status, headers, _) = raw(
        Method::POST,
        &format!("{base}/blobs/uploads/"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("/v2/{name}/blobs/uploads/")),
        "{location}"
    );
    let upload = format!("http://{}{location}", hcm.registry);
    let patch = |from: usize, bytes: &'static [u8]| {
        let (upload, token) = (upload.clone(), token.clone());
        async move {
            let resp = reqwest::Client::new()
                .patch(&upload)
                .bearer_auth(&token)
                .header(
                    "content-range",
                    format!("{from}-{}", from + bytes.len() - 1),
                )
                .body(bytes)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers()
                    .get("range")
                    .map(|r| r.to_str().unwrap().to_string()),
            )
        }
    };
    assert_eq!(patch(0, b"hello ").await, (202, Some("0-5".into())));
    assert_eq!(
        patch(3, b"again").await.0,
        416,
        "a chunk must continue the upload"
    );
    let (status, headers, _) = raw(Method::GET, &upload, Some(&token), None).await;
    assert_eq!((status, headers["range"].to_str().unwrap()), (204, "0-5"));
    assert_eq!(patch(6, b"world").await, (202, Some("0-10".into())));
    let digest = format!(
        "sha256:{}",
        rs::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"hello world"))
    );
    let (status, headers, _) = raw(
        Method::PUT,
        &format!("{upload}?digest={digest}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(headers["docker-content-digest"], digest.as_str());
    let (status, headers, _) = raw(
        Method::HEAD,
        &format!("{base}/blobs/{digest}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, headers["content-length"].to_str().unwrap()),
        (200, "11")
    );
    assert_eq!(
        raw(
            Method::GET,
            &format!("{base}/blobs/{digest}"),
            Some(&token),
            None
        )
        .await
        .2,
        "hello world"
    );
    // A finished upload is gone; so is a cancelled one.
    assert_eq!(
        code(&raw(Method::PATCH, &upload, Some(&token), None).await.2),
        "BLOB_UPLOAD_UNKNOWN"
    );
    let (_, headers, _) = raw(
        Method::POST,
        &format!("{base}/blobs/uploads/"),
        Some(&token),
        None,
    )
    .await;
    let cancelled = format!(
        "http://{}{}",
        hcm.registry,
        headers["location"].to_str().unwrap()
    );
    assert_eq!(
        raw(Method::DELETE, &cancelled, Some(&token), None).await.0,
        204
    );
    assert_eq!(
        raw(Method::GET, &cancelled, Some(&token), None).await.0,
        404
    );

    // Bytes that do not match their digest are refused and not kept.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (status, _, body) = raw(
        Method::POST,
        &format!("{base}/blobs/uploads/?digest={wrong}"),
        Some(&token),
        Some((b"not those bytes".to_vec(), "application/octet-stream")),
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "DIGEST_INVALID"),
        "{body}"
    );
    assert_eq!(
        raw(
            Method::HEAD,
            &format!("{base}/blobs/{wrong}"),
            Some(&token),
            None
        )
        .await
        .0,
        404
    );
    let (status, _, body) = raw(
        Method::GET,
        &format!("{base}/blobs/sha256:xyz"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "DIGEST_INVALID"));

    // Blobs belong to their repository: another one never serves them.
    let other_name = format!("{}/web", other.backend);
    let other_token = rs::registry_token(&hcm.registry, &login, &secret, &other_name, "pull,push")
        .await
        .unwrap();
    let elsewhere = format!("http://{}/v2/{other_name}/blobs/{digest}", hcm.registry);
    let (status, _, body) = raw(Method::GET, &elsewhere, Some(&other_token), None).await;
    assert_eq!((status, code(&body).as_str()), (404, "BLOB_UNKNOWN"));

    // A manifest naming a blob the repository does not hold.
    let manifest = |config: &str, layer: &str| {
        json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_MEDIA_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 11},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 11}]})
        .to_string()
        .into_bytes()
    };
    let put = |reference: String, bytes: Vec<u8>, tok: String| {
        let url = format!("{base}/manifests/{reference}");
        async move {
            raw(
                Method::PUT,
                &url,
                Some(&tok),
                Some((bytes, OCI_IMAGE_MEDIA_TYPE)),
            )
            .await
        }
    };
    let (status, _, body) = put("v1".into(), manifest(&digest, &wrong), token.clone()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN"),
        "{body}"
    );
    let good = manifest(&digest, &digest);
    let good_digest = format!(
        "sha256:{}",
        rs::hex(&<sha2::Sha256 as sha2::Digest>::digest(&good))
    );
    let (status, _, body) = put(wrong.clone(), good.clone(), token.clone()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "DIGEST_INVALID"),
        "{body}"
    );
    let (status, _, body) = put("-bad-tag".into(), good.clone(), token.clone()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "TAG_INVALID"),
        "{body}"
    );
    let (status, _, body) = put("x".into(), b"{not json".to_vec(), token.clone()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MANIFEST_INVALID"),
        "{body}"
    );
    assert_eq!(
        put(good_digest.clone(), good.clone(), token.clone())
            .await
            .0,
        201
    );
    for tag in ["a", "b", "c", "d", "e"] {
        let (status, headers, _) = put(tag.into(), good.clone(), token.clone()).await;
        assert_eq!(status, 201);
        assert_eq!(headers["docker-content-digest"], good_digest.as_str());
    }
    let (status, _, body) = raw(
        Method::GET,
        &format!("http://{}/v2/{}/Bad/tags/list", hcm.registry, app.backend),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "NAME_INVALID"),
        "{body}"
    );

    // Tags page with n and last, with a Link to the next page.
    let (status, headers, body) = raw(
        Method::GET,
        &format!("{base}/tags/list?n=2"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"name": name, "tags": ["a", "b"]})
    );
    assert_eq!(
        headers["link"],
        format!("</v2/{name}/tags/list?n=2&last=b>; rel=\"next\"").as_str()
    );
    let (_, headers, body) = raw(
        Method::GET,
        &format!("{base}/tags/list?n=2&last=d"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["tags"],
        json!(["e"])
    );
    assert!(headers.get("link").is_none());
    let (_, _, body) = raw(
        Method::GET,
        &format!("{base}/tags/list"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["tags"],
        json!(["a", "b", "c", "d", "e"])
    );
    let nothing = format!("{}/nothing", app.backend);
    let nothing_token = rs::registry_token(&hcm.registry, &login, &secret, &nothing, "pull")
        .await
        .unwrap();
    let (status, _, body) = raw(
        Method::GET,
        &format!("http://{}/v2/{nothing}/tags/list", hcm.registry),
        Some(&nothing_token),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (404, "NAME_UNKNOWN"),
        "{body}"
    );

    // Manifests by tag and digest; deleting a tag leaves the manifest.
    let (status, headers, body) = raw(
        Method::GET,
        &format!("{base}/manifests/a"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, body.as_bytes()), (200, &good[..]));
    assert_eq!(headers["content-type"], OCI_IMAGE_MEDIA_TYPE);
    assert_eq!(
        raw(
            Method::DELETE,
            &format!("{base}/manifests/e"),
            Some(&token),
            None
        )
        .await
        .0,
        202
    );
    assert_eq!(
        code(
            &raw(
                Method::GET,
                &format!("{base}/manifests/e"),
                Some(&token),
                None
            )
            .await
            .2
        ),
        "MANIFEST_UNKNOWN"
    );
    assert_eq!(
        raw(
            Method::HEAD,
            &format!("{base}/manifests/{good_digest}"),
            Some(&token),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        raw(
            Method::DELETE,
            &format!("{base}/manifests/{good_digest}"),
            Some(&token),
            None
        )
        .await
        .0,
        202
    );
    assert_eq!(
        raw(
            Method::GET,
            &format!("{base}/manifests/a"),
            Some(&token),
            None
        )
        .await
        .0,
        404
    );
    // The image went with its last manifest, and its blobs with it.
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
    assert_eq!(
        code(
            &raw(
                Method::GET,
                &format!("{base}/blobs/{digest}"),
                Some(&token),
                None
            )
            .await
            .2
        ),
        "BLOB_UNKNOWN"
    );

    // A blob deleted through the registry.
    let small = rs::push_blob(&hcm.registry, &token, &name, b"to delete")
        .await
        .unwrap();
    assert_eq!(
        raw(
            Method::DELETE,
            &format!("{base}/blobs/{small}"),
            Some(&token),
            None
        )
        .await
        .0,
        202
    );
    assert_eq!(
        raw(
            Method::DELETE,
            &format!("{base}/blobs/{small}"),
            Some(&token),
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn mounts_need_pull_rights_on_the_source() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let target = create_repo(&hcm, "mount-target", false, 1).await;
    let source = create_repo(&hcm, "mount-source", false, 1).await;
    let (owner, owner_secret, _) = create_user(&hcm, "src-owner", &[(&source, PUSH_PULL)]).await;
    let (both, both_secret, _) = create_user(
        &hcm,
        "both-user",
        &[(&target, PUSH_PULL), (&source, PULL_ONLY)],
    )
    .await;
    let (only, only_secret, _) = create_user(&hcm, "only-user", &[(&target, PUSH_PULL)]).await;
    let source_name = format!("{}/base", source.backend);
    let owner_token = rs::registry_token(
        &hcm.registry,
        &owner,
        &owner_secret,
        &source_name,
        "pull,push",
    )
    .await
    .unwrap();
    let first = rs::push_blob(&hcm.registry, &owner_token, &source_name, b"shared layer")
        .await
        .unwrap();
    let second = rs::push_blob(&hcm.registry, &owner_token, &source_name, b"secret layer")
        .await
        .unwrap();

    // With pull rights on the source: mounted (oci-client's own call).
    let client = oci(false);
    let target_ref = reference(&hcm, &target, "app:1");
    client
        .auth(
            &target_ref,
            &basic(&both, &both_secret),
            oci_client::RegistryOperation::Push,
        )
        .await
        .unwrap();
    client
        .mount_blob(&target_ref, &reference(&hcm, &source, "base:1"), &first)
        .await
        .unwrap();
    assert!(client.blob_exists(&target_ref, &first).await.unwrap());

    // Without: the registry starts an upload instead, and holds nothing.
    let target_name = format!("{}/app", target.backend);
    let token = rs::registry_token(
        &hcm.registry,
        &only,
        &only_secret,
        &target_name,
        "pull,push",
    )
    .await
    .unwrap();
    let mount = format!(
        "http://{}/v2/{target_name}/blobs/uploads/?mount={second}&from={source_name}",
        hcm.registry
    );
    let (status, headers, _) = raw(Method::POST, &mount, Some(&token), None).await;
    assert_eq!(
        status, 202,
        "no pull right on the source: an upload, not a mount"
    );
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .contains("/blobs/uploads/"));
    let head = format!("http://{}/v2/{target_name}/blobs/{second}", hcm.registry);
    assert_eq!(raw(Method::HEAD, &head, Some(&token), None).await.0, 404);
    // With rights, through raw HTTP: 201 and the blob's location.
    let token = rs::registry_token(
        &hcm.registry,
        &both,
        &both_secret,
        &target_name,
        "pull,push",
    )
    .await
    .unwrap();
    let (status, headers, _) = raw(Method::POST, &mount, Some(&token), None).await;
    assert_eq!(status, 201);
    assert_eq!(
        headers["location"],
        format!("/v2/{target_name}/blobs/{second}").as_str()
    );
    assert_eq!(raw(Method::HEAD, &head, Some(&token), None).await.0, 200);
}

#[tokio::test]
async fn multi_architecture_indexes_and_manifest_lists() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "multi-repo", false, 1).await;
    let (login, secret, _) = create_user(&hcm, "multi-user", &[(&app, PUSH_PULL)]).await;
    let auth = basic(&login, &secret);
    let client = oci(false);
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let (layers, config) = image(&format!("built for {arch}"), arch);
        let r = reference(&hcm, &app, &format!("app:{arch}"));
        let pushed = client.push(&r, &layers, config, &auth, None).await.unwrap();
        let digest = pushed.manifest_url.rsplit('/').next().unwrap().to_string();
        let (bytes, _) = client
            .pull_manifest_raw(&r, &auth, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .unwrap();
        entries.push(ImageIndexEntry {
            media_type: OCI_IMAGE_MEDIA_TYPE.to_string(),
            digest,
            size: bytes.len() as i64,
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                os_version: None,
                os_features: None,
                variant: None,
                features: None,
            }),
            annotations: None,
            artifact_type: None,
        });
    }
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.to_string()),
        manifests: entries.clone(),
        artifact_type: None,
        annotations: None,
    };
    let multi = reference(&hcm, &app, "app:multi");
    client
        .push_manifest_list(&multi, &auth, index)
        .await
        .unwrap();
    let (bytes, digest) = client
        .pull_manifest_raw(&multi, &auth, &[OCI_IMAGE_INDEX_MEDIA_TYPE])
        .await
        .unwrap();
    let read: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(read["manifests"].as_array().unwrap().len(), 2);
    // The client picks the platform it wants from the index.
    let mut for_arm = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        platform_resolver: Some(Box::new(|entries: &[ImageIndexEntry]| {
            entries
                .iter()
                .find(|e| {
                    e.platform
                        .as_ref()
                        .is_some_and(|p| p.architecture.to_string() == "arm64")
                })
                .map(|e| e.digest.clone())
        })),
        ..ClientConfig::default()
    });
    let pulled = for_arm
        .pull(
            &multi,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"built for arm64");
    for_arm = oci(false);
    drop(for_arm);

    // A Docker manifest list of schema 2 manifests.
    let name = format!("{}/app", app.backend);
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull,push,delete")
        .await
        .unwrap();
    let base = format!("http://{}/v2/{name}", hcm.registry);
    let (_, _, amd64) = raw(
        Method::GET,
        &format!("{base}/manifests/amd64"),
        Some(&token),
        None,
    )
    .await;
    let mut docker: Value = serde_json::from_str(&amd64).unwrap();
    docker["mediaType"] = json!(IMAGE_MANIFEST_MEDIA_TYPE);
    docker["config"]["mediaType"] = json!("application/vnd.docker.container.image.v1+json");
    let docker = serde_json::to_vec(&docker).unwrap();
    let (status, headers, body) = raw(
        Method::PUT,
        &format!("{base}/manifests/docker-amd64"),
        Some(&token),
        Some((docker.clone(), IMAGE_MANIFEST_MEDIA_TYPE)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let docker_digest = headers["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let list = json!({"schemaVersion": 2, "mediaType": IMAGE_MANIFEST_LIST_MEDIA_TYPE, "manifests": [
        {"mediaType": IMAGE_MANIFEST_MEDIA_TYPE, "digest": docker_digest, "size": docker.len(),
         "platform": {"architecture": "amd64", "os": "linux"}}]});
    let (status, _, body) = raw(
        Method::PUT,
        &format!("{base}/manifests/docker-list"),
        Some(&token),
        Some((
            serde_json::to_vec(&list).unwrap(),
            IMAGE_MANIFEST_LIST_MEDIA_TYPE,
        )),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, headers, _) = raw(
        Method::GET,
        &format!("{base}/manifests/docker-list"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(headers["content-type"], IMAGE_MANIFEST_LIST_MEDIA_TYPE);
    // An index may only list manifests of its image.
    let stray = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE, "manifests": [
        {"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": format!("sha256:{}", "1".repeat(64)), "size": 1}]});
    let (status, _, body) = raw(
        Method::PUT,
        &format!("{base}/manifests/stray"),
        Some(&token),
        Some((
            serde_json::to_vec(&stray).unwrap(),
            OCI_IMAGE_INDEX_MEDIA_TYPE,
        )),
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN"),
        "{body}"
    );

    // The API lists an index as one artifact; deleting it takes its platforms.
    let (_, arts) = hcm
        .api(
            Method::GET,
            &format!("/v1/repository/{}/images/artifacts?imageName=app", app.id),
            None,
        )
        .await;
    let listed: Vec<&str> = arts["listData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["digest"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&digest.as_str()), "{arts}");
    assert!(
        !listed.contains(&entries[0].digest.as_str()),
        "platform manifests are part of the index: {arts}"
    );
    assert!(!listed.contains(&docker_digest.as_str()), "{arts}");
    let (s, _) = hcm
        .api(
            Method::DELETE,
            &format!(
                "/v1/repository/{}/images/artifacts/delete?imageName=app&digest={digest}",
                app.id
            ),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        raw(
            Method::GET,
            &format!("{base}/manifests/arm64"),
            Some(&token),
            None
        )
        .await
        .0,
        404
    );
    let (s, _) = hcm
        .api(
            Method::DELETE,
            &format!("/v1/repository/{}/images/delete?imageName=app", app.id),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
}

fn blob_files(dir: &std::path::Path) -> usize {
    let root = dir.join("blobs/sha256");
    std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|d| std::fs::read_dir(d.path()).unwrap().count())
        .sum()
}

#[tokio::test]
async fn quotas_count_real_bytes_and_deletes_free_them() {
    let data = tempfile::tempdir().unwrap();
    let srv = server_with(LocalConfig {
        data_dir: Some(data.path().to_path_buf()),
        ..LocalConfig::default()
    })
    .await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "quota-repo", false, 1).await;
    let (login, secret, _) = create_user(&hcm, "quota-user", &[(&app, PUSH_PULL)]).await;
    let name = format!("{}/big", app.backend);
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull,push")
        .await
        .unwrap();
    let gib = 1u64 << 30;

    // A blob one byte over the limit: refused with Harbor's message, nothing kept.
    let over = rs::push_streamed_blob(&hcm.registry, &token, &name, "over", gib + 1)
        .await
        .unwrap_err();
    assert_eq!(
        (over.0, code(&over.1).as_str()),
        (403, "DENIED"),
        "{}",
        over.1
    );
    assert!(
        over.1
            .contains("Quota exceeded when processing the request of adding"),
        "{}",
        over.1
    );
    assert!(
        over.1.contains("configured upper limit of 1 GiB"),
        "{}",
        over.1
    );
    assert_eq!(blob_files(data.path()), 0);

    // Just under: accepted; then the next small blob does not fit.
    let layer = rs::push_streamed_blob(&hcm.registry, &token, &name, "layer", gib - 600)
        .await
        .unwrap();
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(repo["quotaUsed"], 1.0, "{repo}");
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = rs::push_blob(&hcm.registry, &token, &name, config)
        .await
        .unwrap();
    let refused = rs::push_blob(&hcm.registry, &token, &name, &[7u8; 1024])
        .await
        .unwrap_err();
    assert_eq!(
        (refused.0, code(&refused.1).as_str()),
        (403, "DENIED"),
        "{}",
        refused.1
    );
    // And the manifest that would go over is refused too.
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": gib - 600}],
        "annotations": {"padding": "p".repeat(600)}});
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let url = format!("http://{}/v2/{name}/manifests/v1", hcm.registry);
    let (status, _, body) = raw(
        Method::PUT,
        &url,
        Some(&token),
        Some((manifest.clone(), OCI_IMAGE_MEDIA_TYPE)),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
    assert!(body.contains("Quota exceeded"), "{body}");

    // The quota cannot go below the usage; above it, the push completes.
    let (s, body) = hcm
        .api(
            Method::PUT,
            &format!("/v1/repository/{}/quotas", app.id),
            Some(json!({"repoId": app.id, "quotaLimit": 2})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        raw(
            Method::PUT,
            &url,
            Some(&token),
            Some((manifest, OCI_IMAGE_MEDIA_TYPE))
        )
        .await
        .0,
        201
    );
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(repo["imageCount"], 1);
    let (s, body) = hcm
        .api(
            Method::PUT,
            &format!("/v1/repository/{}/quotas", app.id),
            Some(json!({"repoId": app.id, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(s, 400, "{body}");

    // A repository with images cannot go; without them it can, and its blobs go too.
    let (s, body) = hcm
        .api(Method::DELETE, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("delete its images first"));
    assert_eq!(blob_files(data.path()), 3, "layer, config and manifest");
    let (s, _) = hcm
        .api(
            Method::DELETE,
            &format!("/v1/repository/{}/images/delete?imageName=big", app.id),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
    assert_eq!(
        blob_files(data.path()),
        0,
        "no repository holds them any more"
    );
    let kept = rs::push_blob(&hcm.registry, &token, &name, b"an orphan blob")
        .await
        .unwrap();
    assert_eq!(blob_files(data.path()), 1);
    let (s, _) = hcm
        .api(Method::DELETE, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        blob_files(data.path()),
        0,
        "a deleted repository's blobs are gone"
    );

    // A new repository of the same name starts empty.
    let again = create_repo(&hcm, "quota-repo", false, 1).await;
    let (login, secret, _) = create_user(&hcm, "quota-user2", &[(&again, PUSH_PULL)]).await;
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull")
        .await
        .unwrap();
    let head = format!("http://{}/v2/{name}/blobs/{kept}", hcm.registry);
    assert_eq!(raw(Method::HEAD, &head, Some(&token), None).await.0, 404);
}

/// A `vcr-local` process with the settings it printed.
struct Proc {
    child: Child,
    settings: std::collections::HashMap<String, String>,
}

fn spawn(data: &std::path::Path) -> Result<Proc, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut settings = std::collections::HashMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let (k, v) = line.split_once('=').unwrap();
        settings.insert(k.to_string(), v.to_string());
        if k == "VCR_CLIENT_SECRET" {
            return Ok(Proc { child, settings });
        }
    }
    let out = child.wait_with_output().unwrap();
    Err(String::from_utf8_lossy(&out.stderr).into_owned())
}

fn region_of(p: &Proc) -> Region {
    Region {
        token_url: p.settings["VCR_TOKEN_URL"].clone(),
        client_id: p.settings["VCR_CLIENT_ID"].clone(),
        client_secret: p.settings["VCR_CLIENT_SECRET"].clone(),
        endpoint: p.settings["VCR_ENDPOINT_HAN"].clone(),
        registry: p.settings["VCR_REGISTRY_HAN"].clone(),
    }
}

#[tokio::test]
async fn images_survive_a_restart_and_a_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let mut first = spawn(data.path()).unwrap();
    // One vcr-local per data folder.
    let second = spawn(data.path())
        .err()
        .expect("a second vcr-local on the same folder must not start");
    assert!(second.contains("another vcr-local"), "{second}");

    let han = region_of(&first);
    let app = create_repo(&han, "durable-repo", false, 1).await;
    let (login, secret, _) = create_user(&han, "durable", &[(&app, PUSH_PULL)]).await;
    let auth = basic(&login, &secret);
    let r = reference(&han, &app, "web:v1");
    let (layers, config) = image("survives kill -9", "amd64");
    oci(false)
        .push(&r, &layers, config, &auth, None)
        .await
        .unwrap();
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();

    let mut again = spawn(data.path()).unwrap();
    let han = region_of(&again);
    let r = reference(&han, &app, "web:v1");
    let pulled = oci(false)
        .pull(
            &r,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"survives kill -9");
    let (_, repo) = han
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(repo["imageCount"], 1);
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

#[tokio::test]
async fn registry_requests_are_counted_and_take_faults() {
    let srv: RunningServer = server().await;
    let hcm = region(&srv, "hcm");
    fault(
        &srv,
        json!({"listener": "registry-hcm", "path": "/v2/", "status": 503, "times": 1}),
    )
    .await;
    let (status, _, body) = raw(
        Method::GET,
        &format!("http://{}/v2/", hcm.registry),
        None,
        None,
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (503, "INJECTED_FAULT"));
    let han = srv.registry(LocalRegion::Han);
    assert_eq!(
        raw(Method::GET, &format!("http://{han}/v2/"), None, None)
            .await
            .0,
        401,
        "the fault was for HCM"
    );
    assert_eq!(
        raw(
            Method::GET,
            &format!("http://{}/v2/", hcm.registry),
            None,
            None
        )
        .await
        .0,
        401,
        "once"
    );
    let v: Value = reqwest::get(format!("{}/requests", srv.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["listener"] == "registry-hcm" && r["path"] == "/v2/")
        .unwrap()
        .clone();
    assert_eq!(line["count"], 2);
    assert_eq!(line["statuses"], json!({"401": 1, "503": 1}));
}
