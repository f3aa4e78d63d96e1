//! A few raw registry calls for tests that need real images in vcr-local
//! (the fake-image controls are gone): a push user made through the
//! management API, and an image of any size pushed through the registry with
//! its layer streamed (never held in memory), then the user removed.
//! The matrix of registry behaviour itself is tested with an independent
//! client (`oci-client`) in `tests/local/registry.rs`.
#![allow(dead_code)]

use axum::body::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A client for vcr-local, which the tests reach over plain HTTP on loopback: it reads
/// no CA bundle, where building a default client decodes the system's certificates
/// (about 150) every time, the most CPU a test's own process spent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .expect("a plain HTTP client")
}

/// How to reach one region of a vcr-local: its API and its registry.
#[derive(Debug, Clone)]
pub struct Region {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The region's API base URL (`http://HOST:PORT/hcm`).
    pub endpoint: String,
    /// The region's registry, `host:port`.
    pub registry: String,
}

pub const PULL_POLICY: &str = "Pull Images";
pub const PUSH_POLICY: &str = "Push Images";

/// An IAM token from vcr-local's token endpoint, for calls made by hand.
pub async fn iam_token(
    http: &reqwest::Client,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
) -> String {
    let v: Value = http
        .post(token_url)
        .basic_auth(client_id, Some(client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

impl Region {
    pub async fn iam_token(&self, http: &reqwest::Client) -> String {
        iam_token(http, &self.token_url, &self.client_id, &self.client_secret).await
    }

    /// A management API call; answers status and JSON body (or `Null`).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let http = http_client();
        let token = self.iam_token(&http).await;
        let mut rb = http
            .request(method, format!("{}{path}", self.endpoint))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A repository's id from its id or name.
    pub async fn repo_id(&self, id_or_name: &str) -> String {
        if id_or_name.starts_with("repo-") {
            return id_or_name.to_string();
        }
        let (_, page) = self
            .api(
                reqwest::Method::GET,
                &format!("/v1/repository?name={id_or_name}&size=100"),
                None,
            )
            .await;
        page["listData"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == id_or_name)
            .unwrap_or_else(|| panic!("no repository {id_or_name}"))["uuid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The policy ids whose action is among `actions`.
    pub async fn policy_ids(&self, actions: &[&str]) -> Vec<String> {
        let (_, list) = self
            .api(reqwest::Method::GET, "/v1/user/permissions", None)
            .await;
        list.as_array()
            .unwrap()
            .iter()
            .filter(|p| actions.contains(&p["action"].as_str().unwrap()))
            .map(|p| p["uuid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Creates a user with these policies on one repository; answers its
    /// login (backend name), secret and id.
    pub async fn create_user(
        &self,
        name: &str,
        repo_id: &str,
        actions: &[&str],
    ) -> (String, String, String) {
        let policies = self.policy_ids(actions).await;
        let (status, body) = self
            .api(
                reqwest::Method::POST,
                "/v1/user",
                Some(json!({"name": name, "permissionRequestList": [{"repoId": repo_id, "policyIdList": policies}]})),
            )
            .await;
        assert_eq!(status, 200, "user created: {body}");
        let secret = body["secretKey"].as_str().unwrap().to_string();
        let (_, page) = self
            .api(reqwest::Method::GET, &format!("/v1/user?name={name}"), None)
            .await;
        let user = page["listData"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()
            .clone();
        (
            user["backendName"].as_str().unwrap().to_string(),
            secret,
            user["uuid"].as_str().unwrap().to_string(),
        )
    }

    /// Pushes `<backendName of repo>/<image>:latest` with one layer of
    /// `layer_kib` KiB, as a throw-away push user; answers the repository as
    /// the API shows it afterwards.
    pub async fn push_image(&self, repo: &str, image: &str, layer_kib: u64) -> Value {
        self.push_image_tagged(repo, image, "latest", layer_kib)
            .await
    }

    /// As [`Region::push_image`], with a tag.
    pub async fn push_image_tagged(
        &self,
        repo: &str,
        image: &str,
        tag: &str,
        layer_kib: u64,
    ) -> Value {
        let repo_id = self.repo_id(repo).await;
        let (_, dto) = self
            .api(
                reqwest::Method::GET,
                &format!("/v1/repository/{repo_id}"),
                None,
            )
            .await;
        let backend = dto["backendName"].as_str().unwrap().to_string();
        let name = format!("push{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let (login, secret, user_id) = self
            .create_user(&name, &repo_id, &[PULL_POLICY, PUSH_POLICY])
            .await;
        let pushed = push_synthetic_image(
            &self.registry,
            &login,
            &secret,
            &format!("{backend}/{image}"),
            tag,
            layer_kib << 10,
        )
        .await;
        let (status, _) = self
            .api(
                reqwest::Method::DELETE,
                &format!("/v1/user/{user_id}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        if let Err((status, body)) = pushed {
            panic!("push of {image} ({layer_kib} KiB) refused: {status} {body}");
        }
        self.api(
            reqwest::Method::GET,
            &format!("/v1/repository/{repo_id}"),
            None,
        )
        .await
        .1
    }
}

/// A registry token for `name` with these actions (`pull`, `pull,push`).
pub async fn registry_token(
    registry: &str,
    login: &str,
    secret: &str,
    name: &str,
    actions: &str,
) -> Result<String, (u16, String)> {
    request_token(registry, Some((login, secret)), name, actions).await
}

/// A token asked for with no login at all, as an anonymous pull does (the token
/// grants only what anyone may do).
pub async fn anonymous_registry_token(registry: &str, name: &str, actions: &str) -> String {
    request_token(registry, None, name, actions)
        .await
        .unwrap_or_else(|(status, body)| panic!("anonymous token: {status} {body}"))
}

async fn request_token(
    registry: &str,
    login: Option<(&str, &str)>,
    name: &str,
    actions: &str,
) -> Result<String, (u16, String)> {
    let mut req = http_client()
        .get(format!("http://{registry}/service/token"))
        .query(&[
            ("service", "harbor-registry"),
            ("scope", &format!("repository:{name}:{actions}")),
        ]);
    if let Some((login, secret)) = login {
        req = req.basic_auth(login, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    if status != 200 {
        return Err((status, text));
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    Ok(v["token"].as_str().unwrap().to_string())
}

/// The content of a synthetic layer: a 1 MiB pattern, different per seed,
/// repeated (and cut) to `size` bytes.
pub fn layer_pattern(seed: &str) -> Bytes {
    let mut block = Vec::with_capacity(1 << 20);
    let mut state = Sha256::digest(seed.as_bytes()).to_vec();
    while block.len() < 1 << 20 {
        state = Sha256::digest(&state).to_vec();
        block.extend_from_slice(&state);
    }
    block.truncate(1 << 20);
    Bytes::from(block)
}

/// The chunks of `size` bytes of the pattern.
fn chunks(pattern: &Bytes, size: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
    let pattern = pattern.clone();
    let block = pattern.len() as u64;
    (0..size.div_ceil(block)).map(move |i| {
        let len = (size - i * block).min(block) as usize;
        pattern.slice(..len)
    })
}

/// Streams `size` bytes of a seeded pattern as a blob of `name`; answers its
/// digest. The digest is computed first, by a pass over the same chunks.
pub async fn push_streamed_blob(
    registry: &str,
    token: &str,
    name: &str,
    seed: &str,
    size: u64,
) -> Result<String, (u16, String)> {
    let pattern = layer_pattern(seed);
    let mut hasher = Sha256::new();
    for c in chunks(&pattern, size) {
        hasher.update(&c);
    }
    let digest = format!("sha256:{}", hex(&hasher.finalize()));
    let stream = futures_util::stream::iter(chunks(&pattern, size).map(Ok::<_, std::io::Error>));
    let resp = http_client()
        .post(format!(
            "http://{registry}/v2/{name}/blobs/uploads/?digest={digest}"
        ))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .header("content-length", size.to_string())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map_err(|e| (0, e.to_string()))?;
    match resp.status().as_u16() {
        201 => Ok(digest),
        s => Err((s, resp.text().await.unwrap_or_default())),
    }
}

/// Pushes a whole small blob; answers its digest.
pub async fn push_blob(
    registry: &str,
    token: &str,
    name: &str,
    bytes: &[u8],
) -> Result<String, (u16, String)> {
    let digest = format!("sha256:{}", hex(&Sha256::digest(bytes)));
    let resp = http_client()
        .post(format!(
            "http://{registry}/v2/{name}/blobs/uploads/?digest={digest}"
        ))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    match resp.status().as_u16() {
        201 => Ok(digest),
        s => Err((s, resp.text().await.unwrap_or_default())),
    }
}

/// Pushes an image with one synthetic layer of `size` bytes and a tag.
pub async fn push_synthetic_image(
    registry: &str,
    login: &str,
    secret: &str,
    name: &str,
    tag: &str,
    size: u64,
) -> Result<String, (u16, String)> {
    let token = registry_token(registry, login, secret, name, "pull,push").await?;
    let layer = push_streamed_blob(registry, &token, name, name, size).await?;
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer]}});
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = push_blob(registry, &token, name, &config).await?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": size}],
    });
    let resp = http_client()
        .put(format!("http://{registry}/v2/{name}/manifests/{tag}"))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(serde_json::to_vec(&manifest).unwrap())
        .send()
        .await
        .unwrap();
    match resp.status().as_u16() {
        201 => Ok(resp.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_string()),
        s => Err((s, resp.text().await.unwrap_or_default())),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
