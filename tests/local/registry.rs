//! vcr-local's Docker registry over TCP, driven by an independent OCI client
//! (`oci-client`) and, where an exact status or error code is the point, by
//! raw HTTP: push and pull per permission, public and private, refused
//! credentials, another region, mounts, uploads of every kind, digests,
//! multi-architecture images, quotas, the images API, deletes, and images
//! kept through a restart and a kill -9.

use crate::vcr_support;

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
use vcr_provider::local::{LocalConfig, LocalRegion, QuotaUnit, RunningServer};
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
    let mut rb = registry_support::http_client().request(method, url);
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

/// A docker login: backend name and secret.
type Login = (String, String);

fn auth_of(l: &Login) -> RegistryAuth {
    basic(&l.0, &l.1)
}

async fn token_for(r: &Region, l: &Login, name: &str, actions: &str) -> String {
    rs::registry_token(&r.registry, &l.0, &l.1, name, actions)
        .await
        .unwrap()
}

const LAYERS: &[&str] = &[oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE];

/// Two repositories and three users, as a configuration would declare them.
struct Declared {
    _srv: RunningServer,
    hcm: Region,
    app: Repo,
    public: Repo,
    ci: Login,
    reader: Login,
    stranger: Login,
}

async fn declared() -> Declared {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "app-repo", false, 1).await;
    let public = create_repo(&hcm, "public-repo", true, 1).await;
    let ci = create_user(
        &hcm,
        "ci-pusher",
        &[(&app, PUSH_PULL), (&public, PUSH_PULL)],
    )
    .await;
    let reader = create_user(&hcm, "deployer", &[(&app, PULL_ONLY)]).await;
    let stranger = create_user(&hcm, "stranger", &[(&public, PULL_ONLY)]).await;
    Declared {
        _srv: srv,
        hcm,
        app,
        public,
        ci: (ci.0, ci.1),
        reader: (reader.0, reader.1),
        stranger: (stranger.0, stranger.1),
    }
}

/// docker login: the challenge, then the token endpoint with no scope.
async fn docker_login_is_the_token_flow(d: &Declared) {
    let (status, headers, _) = raw(
        Method::GET,
        &format!("http://{}/v2/", d.hcm.registry),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"].to_str().unwrap(),
        format!(
            "Bearer realm=\"http://{}/service/token\",service=\"harbor-registry\"",
            d.hcm.registry
        )
    );
    let login = registry_support::http_client()
        .get(format!(
            "http://{}/service/token?service=harbor-registry",
            d.hcm.registry
        ))
        .basic_auth(&d.ci.0, Some(&d.ci.1))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    for key in ["token", "access_token", "expires_in", "issued_at"] {
        assert!(login.get(key).is_some(), "{key} in {login}");
    }
}

/// push_pull pushes (chunked, and POST then PUT) and pulls, nested names too;
/// pull_only pulls, and its push is refused as docker expects.
async fn permissions_decide_push_and_pull(d: &Declared) {
    let web = reference(&d.hcm, &d.app, "web:v1");
    let (layers, config) = image("web v1", "amd64");
    oci(false)
        .push(&web, &layers, config, &auth_of(&d.ci), None)
        .await
        .unwrap();
    let helm = reference(&d.hcm, &d.app, "tools/helm-chart:1.0");
    let (layers, config) = image("a chart", "amd64");
    oci(true)
        .push(&helm, &layers, config, &auth_of(&d.ci), None)
        .await
        .unwrap();
    let pulled = oci(false)
        .pull(&web, &auth_of(&d.ci), LAYERS.to_vec())
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"web v1");

    let pulled = oci(false)
        .pull(&helm, &auth_of(&d.reader), LAYERS.to_vec())
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"a chart");
    let (layers, config) = image("not allowed", "amd64");
    let evil = reference(&d.hcm, &d.app, "web:evil");
    assert!(oci(false)
        .push(&evil, &layers, config, &auth_of(&d.reader), None)
        .await
        .is_err());
    let token = token_for(
        &d.hcm,
        &d.reader,
        &format!("{}/web", d.app.backend),
        "pull,push",
    )
    .await;
    let upload = format!(
        "http://{}/v2/{}/web/blobs/uploads/",
        d.hcm.registry, d.app.backend
    );
    let (status, _, body) = raw(Method::POST, &upload, Some(&token), None).await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
    assert!(
        body.contains("requested access to the resource is denied"),
        "{body}"
    );

    // A user without rights on the repository is denied.
    let manifest = format!(
        "http://{}/v2/{}/web/manifests/v1",
        d.hcm.registry, d.app.backend
    );
    let token = token_for(
        &d.hcm,
        &d.stranger,
        &format!("{}/web", d.app.backend),
        "pull",
    )
    .await;
    let (status, _, body) = raw(Method::GET, &manifest, Some(&token), None).await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
}

/// Anonymous: asked to log in for a private repository, reads a public one,
/// pushes nowhere.
async fn anonymous_reads_public_repositories_only(d: &Declared) {
    let manifest = format!(
        "http://{}/v2/{}/web/manifests/v1",
        d.hcm.registry, d.app.backend
    );
    let anon =
        rs::anonymous_registry_token(&d.hcm.registry, &format!("{}/web", d.app.backend), "pull")
            .await;
    let (status, headers, body) = raw(Method::GET, &manifest, Some(&anon), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"repository:"));
    let web = reference(&d.hcm, &d.app, "web:v1");
    assert!(oci(false)
        .pull(&web, &RegistryAuth::Anonymous, LAYERS.to_vec())
        .await
        .is_err());

    let open = reference(&d.hcm, &d.public, "base:1");
    let (layers, config) = image("public base", "amd64");
    oci(false)
        .push(&open, &layers, config, &auth_of(&d.ci), None)
        .await
        .unwrap();
    let pulled = oci(false)
        .pull(&open, &RegistryAuth::Anonymous, LAYERS.to_vec())
        .await
        .unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"public base");
    let anon = rs::anonymous_registry_token(
        &d.hcm.registry,
        &format!("{}/base", d.public.backend),
        "pull,push",
    )
    .await;
    let upload = format!(
        "http://{}/v2/{}/base/blobs/uploads/",
        d.hcm.registry, d.public.backend
    );
    let (status, _, body) = raw(Method::POST, &upload, Some(&anon), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
}

/// Another region's registry knows neither the user nor the token; an IAM
/// access token is no registry token.
async fn other_regions_and_iam_tokens_are_refused(d: &Declared, han: &Region) {
    let name = format!("{}/web", d.app.backend);
    let refused = rs::registry_token(&han.registry, &d.ci.0, &d.ci.1, &name, "pull").await;
    assert_eq!(refused.unwrap_err().0, 401);
    let hcm_token = token_for(&d.hcm, &d.ci, &name, "pull").await;
    let elsewhere = format!("http://{}/v2/{name}/manifests/v1", han.registry);
    assert_eq!(
        raw(Method::GET, &elsewhere, Some(&hcm_token), None).await.0,
        401
    );
    let iam = d.hcm.iam_token(&registry_support::http_client()).await;
    let manifest = format!("http://{}/v2/{name}/manifests/v1", d.hcm.registry);
    assert_eq!(raw(Method::GET, &manifest, Some(&iam), None).await.0, 401);
}

/// The management API shows what was really pushed.
async fn the_api_shows_what_was_pushed(d: &Declared) {
    let (hcm, app) = (&d.hcm, &d.app);
    let (_, repo) = hcm
        .api(Method::GET, &format!("/v1/repository/{}", app.id), None)
        .await;
    assert_eq!(repo["imageCount"], 2, "{repo}");
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
    let detail = format!("/v1/repository/{}/images/detail?imageName=web", app.id);
    let (_, web) = hcm.api(Method::GET, &detail, None).await;
    assert_eq!(
        (web["artifactCount"].as_u64(), web["pullCount"].as_u64()),
        (Some(1), Some(1)),
        "{web}"
    );
    let artifacts = format!(
        "/v1/repository/{}/images/artifacts?imageName=tools%2Fhelm-chart",
        app.id
    );
    let (_, arts) = hcm.api(Method::GET, &artifacts, None).await;
    let art = &arts["listData"][0];
    assert_eq!(art["tags"], json!(["1.0"]));
    assert_eq!(art["mediaType"], OCI_IMAGE_MEDIA_TYPE);
    assert!(art["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(art["size"].as_u64().unwrap() > "a chart".len() as u64);
    assert!(art["pushTime"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn push_and_pull_obey_what_was_declared() {
    let d = declared().await;
    docker_login_is_the_token_flow(&d).await;
    permissions_decide_push_and_pull(&d).await;
    anonymous_reads_public_repositories_only(&d).await;
    other_regions_and_iam_tokens_are_refused(&d, &region(&d._srv, "han")).await;
    the_api_shows_what_was_pushed(&d).await;
}

#[tokio::test]
async fn wrong_disabled_and_expired_credentials_are_refused() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "cred-repo", false, 1).await;
    let (login, secret, id) = create_user(&hcm, "cred-user", &[(&app, PUSH_PULL)]).await;
    let name = format!("{}/web", app.backend);
    let token_of = |secret: String| {
        let (registry, login, name) = (hcm.registry.clone(), login.clone(), name.clone());
        async move { rs::registry_token(&registry, &login, &secret, &name, "pull,push").await }
    };
    assert_eq!(token_of("wrong".into()).await.unwrap_err().0, 401);
    assert_eq!(
        rs::registry_token(&hcm.registry, "100001-nobody", &secret, &name, "pull")
            .await
            .unwrap_err()
            .0,
        401
    );
    let token = token_of(secret.clone()).await.unwrap();
    let upload = format!("http://{}/v2/{name}/blobs/uploads/", hcm.registry);
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 202);

    // Disabled after login: refused from then on, token or not; enabled again: back.
    assert_eq!(
        hcm.api(Method::PUT, &format!("/v1/user/{id}/disable"), None)
            .await
            .0,
        200
    );
    let (status, _, body) = raw(Method::POST, &upload, Some(&token), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    assert_eq!(token_of(secret.clone()).await.unwrap_err().0, 401);
    hcm.api(Method::PUT, &format!("/v1/user/{id}/enable"), None)
        .await;
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 202);

    // A refreshed secret replaces the old one.
    let (_, fresh) = hcm
        .api(Method::GET, &format!("/v1/user/{id}/refresh"), None)
        .await;
    let fresh = fresh.as_str().unwrap().to_string();
    assert_eq!(token_of(secret).await.unwrap_err().0, 401);
    let token = token_of(fresh.clone()).await.unwrap();

    // Expired (30 days): neither a new token nor the old one works; extended: back.
    advance_clock(&srv, 31 * 86_400).await;
    assert_eq!(token_of(fresh.clone()).await.unwrap_err().0, 401);
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 401);
    let extend = json!({"repoUserId": id, "duration": 10});
    assert_eq!(
        hcm.api(Method::PUT, &format!("/v1/user/{id}"), Some(extend))
            .await
            .0,
        200
    );
    let token = token_of(fresh).await.unwrap();
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 202);
    // Registry tokens are short-lived.
    advance_clock(&srv, 301).await;
    assert_eq!(raw(Method::POST, &upload, Some(&token), None).await.0, 401);
}

/// A repository and a user with every right on it, a token, and the base URL of
/// one image.
struct Blobs {
    _srv: RunningServer,
    hcm: Region,
    app: Repo,
    other: Repo,
    login: Login,
    name: String,
    token: String,
    base: String,
}

async fn blobs_world() -> Blobs {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "blob-repo", false, 1).await;
    let other = create_repo(&hcm, "other-repo", false, 1).await;
    let (login, secret, _) =
        create_user(&hcm, "blob-user", &[(&app, PUSH_PULL), (&other, PUSH_PULL)]).await;
    let login = (login, secret);
    let name = format!("{}/web", app.backend);
    let token = token_for(&hcm, &login, &name, "pull,push,delete").await;
    let base = format!("http://{}/v2/{name}", hcm.registry);
    Blobs {
        _srv: srv,
        hcm,
        app,
        other,
        login,
        name,
        token,
        base,
    }
}

fn sha(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        rs::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes))
    )
}

async fn patch(
    upload: &str,
    token: &str,
    from: usize,
    bytes: &'static [u8],
) -> (u16, Option<String>) {
    let resp = registry_support::http_client()
        .patch(upload)
        .bearer_auth(token)
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

/// Chunked: POST, PATCH with Content-Range, status, PATCH, PUT ?digest=; a
/// finished or cancelled upload is gone. Answers the blob's digest.
async fn chunked_uploads(b: &Blobs) -> String {
    let (status, headers, _) = raw(
        Method::POST,
        &format!("{}/blobs/uploads/", b.base),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("/v2/{}/blobs/uploads/", b.name)),
        "{location}"
    );
    let upload = format!("http://{}{location}", b.hcm.registry);
    assert_eq!(
        patch(&upload, &b.token, 0, b"hello ").await,
        (202, Some("0-5".into()))
    );
    assert_eq!(
        patch(&upload, &b.token, 3, b"again").await.0,
        416,
        "a chunk must continue the upload"
    );
    let (status, headers, _) = raw(Method::GET, &upload, Some(&b.token), None).await;
    assert_eq!((status, headers["range"].to_str().unwrap()), (204, "0-5"));
    assert_eq!(
        patch(&upload, &b.token, 6, b"world").await,
        (202, Some("0-10".into()))
    );
    let digest = sha(b"hello world");
    let (status, headers, _) = raw(
        Method::PUT,
        &format!("{upload}?digest={digest}"),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(headers["docker-content-digest"], digest.as_str());
    let blob = format!("{}/blobs/{digest}", b.base);
    let (status, headers, _) = raw(Method::HEAD, &blob, Some(&b.token), None).await;
    assert_eq!(
        (status, headers["content-length"].to_str().unwrap()),
        (200, "11")
    );
    assert_eq!(
        raw(Method::GET, &blob, Some(&b.token), None).await.2,
        "hello world"
    );
    assert_eq!(
        code(&raw(Method::PATCH, &upload, Some(&b.token), None).await.2),
        "BLOB_UPLOAD_UNKNOWN"
    );
    let (_, headers, _) = raw(
        Method::POST,
        &format!("{}/blobs/uploads/", b.base),
        Some(&b.token),
        None,
    )
    .await;
    let cancelled = format!(
        "http://{}{}",
        b.hcm.registry,
        headers["location"].to_str().unwrap()
    );
    assert_eq!(
        raw(Method::DELETE, &cancelled, Some(&b.token), None)
            .await
            .0,
        204
    );
    assert_eq!(
        raw(Method::GET, &cancelled, Some(&b.token), None).await.0,
        404
    );
    digest
}

/// Bytes that do not match their digest are refused and not kept; another
/// repository never serves a blob by digest.
async fn digests_are_checked_and_blobs_scoped(b: &Blobs, digest: &str) {
    let wrong = format!("sha256:{}", "0".repeat(64));
    let url = format!("{}/blobs/uploads/?digest={wrong}", b.base);
    let bytes = (b"not those bytes".to_vec(), "application/octet-stream");
    let (status, _, body) = raw(Method::POST, &url, Some(&b.token), Some(bytes)).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "DIGEST_INVALID"),
        "{body}"
    );
    assert_eq!(
        raw(
            Method::HEAD,
            &format!("{}/blobs/{wrong}", b.base),
            Some(&b.token),
            None
        )
        .await
        .0,
        404
    );
    let (status, _, body) = raw(
        Method::GET,
        &format!("{}/blobs/sha256:xyz", b.base),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "DIGEST_INVALID"));

    let other_name = format!("{}/web", b.other.backend);
    let other_token = token_for(&b.hcm, &b.login, &other_name, "pull,push").await;
    let elsewhere = format!("http://{}/v2/{other_name}/blobs/{digest}", b.hcm.registry);
    let (status, _, body) = raw(Method::GET, &elsewhere, Some(&other_token), None).await;
    assert_eq!((status, code(&body).as_str()), (404, "BLOB_UNKNOWN"));
}

fn manifest_of(config: &str, layer: &str) -> Vec<u8> {
    json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 11},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 11}]})
    .to_string()
    .into_bytes()
}

async fn put_manifest(
    b: &Blobs,
    reference: &str,
    bytes: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let url = format!("{}/manifests/{reference}", b.base);
    raw(
        Method::PUT,
        &url,
        Some(&b.token),
        Some((bytes, OCI_IMAGE_MEDIA_TYPE)),
    )
    .await
}

/// Manifests may name only the repository's blobs, must match their digest and
/// tag rules; tagged five times. Answers the manifest's bytes and digest.
async fn manifests_follow_the_rules(b: &Blobs, digest: &str) -> (Vec<u8>, String) {
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (status, _, body) = put_manifest(b, "v1", manifest_of(digest, &wrong)).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN"),
        "{body}"
    );
    let good = manifest_of(digest, digest);
    let good_digest = sha(&good);
    let refusals = [
        (wrong.as_str(), good.clone(), "DIGEST_INVALID"),
        ("-bad-tag", good.clone(), "TAG_INVALID"),
        ("x", b"{not json".to_vec(), "MANIFEST_INVALID"),
    ];
    for (reference, bytes, expected) in refusals {
        let (status, _, body) = put_manifest(b, reference, bytes).await;
        assert_eq!((status, code(&body).as_str()), (400, expected), "{body}");
    }
    assert_eq!(put_manifest(b, &good_digest, good.clone()).await.0, 201);
    for tag in ["a", "b", "c", "d", "e"] {
        let (status, headers, _) = put_manifest(b, tag, good.clone()).await;
        assert_eq!(status, 201);
        assert_eq!(headers["docker-content-digest"], good_digest.as_str());
    }
    let bad_name = format!(
        "http://{}/v2/{}/Bad/tags/list",
        b.hcm.registry, b.app.backend
    );
    let (status, _, body) = raw(Method::GET, &bad_name, Some(&b.token), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "NAME_INVALID"),
        "{body}"
    );
    (good, good_digest)
}

/// Tags page with n and last, with a Link to the next page.
async fn tags_page(b: &Blobs) {
    let list = |query: &str| format!("{}/tags/list{query}", b.base);
    let (status, headers, body) = raw(Method::GET, &list("?n=2"), Some(&b.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"name": b.name, "tags": ["a", "b"]})
    );
    assert_eq!(
        headers["link"],
        format!("</v2/{}/tags/list?n=2&last=b>; rel=\"next\"", b.name).as_str()
    );
    let (_, headers, body) = raw(Method::GET, &list("?n=2&last=d"), Some(&b.token), None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["tags"],
        json!(["e"])
    );
    assert!(headers.get("link").is_none());
    let (_, _, body) = raw(Method::GET, &list(""), Some(&b.token), None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["tags"],
        json!(["a", "b", "c", "d", "e"])
    );
    let nothing = format!("{}/nothing", b.app.backend);
    let token = token_for(&b.hcm, &b.login, &nothing, "pull").await;
    let url = format!("http://{}/v2/{nothing}/tags/list", b.hcm.registry);
    let (status, _, body) = raw(Method::GET, &url, Some(&token), None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (404, "NAME_UNKNOWN"),
        "{body}"
    );
}

impl Blobs {
    /// `METHOD {base}/{path}` with the token: status and body.
    async fn call(&self, method: Method, path: &str) -> (u16, String) {
        let (status, _, body) = raw(
            method,
            &format!("{}/{path}", self.base),
            Some(&self.token),
            None,
        )
        .await;
        (status, body)
    }
}

/// Deleting a tag leaves the manifest; deleting the manifest takes the image
/// and its blobs.
async fn deletes_free_the_image(b: &Blobs, digest: &str, good: &[u8], good_digest: &str) {
    let (status, headers, body) = raw(
        Method::GET,
        &format!("{}/manifests/a", b.base),
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!((status, body.as_bytes()), (200, good));
    assert_eq!(headers["content-type"], OCI_IMAGE_MEDIA_TYPE);
    assert_eq!(b.call(Method::DELETE, "manifests/e").await.0, 202);
    assert_eq!(
        code(&b.call(Method::GET, "manifests/e").await.1),
        "MANIFEST_UNKNOWN"
    );
    let by_digest = format!("manifests/{good_digest}");
    assert_eq!(b.call(Method::HEAD, &by_digest).await.0, 200);
    assert_eq!(b.call(Method::DELETE, &by_digest).await.0, 202);
    assert_eq!(b.call(Method::GET, "manifests/a").await.0, 404);
    let (_, repo) = b
        .hcm
        .api(Method::GET, &format!("/v1/repository/{}", b.app.id), None)
        .await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
    assert_eq!(
        code(&b.call(Method::GET, &format!("blobs/{digest}")).await.1),
        "BLOB_UNKNOWN"
    );
}

/// A blob deleted through the registry.
async fn blobs_delete(b: &Blobs) {
    let small = rs::push_blob(&b.hcm.registry, &b.token, &b.name, b"to delete")
        .await
        .unwrap();
    assert_eq!(
        b.call(Method::DELETE, &format!("blobs/{small}")).await.0,
        202
    );
    assert_eq!(
        b.call(Method::DELETE, &format!("blobs/{small}")).await.0,
        404
    );
}

#[tokio::test]
async fn uploads_digests_blobs_tags_and_deletes() {
    let b = blobs_world().await;
    let digest = chunked_uploads(&b).await;
    digests_are_checked_and_blobs_scoped(&b, &digest).await;
    let (good, good_digest) = manifests_follow_the_rules(&b, &digest).await;
    tags_page(&b).await;
    deletes_free_the_image(&b, &digest, &good, &good_digest).await;
    blobs_delete(&b).await;
}

/// A small image in `b`: config and layer blobs, a manifest tagged `tag`.
/// Answers (config, layer, manifest digest, manifest bytes).
async fn small_image(b: &Blobs, tag: &str, layer: &[u8]) -> (String, String, String, Vec<u8>) {
    let config = format!("{{\"architecture\":\"{tag}\",\"os\":\"linux\"}}");
    let config = rs::push_blob(&b.hcm.registry, &b.token, &b.name, config.as_bytes())
        .await
        .unwrap();
    let layer = rs::push_blob(&b.hcm.registry, &b.token, &b.name, layer)
        .await
        .unwrap();
    let manifest = manifest_of(&config, &layer);
    let (status, headers, body) = put_manifest(b, tag, manifest.clone()).await;
    assert_eq!(status, 201, "{body}");
    let digest = headers["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    (config, layer, digest, manifest)
}

/// Deletes that would leave an image listed but not pullable are refused,
/// as Harbor refuses them: a layer or config blob a manifest names and a
/// manifest's own blob (405 `UNSUPPORTED`: blobs go with their manifests),
/// and a platform manifest an index lists (409, until the index goes). The
/// image still pulls and the quota keeps counting it; in the right order,
/// every delete succeeds.
#[tokio::test]
async fn deletes_that_would_break_an_image_are_refused() {
    let b = blobs_world().await;
    let (config, layer, amd64, _) = small_image(&b, "amd64", b"layer of amd64").await;
    let (_, _, arm64, _) = small_image(&b, "arm64", b"layer of arm64").await;
    let entry =
        |digest: &str| json!({"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": digest, "size": 1});
    let index = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE,
        "manifests": [entry(&amd64), entry(&arm64)]})
    .to_string();
    let url = format!("{}/manifests/multi", b.base);
    let typed = (index.clone().into_bytes(), OCI_IMAGE_INDEX_MEDIA_TYPE);
    let (status, headers, body) = raw(Method::PUT, &url, Some(&b.token), Some(typed)).await;
    assert_eq!(status, 201, "{body}");
    let index_digest = headers["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let usage = || async {
        let (_, repo) = b
            .hcm
            .api(Method::GET, &format!("/v1/repository/{}", b.app.id), None)
            .await;
        repo["quotaUsed"].as_f64().unwrap() * 1e9
    };
    let used = usage().await;

    for blob in [&layer, &config, &amd64, &index_digest] {
        let (status, body) = b.call(Method::DELETE, &format!("blobs/{blob}")).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (405, "UNSUPPORTED"),
            "{body}"
        );
    }
    let (status, body) = b.call(Method::DELETE, &format!("manifests/{amd64}")).await;
    assert_eq!((status, code(&body).as_str()), (409, "DENIED"), "{body}");
    assert!(body.contains(&index_digest), "{body}");
    let artifact = format!(
        "/v1/repository/{}/images/artifacts/delete?imageName=web&digest={amd64}",
        b.app.id
    );
    let (status, body) = b.hcm.api(Method::DELETE, &artifact, None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(b.call(Method::GET, "manifests/amd64").await.0, 200);
    assert_eq!(b.call(Method::GET, &format!("blobs/{layer}")).await.0, 200);
    assert_eq!(usage().await, used);

    assert_eq!(
        b.call(Method::DELETE, &format!("manifests/{index_digest}"))
            .await
            .0,
        202
    );
    assert_eq!(
        b.call(Method::DELETE, &format!("manifests/{amd64}"))
            .await
            .0,
        202
    );
    assert_eq!(
        b.call(Method::GET, &format!("blobs/{layer}")).await.0,
        404,
        "the layer went with its manifest"
    );
    let unused = rs::push_blob(&b.hcm.registry, &b.token, &b.name, b"named by nothing")
        .await
        .unwrap();
    assert_eq!(
        b.call(Method::DELETE, &format!("blobs/{unused}")).await.0,
        202
    );
}

/// What the distribution spec and distribution itself answer: a manifest
/// reference that is neither a tag nor a digest is `MANIFEST_UNKNOWN` (404)
/// for GET, HEAD and DELETE (400 for PUT); a blob GET honours `Range`; a
/// token lacking the action gets `error="insufficient_scope"` with the scope
/// to ask for; an unknown route answers a code of the spec.
#[tokio::test]
async fn reads_ranges_scopes_and_routes_follow_the_spec() {
    let b = blobs_world().await;
    let bytes = b"0123456789abcdef";
    let (_, layer, _, manifest) = small_image(&b, "v1", bytes).await;
    for reference in ["-not-a-tag", "sha256:baddigeststring", "sha512:00"] {
        for method in [Method::GET, Method::DELETE] {
            let (status, body) = b
                .call(method.clone(), &format!("manifests/{reference}"))
                .await;
            assert_eq!(
                (status, code(&body).as_str()),
                (404, "MANIFEST_UNKNOWN"),
                "{method} {reference}"
            );
        }
        let head = b
            .call(Method::HEAD, &format!("manifests/{reference}"))
            .await;
        assert_eq!(head.0, 404, "HEAD {reference}");
    }
    let (status, _, body) = put_manifest(&b, "-not-a-tag", manifest).await;
    assert_eq!((status, code(&body).as_str()), (400, "TAG_INVALID"));

    let blob = format!("{}/blobs/{layer}", b.base);
    let ranged = |range: &'static str| {
        let (blob, token) = (blob.clone(), b.token.clone());
        async move {
            let resp = registry_support::http_client()
                .get(blob)
                .bearer_auth(token)
                .header("range", range)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let content_range = resp
                .headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_string());
            (status, content_range, resp.text().await.unwrap())
        }
    };
    assert_eq!(
        ranged("bytes=2-5").await,
        (206, Some("bytes 2-5/16".into()), "2345".into())
    );
    assert_eq!(
        ranged("bytes=10-").await,
        (206, Some("bytes 10-15/16".into()), "abcdef".into())
    );
    assert_eq!(
        ranged("bytes=-3").await,
        (206, Some("bytes 13-15/16".into()), "def".into())
    );
    let (status, content_range, _) = ranged("bytes=16-").await;
    assert_eq!(
        (status, content_range.as_deref()),
        (416, Some("bytes */16"))
    );

    let pull_only = token_for(&b.hcm, &b.login, &b.name, "pull").await;
    let url = format!("{}/manifests/v2", b.base);
    let typed = (manifest_of(&layer, &layer), OCI_IMAGE_MEDIA_TYPE);
    let (status, headers, body) = raw(Method::PUT, &url, Some(&pull_only), Some(typed)).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("scope=\"repository:{}:pull,push\"", b.name)),
        "{challenge}"
    );
    let (status, headers, _) = raw(Method::PUT, &url, None, None).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        !challenge.contains("insufficient_scope"),
        "no token: {challenge}"
    );

    for path in [
        format!("{}/nothing/here", b.base),
        format!("http://{}/v3/", b.hcm.registry),
    ] {
        let (status, _, body) = raw(Method::GET, &path, Some(&b.token), None).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (404, "UNSUPPORTED"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn mounts_need_pull_rights_on_the_source() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let target = create_repo(&hcm, "mount-target", false, 1).await;
    let source = create_repo(&hcm, "mount-source", false, 1).await;
    let owner = create_user(&hcm, "src-owner", &[(&source, PUSH_PULL)]).await;
    let both = create_user(
        &hcm,
        "both-user",
        &[(&target, PUSH_PULL), (&source, PULL_ONLY)],
    )
    .await;
    let only = create_user(&hcm, "only-user", &[(&target, PUSH_PULL)]).await;
    let (owner, both, only) = ((owner.0, owner.1), (both.0, both.1), (only.0, only.1));
    let source_name = format!("{}/base", source.backend);
    let owner_token = token_for(&hcm, &owner, &source_name, "pull,push").await;
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
            &auth_of(&both),
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
    let token = token_for(&hcm, &only, &target_name, "pull,push").await;
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
    let token = token_for(&hcm, &both, &target_name, "pull,push").await;
    let (status, headers, _) = raw(Method::POST, &mount, Some(&token), None).await;
    assert_eq!(status, 201);
    assert_eq!(
        headers["location"],
        format!("/v2/{target_name}/blobs/{second}").as_str()
    );
    assert_eq!(raw(Method::HEAD, &head, Some(&token), None).await.0, 200);
}

/// Pushes one image per platform as `app:<arch>`; answers the index entries.
async fn push_platforms(r: &Region, app: &Repo, auth: &RegistryAuth) -> Vec<ImageIndexEntry> {
    let client = oci(false);
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let (layers, config) = image(&format!("built for {arch}"), arch);
        let reference = reference(r, app, &format!("app:{arch}"));
        let pushed = client
            .push(&reference, &layers, config, auth, None)
            .await
            .unwrap();
        let digest = pushed.manifest_url.rsplit('/').next().unwrap().to_string();
        let (bytes, _) = client
            .pull_manifest_raw(&reference, auth, &[OCI_IMAGE_MEDIA_TYPE])
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
    entries
}

/// An OCI index of the platforms; a client picks the platform it wants.
/// Answers the index's digest.
async fn index_resolves_per_platform(
    r: &Region,
    app: &Repo,
    auth: &RegistryAuth,
    entries: &[ImageIndexEntry],
) -> String {
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.to_string()),
        manifests: entries.to_vec(),
        artifact_type: None,
        annotations: None,
    };
    let multi = reference(r, app, "app:multi");
    let client = oci(false);
    client
        .push_manifest_list(&multi, auth, index)
        .await
        .unwrap();
    let (bytes, digest) = client
        .pull_manifest_raw(&multi, auth, &[OCI_IMAGE_INDEX_MEDIA_TYPE])
        .await
        .unwrap();
    let read: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(read["manifests"].as_array().unwrap().len(), 2);
    let for_arm = Client::new(ClientConfig {
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
    let pulled = for_arm.pull(&multi, auth, LAYERS.to_vec()).await.unwrap();
    assert_eq!(&pulled.layers[0].data[..], b"built for arm64");
    digest
}

/// A Docker manifest list of schema 2 manifests; an index may only list
/// manifests of its image. Answers the schema 2 manifest's digest.
async fn docker_manifest_lists(base: &str, token: &str) -> String {
    let (_, _, amd64) = raw(
        Method::GET,
        &format!("{base}/manifests/amd64"),
        Some(token),
        None,
    )
    .await;
    let mut docker: Value = serde_json::from_str(&amd64).unwrap();
    docker["mediaType"] = json!(IMAGE_MANIFEST_MEDIA_TYPE);
    docker["config"]["mediaType"] = json!("application/vnd.docker.container.image.v1+json");
    let docker = serde_json::to_vec(&docker).unwrap();
    let put = |tag: &str, bytes: Vec<u8>, media_type: &'static str| {
        let url = format!("{base}/manifests/{tag}");
        async move { raw(Method::PUT, &url, Some(token), Some((bytes, media_type))).await }
    };
    let (status, headers, body) =
        put("docker-amd64", docker.clone(), IMAGE_MANIFEST_MEDIA_TYPE).await;
    assert_eq!(status, 201, "{body}");
    let docker_digest = headers["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let list = json!({"schemaVersion": 2, "mediaType": IMAGE_MANIFEST_LIST_MEDIA_TYPE, "manifests": [
        {"mediaType": IMAGE_MANIFEST_MEDIA_TYPE, "digest": docker_digest, "size": docker.len(),
         "platform": {"architecture": "amd64", "os": "linux"}}]});
    let (status, _, body) = put(
        "docker-list",
        serde_json::to_vec(&list).unwrap(),
        IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, headers, _) = raw(
        Method::GET,
        &format!("{base}/manifests/docker-list"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(headers["content-type"], IMAGE_MANIFEST_LIST_MEDIA_TYPE);
    let stray = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE, "manifests": [
        {"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": format!("sha256:{}", "1".repeat(64)), "size": 1}]});
    let (status, _, body) = put(
        "stray",
        serde_json::to_vec(&stray).unwrap(),
        OCI_IMAGE_INDEX_MEDIA_TYPE,
    )
    .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MANIFEST_BLOB_UNKNOWN"),
        "{body}"
    );
    docker_digest
}

#[tokio::test]
async fn multi_architecture_indexes_and_manifest_lists() {
    let srv = server().await;
    let hcm = region(&srv, "hcm");
    let app = create_repo(&hcm, "multi-repo", false, 1).await;
    let (login, secret, _) = create_user(&hcm, "multi-user", &[(&app, PUSH_PULL)]).await;
    let auth = basic(&login, &secret);
    let entries = push_platforms(&hcm, &app, &auth).await;
    let index_digest = index_resolves_per_platform(&hcm, &app, &auth, &entries).await;
    let name = format!("{}/app", app.backend);
    let token = rs::registry_token(&hcm.registry, &login, &secret, &name, "pull,push,delete")
        .await
        .unwrap();
    let base = format!("http://{}/v2/{name}", hcm.registry);
    let docker_digest = docker_manifest_lists(&base, &token).await;

    // The API lists an index as one artifact; deleting it takes its platforms.
    let artifacts = format!("/v1/repository/{}/images/artifacts?imageName=app", app.id);
    let (_, arts) = hcm.api(Method::GET, &artifacts, None).await;
    let listed: Vec<&str> = arts["listData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["digest"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&index_digest.as_str()), "{arts}");
    assert!(
        !listed.contains(&entries[0].digest.as_str()),
        "platform manifests are part of the index: {arts}"
    );
    assert!(!listed.contains(&docker_digest.as_str()), "{arts}");
    let delete = format!(
        "/v1/repository/{}/images/artifacts/delete?imageName=app&digest={index_digest}",
        app.id
    );
    assert_eq!(hcm.api(Method::DELETE, &delete, None).await.0, 200);
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
    let delete = format!("/v1/repository/{}/images/delete?imageName=app", app.id);
    assert_eq!(hcm.api(Method::DELETE, &delete, None).await.0, 200);
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

/// A repository of 1 GiB on a vcr-local that keeps its blobs on disk.
struct Quota {
    data: tempfile::TempDir,
    _srv: RunningServer,
    hcm: Region,
    app: Repo,
    name: String,
    token: String,
}

/// What a GB of quota is in the quota tests (`LocalConfig::quota_unit`): one MiB, so
/// that they fill a quota without pushing a gigabyte.
const UNIT: u64 = 1 << 20;

async fn quota_world() -> Quota {
    let data = tempfile::tempdir().unwrap();
    let srv = server_with(LocalConfig {
        data_dir: Some(data.path().to_path_buf()),
        quota_unit: QuotaUnit::new(UNIT).unwrap(),
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
    Quota {
        data,
        _srv: srv,
        hcm,
        app,
        name,
        token,
    }
}

/// A blob one byte over the limit is refused with Harbor's message and nothing
/// kept; one just under is accepted; then a small blob and a manifest that
/// would go over are refused. Answers the manifest that did not fit.
async fn the_limit_is_in_real_bytes(q: &Quota) -> Vec<u8> {
    let over = rs::push_streamed_blob(&q.hcm.registry, &q.token, &q.name, "over", UNIT + 1)
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
    assert_eq!(blob_files(q.data.path()), 0);

    let layer = rs::push_streamed_blob(&q.hcm.registry, &q.token, &q.name, "layer", UNIT - 600)
        .await
        .unwrap();
    let (_, repo) = q
        .hcm
        .api(Method::GET, &format!("/v1/repository/{}", q.app.id), None)
        .await;
    // 600 bytes short of 1 GB (of 2^20 bytes), to 3 decimals.
    assert_eq!(repo["quotaUsed"], 0.999, "{repo}");
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = rs::push_blob(&q.hcm.registry, &q.token, &q.name, config)
        .await
        .unwrap();
    let refused = rs::push_blob(&q.hcm.registry, &q.token, &q.name, &[7u8; 1024])
        .await
        .unwrap_err();
    assert_eq!(
        (refused.0, code(&refused.1).as_str()),
        (403, "DENIED"),
        "{}",
        refused.1
    );
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": UNIT - 600}],
        "annotations": {"padding": "p".repeat(600)}});
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let url = format!("http://{}/v2/{}/manifests/v1", q.hcm.registry, q.name);
    let (status, _, body) = raw(
        Method::PUT,
        &url,
        Some(&q.token),
        Some((manifest.clone(), OCI_IMAGE_MEDIA_TYPE)),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (403, "DENIED"), "{body}");
    assert!(body.contains("Quota exceeded"), "{body}");
    manifest
}

/// The quota cannot go below the usage; above it, the push completes.
async fn a_larger_quota_lets_the_push_complete(q: &Quota, manifest: Vec<u8>) {
    let quotas = format!("/v1/repository/{}/quotas", q.app.id);
    let (s, body) = q
        .hcm
        .api(
            Method::PUT,
            &quotas,
            Some(json!({"repoId": q.app.id, "quotaLimit": 2})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let url = format!("http://{}/v2/{}/manifests/v1", q.hcm.registry, q.name);
    assert_eq!(
        raw(
            Method::PUT,
            &url,
            Some(&q.token),
            Some((manifest, OCI_IMAGE_MEDIA_TYPE))
        )
        .await
        .0,
        201
    );
    let (_, repo) = q
        .hcm
        .api(Method::GET, &format!("/v1/repository/{}", q.app.id), None)
        .await;
    assert_eq!(repo["imageCount"], 1);
    let (s, body) = q
        .hcm
        .api(
            Method::PUT,
            &quotas,
            Some(json!({"repoId": q.app.id, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
}

/// A repository with images cannot go; without them it can, and its blobs go
/// too; a new repository of the same name starts empty.
async fn deletes_free_the_blobs(q: &Quota) {
    let repo_path = format!("/v1/repository/{}", q.app.id);
    let (s, body) = q.hcm.api(Method::DELETE, &repo_path, None).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("delete its images first"));
    assert_eq!(blob_files(q.data.path()), 3, "layer, config and manifest");
    let delete = format!("{repo_path}/images/delete?imageName=big");
    assert_eq!(q.hcm.api(Method::DELETE, &delete, None).await.0, 200);
    let (_, repo) = q.hcm.api(Method::GET, &repo_path, None).await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
    assert_eq!(
        blob_files(q.data.path()),
        0,
        "no repository holds them any more"
    );
    let kept = rs::push_blob(&q.hcm.registry, &q.token, &q.name, b"an orphan blob")
        .await
        .unwrap();
    assert_eq!(blob_files(q.data.path()), 1);
    assert_eq!(q.hcm.api(Method::DELETE, &repo_path, None).await.0, 202);
    assert_eq!(
        blob_files(q.data.path()),
        0,
        "a deleted repository's blobs are gone"
    );

    let again = create_repo(&q.hcm, "quota-repo", false, 1).await;
    let (login, secret, _) = create_user(&q.hcm, "quota-user2", &[(&again, PUSH_PULL)]).await;
    let token = rs::registry_token(&q.hcm.registry, &login, &secret, &q.name, "pull")
        .await
        .unwrap();
    let head = format!("http://{}/v2/{}/blobs/{kept}", q.hcm.registry, q.name);
    assert_eq!(raw(Method::HEAD, &head, Some(&token), None).await.0, 404);
}

#[tokio::test]
async fn quotas_count_real_bytes_and_deletes_free_them() {
    let q = quota_world().await;
    let manifest = the_limit_is_in_real_bytes(&q).await;
    a_larger_quota_lets_the_push_complete(&q, manifest).await;
    deletes_free_the_blobs(&q).await;
}

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
