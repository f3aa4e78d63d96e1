//! vcr-local over raw HTTP: the contract's shapes and status codes, its
//! refusals (always a 4xx JSON error, never a panic or a 500), the `/_local`
//! controls, and the `vcr-local` binary (start-up lines, kill -9, SIGTERM).

use crate::vcr_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use vcr_provider::local::{LocalConfig, RunningServer, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use vcr_support::*;

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(srv: &RunningServer) -> Raw {
        let http = registry_support::http_client();
        let token = token(&http, &srv.token_url()).await;
        Raw {
            http,
            base: srv.endpoint_hcm(),
            token,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(reqwest::Method::POST, path).json(&body))
            .await
    }
}

async fn token(http: &reqwest::Client, url: &str) -> String {
    registry_support::iam_token(http, url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await
}

/// A 4xx with the contract's error body, whose message contains `needle`.
#[track_caller]
fn assert_refused(got: (StatusCode, Value), status: u16, needle: &str) {
    let (s, body) = got;
    assert_eq!(s.as_u16(), status, "{body}");
    let msg = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"));
    assert!(body["errorCode"].is_string(), "{body}");
    assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
}

#[tokio::test]
async fn token_endpoint() {
    let srv = server().await;
    let http = registry_support::http_client();
    let url = srv.token_url();

    let resp = http
        .post(&url)
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1800);
    assert_eq!(v["refresh_expires_in"], 0);
    let jwt = v["access_token"].as_str().unwrap();
    let claims = jwt.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["accountId"], 100001);

    // JSON body accepted too.
    let resp = http
        .post(&url)
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let send = |rb: reqwest::RequestBuilder| async move {
        let r = rb.send().await.unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_refused(
        send(
            http.post(&url)
                .form(&[("grant_type", "client_credentials")]),
        )
        .await,
        401,
        "Basic",
    );
    assert_refused(
        send(
            http.post(&url)
                .basic_auth(DEFAULT_CLIENT_ID, Some("wrong"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await,
        401,
        "wrong",
    );
    assert_refused(
        send(
            http.post(&url)
                .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
                .form(&[("grant_type", "password")]),
        )
        .await,
        400,
        "client_credentials",
    );
    assert_refused(send(http.get(&url)).await, 405, "not allowed");
}

#[tokio::test]
async fn bad_tokens_get_401() {
    let srv = server().await;
    let other = server().await;
    let raw = Raw::new(&srv).await;
    let list = format!("{}/v1/repository", srv.endpoint_hcm());
    let send = |rb: reqwest::RequestBuilder| async move {
        let r = rb.send().await.unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(
        send(raw.http.get(&list).bearer_auth(&raw.token)).await.0,
        200
    );
    assert_refused(send(raw.http.get(&list)).await, 401, "Bearer");
    assert_refused(
        send(raw.http.get(&list).bearer_auth("garbage")).await,
        401,
        "malformed",
    );
    let foreign = token(&raw.http, &other.token_url()).await;
    assert_refused(
        send(raw.http.get(&list).bearer_auth(&foreign)).await,
        401,
        "signature",
    );
    let mut tampered = raw.token.clone();
    tampered.pop();
    tampered.push(if raw.token.ends_with('A') { 'B' } else { 'A' });
    assert_refused(
        send(raw.http.get(&list).bearer_auth(&tampered)).await,
        401,
        "",
    );
    advance_clock(&srv, 1801).await;
    assert_refused(
        send(raw.http.get(&list).bearer_auth(&raw.token)).await,
        401,
        "expired",
    );
}

/// The fields of RepositoryDto.
const REPOSITORY_FIELDS: [&str; 10] = [
    "uuid",
    "name",
    "backendName",
    "accessLevel",
    "imageCount",
    "attachedUser",
    "quotaLimit",
    "quotaUsed",
    "registryUrl",
    "createdAt",
];
/// The fields of RobotAccountDto.
const USER_FIELDS: [&str; 10] = [
    "uuid",
    "name",
    "backendName",
    "description",
    "disable",
    "expiredAt",
    "createdAt",
    "userId",
    "numberOfRepo",
    "repoPermissionList",
];

#[tokio::test]
async fn contract_shapes_and_status_codes() {
    let srv = server().await;
    let raw = Raw::new(&srv).await;
    let (s, repo) = raw
        .post(
            "/v1/repository",
            json!({"repoName": "shape-repo", "isPublic": false, "quotaLimit": 3}),
        )
        .await;
    assert_eq!(s, 202);
    for k in REPOSITORY_FIELDS {
        assert!(repo.get(k).is_some(), "{k} in {repo}");
    }
    assert_eq!(repo["accessLevel"], "PRIVATE");
    let id = repo["uuid"].as_str().unwrap().to_string();

    let (s, page) = raw
        .send(raw.req(reqwest::Method::GET, "/v1/repository?page=1&size=5"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["page"], 1);
    assert_eq!(page["pageSize"], 5);
    assert_eq!(page["totalPage"], 1);
    assert_eq!(page["totalItem"], 1);
    assert_eq!(page["listData"][0]["uuid"], id.as_str());

    let (s, created) = raw
        .post(
            "/v1/user",
            json!({"name": "shape-user", "permissionRequestList": []}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        created.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["secretKey"],
        "no id"
    );
    let (_, users) = raw
        .send(raw.req(reqwest::Method::GET, "/v1/user?name=shape-user"))
        .await;
    let user = &users["listData"][0];
    for k in USER_FIELDS {
        assert!(user.get(k).is_some(), "{k} in {user}");
    }
    assert!(user.get("secretKey").is_none() && !user.to_string().contains("secret"));
    let uid = user["uuid"].as_str().unwrap();
    let (s, fresh) = raw
        .send(raw.req(reqwest::Method::GET, &format!("/v1/user/{uid}/refresh")))
        .await;
    assert_eq!(s, 200);
    assert!(fresh.is_string(), "a bare JSON string: {fresh}");

    let (s, pols) = raw
        .send(raw.req(reqwest::Method::GET, "/v1/user/permissions"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        pols,
        json!([
            {"uuid": "b7f3c2d0-5a1e-4c8b-9f2a-1d0e6c3b7a01", "action": "Pull Images"},
            {"uuid": "e4a9d1c6-2b7f-4e3a-8c5d-9f1b0a2e6d02", "action": "Push Images"},
            {"uuid": "0c6e2f8a-9d4b-4a17-b3e5-7f2d1c9a4b03", "action": "All"},
        ])
    );

    let (s, _) = raw
        .send(raw.req(reqwest::Method::DELETE, &format!("/v1/repository/{id}")))
        .await;
    assert_eq!(s, 202);
}

/// One refused request: method, path under the region (or `//` for the
/// server's root), body (JSON unless `raw`), and the status and words expected.
struct Refusal {
    method: &'static str,
    path: String,
    body: Option<String>,
    json: bool,
    status: u16,
    needle: &'static str,
}

fn refusal(
    method: &'static str,
    path: impl Into<String>,
    body: Option<&str>,
    status: u16,
    needle: &'static str,
) -> Refusal {
    Refusal {
        method,
        path: path.into(),
        body: body.map(String::from),
        json: true,
        status,
        needle,
    }
}

/// Requests that break a rule, each with the status and words of its refusal
/// (`id` is a repository's id).
fn refusals(id: &str) -> Vec<Refusal> {
    let huge = format!("{{\"repoName\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let user_with = |perms: &str| {
        format!(
            r#"{{"name":"rule-user","permissionRequestList":[{{"repoId":"{id}","policyIdList":{perms}}}]}}"#
        )
    };
    let long_description = format!(
        r#"{{"name":"rule-user","description":"{}","permissionRequestList":[]}}"#,
        "d".repeat(256)
    );
    let repo_path = "/v1/repository";
    vec![
        refusal("POST", repo_path, Some("{\"repoName\":"), 400, "JSON"),
        refusal("POST", repo_path, Some("[1,2]"), 400, "JSON object"),
        refusal("POST", repo_path, Some("null"), 400, "JSON object"),
        refusal(
            "POST",
            repo_path,
            Some(r#"{"repoName":"abcdef","isPublic":false,"quotaLimit":"5"}"#),
            400,
            "quotaLimit",
        ),
        refusal(
            "POST",
            repo_path,
            Some(r#"{"repoName":"abcdef","isPublic":false,"quotaLimit":1.5}"#),
            400,
            "whole number",
        ),
        refusal(
            "POST",
            repo_path,
            Some(r#"{"repoName":"abcdef","isPublic":"yes","quotaLimit":1}"#),
            400,
            "isPublic",
        ),
        refusal(
            "POST",
            repo_path,
            Some(r#"{"repoName":7}"#),
            400,
            "repoName must be a string",
        ),
        refusal(
            "POST",
            repo_path,
            Some(r#"{"isPublic":true,"quotaLimit":1}"#),
            400,
            "repoName is required",
        ),
        Refusal {
            json: false,
            ..refusal("POST", repo_path, Some("{}"), 415, "Content-Type")
        },
        refusal("POST", repo_path, Some(&huge), 413, ""),
        refusal("GET", "/v1/nothing", None, 404, "no such endpoint"),
        refusal("GET", "//elsewhere", None, 404, "no such endpoint"),
        refusal("PATCH", repo_path, None, 405, "PATCH"),
        refusal("GET", "/v1/repository?page=0", None, 400, "at least 1"),
        refusal("GET", "/v1/repository?page=abc", None, 400, "whole number"),
        refusal("GET", "/v1/user?size=0", None, 400, "size"),
        refusal(
            "GET",
            "/v1/repository?accessLevel=SECRET",
            None,
            400,
            "PUBLIC or PRIVATE",
        ),
        refusal("GET", "/v1/repository/%FF%FE", None, 400, "path"),
        refusal("GET", "/v1/repository/repo-x", None, 404, "repo-x"),
        refusal(
            "PUT",
            format!("/v1/repository/{id}/quotas"),
            Some(r#"{"repoId":"repo-other","quotaLimit":2}"#),
            400,
            "does not match",
        ),
        refusal(
            "DELETE",
            format!("/v1/repository/{id}/images/delete"),
            None,
            400,
            "imageName",
        ),
        refusal(
            "GET",
            format!("/v1/repository/{id}/images/detail"),
            None,
            400,
            "imageName",
        ),
        refusal(
            "GET",
            format!("/v1/repository/{id}/images/artifacts?name="),
            None,
            400,
            "imageName",
        ),
        refusal(
            "DELETE",
            format!("/v1/repository/{id}/images/artifacts/delete?imageName=web"),
            None,
            400,
            "digest",
        ),
        refusal(
            "GET",
            format!("/v1/repository/{id}/images/detail?imageName=web"),
            None,
            404,
            "no image",
        ),
        refusal(
            "DELETE",
            format!("/v1/repository/{id}/images/delete?imageName=web"),
            None,
            404,
            "no image",
        ),
        refusal(
            "POST",
            "/v1/user",
            Some(r#"{"name":"rule-user","duration":0,"permissionRequestList":[]}"#),
            400,
            "duration",
        ),
        refusal(
            "POST",
            "/v1/user",
            Some(&user_with("[]")),
            400,
            "at least one policy",
        ),
        refusal(
            "POST",
            "/v1/user",
            Some(&user_with(r#"["nope"]"#)),
            400,
            "unknown policy",
        ),
        refusal(
            "POST",
            "/v1/user",
            Some(r#"{"name":"rule-user"}"#),
            400,
            "permissionRequestList",
        ),
        refusal(
            "POST",
            "/v1/user",
            Some(&long_description),
            400,
            "at most 255",
        ),
    ]
}

#[tokio::test]
async fn bad_requests_get_4xx_with_a_message() {
    let srv = server().await;
    let raw = Raw::new(&srv).await;
    let (_, repo) = raw
        .post(
            "/v1/repository",
            json!({"repoName": "rules-repo", "isPublic": true, "quotaLimit": 1}),
        )
        .await;
    let id = repo["uuid"].as_str().unwrap().to_string();
    let table = refusals(&id);
    for r in &table {
        let url = match r.path.strip_prefix("//") {
            Some(rest) => format!("{}/{rest}", srv.base_url()),
            None => format!("{}{}", raw.base, r.path),
        };
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut rb = raw.http.request(method, &url).bearer_auth(&raw.token);
        if let Some(body) = r.body.clone() {
            if r.json {
                rb = rb.header("content-type", "application/json");
            }
            rb = rb.body(body);
        }
        let (status, body) = raw.send(rb).await;
        assert_eq!(status.as_u16(), r.status, "{} {}: {body}", r.method, r.path);
        let msg = body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{} {}: no message in {body}", r.method, r.path));
        assert!(body["errorCode"].is_string(), "{body}");
        assert!(
            msg.contains(r.needle),
            "{} {}: {msg:?} should contain {:?}",
            r.method,
            r.path,
            r.needle
        );
    }

    // The images list without `name` answers 500, as the real service does.
    let (status, body) = raw
        .send(raw.req(reqwest::Method::GET, &format!("/v1/repository/{id}/images")))
        .await;
    assert_eq!(status, 500, "{body}");
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    let (status, body) = raw
        .send(raw.req(
            reqwest::Method::GET,
            &format!("/v1/repository/{id}/images?name="),
        ))
        .await;
    assert_eq!(
        (status.as_u16(), body["totalItem"].as_u64()),
        (200, Some(0)),
        "{body}"
    );

    // Nothing above was a server error, but for that one.
    let counters: Value = reqwest::get(format!("{}/requests", srv.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for r in counters["requests"].as_array().unwrap() {
        for status in r["statuses"].as_object().unwrap().keys() {
            let deliberate = r["path"].as_str().unwrap().ends_with("/images");
            assert!(!status.starts_with('5') || deliberate, "{r}");
        }
    }
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_repository() {
    let srv = server().await;
    let raw = std::sync::Arc::new(Raw::new(&srv).await);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let raw = raw.clone();
            tokio::spawn(async move {
                raw.post(
                    "/v1/repository",
                    json!({"repoName": "racing-repo", "isPublic": false, "quotaLimit": 1}),
                )
                .await
                .0
                .as_u16()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes.iter().filter(|c| **c == 202).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 19, "{codes:?}");
}

/// Faults: validated; latency; a fraction; removable by id.
async fn faults_are_validated_and_applied(srv: &RunningServer, raw: &Raw) {
    let (s, _) = local_post(srv, "/faults", json!({"path": "/hcm/*", "status": 200})).await;
    assert_eq!(s, 400);
    let (s, _) = local_post(srv, "/faults", json!({"path": "/hcm/*"})).await;
    assert_eq!(s, 400);
    let (s, rule) = local_post(
        srv,
        "/faults",
        json!({"method": "get", "path": "/hcm/v1/user*", "delayMs": 300}),
    )
    .await;
    assert_eq!(s, 201);
    let started = Instant::now();
    let (s, _) = raw.send(raw.req(reqwest::Method::GET, "/v1/user")).await;
    assert_eq!(s, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let gone = registry_support::http_client()
        .delete(format!(
            "{}/faults/{}",
            srv.local_url(),
            rule["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);

    fault(srv, json!({"path": "/hcm/v1/user/permissions", "status": 503, "fraction": 0.5, "retryAfter": 2})).await;
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..60 {
        let resp = raw
            .req(reqwest::Method::GET, "/v1/user/permissions")
            .send()
            .await
            .unwrap();
        if resp.status() == 503 {
            assert_eq!(resp.headers()["retry-after"], "2");
        }
        *seen.entry(resp.status().as_u16()).or_insert(0) += 1;
    }
    assert!(
        seen.contains_key(&503) && seen.contains_key(&200),
        "{seen:?}"
    );
    let faults: Value = reqwest::get(format!("{}/faults", srv.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults[0]["hits"], *seen.get(&503).unwrap());
    clear_faults(srv).await;
}

/// A fault answers any status with any body and headers: the IAM gateway's
/// JSON array, a redirect elsewhere; unknown fields are refused.
async fn faults_answer_any_shape(srv: &RunningServer, raw: &Raw) {
    fault(
        srv,
        json!({"method": "GET", "path": "/hcm/v1/user", "status": 403, "times": 1,
        "body": r#"[{"code":"IAM_PERMISSION_DENIED","message":"no vcrFullAccess"}]"#}),
    )
    .await;
    let resp = raw
        .req(reqwest::Method::GET, "/v1/user")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!([{"code": "IAM_PERMISSION_DENIED", "message": "no vcrFullAccess"}])
    );
    fault(
        srv,
        json!({"path": "/hcm/v1/repository", "status": 301, "times": 1,
        "headers": {"Location": "https://vcr.example.test/v1/repository"}}),
    )
    .await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .get(format!("{}/v1/repository", raw.base))
        .bearer_auth(&raw.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 301);
    assert_eq!(
        resp.headers()["location"],
        "https://vcr.example.test/v1/repository"
    );
    let (s, body) = local_post(srv, "/faults", json!({"status": 500, "stauts": 1})).await;
    assert_eq!(s, 400, "unknown fields are refused: {body}");
}

#[tokio::test]
async fn local_controls() {
    let srv = server().await;
    let raw = Raw::new(&srv).await;
    let (_, repo) = raw
        .post(
            "/v1/repository",
            json!({"repoName": "ctl-repo", "isPublic": false, "quotaLimit": 1}),
        )
        .await;
    let id = repo["uuid"].as_str().unwrap();

    // The fake-image controls are gone: images come from the registry.
    let (s, _) = local_post(
        &srv,
        &format!("/hcm/repositories/{id}/images"),
        json!({"name": "b"}),
    )
    .await;
    assert_eq!(s, 404);

    faults_are_validated_and_applied(&srv, &raw).await;
    faults_answer_any_shape(&srv, &raw).await;

    // Counters reset; reset forgets everything.
    reset_counts(&srv).await;
    assert_eq!(count(&srv, "GET", "/hcm/v1/user/permissions").await.0, 0);
    let (s, _) = local_post(&srv, "/reset", json!({})).await;
    assert_eq!(s, 200);
    let (_, page) = raw
        .send(raw.req(reqwest::Method::GET, "/v1/repository"))
        .await;
    assert_eq!(page["totalItem"], 0);
}

// ---- the binary ----------------------------------------------------------------

/// A `vcr-local` process and the settings it printed.
struct Proc {
    child: Child,
    settings: std::collections::HashMap<String, String>,
}

fn spawn_binary(args: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vcr-local runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut settings = std::collections::HashMap::new();
    let mut order = Vec::new();
    while settings.len() < 7 {
        let line = lines.next().expect("seven settings lines").unwrap();
        let (k, v) = line.split_once('=').expect("KEY=value");
        order.push(k.to_string());
        settings.insert(k.to_string(), v.to_string());
    }
    assert_eq!(
        order,
        [
            "VCR_TOKEN_URL",
            "VCR_ENDPOINT_HCM",
            "VCR_ENDPOINT_HAN",
            "VCR_REGISTRY_HCM",
            "VCR_REGISTRY_HAN",
            "VCR_CLIENT_ID",
            "VCR_CLIENT_SECRET"
        ]
    );
    Proc { child, settings }
}

fn client_of(p: &Proc) -> vcr_provider::vcr::Client {
    vcr_provider::vcr::Client::new(vcr_provider::vcr::ClientConfig {
        client_id: p.settings["VCR_CLIENT_ID"].clone(),
        client_secret: vcr_provider::vcr::Secret::new(p.settings["VCR_CLIENT_SECRET"].clone()),
        token_url: Some(p.settings["VCR_TOKEN_URL"].clone()),
        endpoint_hcm: Some(p.settings["VCR_ENDPOINT_HCM"].clone()),
        endpoint_han: Some(p.settings["VCR_ENDPOINT_HAN"].clone()),
        max_retries: 0,
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn binary_keeps_acknowledged_writes_through_kill_9() {
    use vcr_provider::vcr::{CreateRepository, Region};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut p = spawn_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--account-id",
        "4242",
    ]);
    assert!(p.settings["VCR_ENDPOINT_HCM"].ends_with("/hcm"));
    assert!(p.settings["VCR_ENDPOINT_HAN"].ends_with("/han"));
    assert!(p.settings["VCR_TOKEN_URL"].ends_with("/iam/accounts-api/v2/auth/token"));
    assert_eq!(p.settings["VCR_CLIENT_ID"], DEFAULT_CLIENT_ID);
    assert_eq!(p.settings["VCR_CLIENT_SECRET"], DEFAULT_CLIENT_SECRET);
    let c = client_of(&p);
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = c
            .repositories(Region::Han)
            .create(&CreateRepository {
                name: format!("durable-{i}"),
                is_public: false,
                quota_limit_gb: 1,
            })
            .await
            .unwrap();
        assert_eq!(r.backend_name, format!("4242-durable-{i}"));
        ids.push(r.uuid);
    }
    p.child.kill().unwrap(); // SIGKILL: no chance to flush anything
    p.child.wait().unwrap();

    let mut p = spawn_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--account-id",
        "4242",
    ]);
    let c = client_of(&p);
    let all = c
        .repositories(Region::Han)
        .list_all(None, None)
        .await
        .unwrap();
    assert_eq!(all.iter().map(|r| r.uuid.clone()).collect::<Vec<_>>(), ids);
    p.child.kill().unwrap();
    p.child.wait().unwrap();
}

#[tokio::test]
async fn binary_stops_cleanly_on_sigterm_and_checks_its_arguments() {
    let mut p = spawn_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--client-id",
        "me",
        "--client-secret",
        "s3",
    ]);
    assert_eq!(p.settings["VCR_CLIENT_ID"], "me");
    assert_eq!(p.settings["VCR_CLIENT_SECRET"], "s3");
    let http = registry_support::http_client();
    let t = http
        .post(&p.settings["VCR_TOKEN_URL"])
        .basic_auth("me", Some("s3"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = p.child.try_wait().unwrap() {
            assert!(exit.success(), "{exit:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "vcr-local did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let out = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(["--in-memory", "--data", "/tmp/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(["--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    for unit in ["512", "1073741825", "1MiB"] {
        let out = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
            .args(["--in-memory", "--quota-unit-bytes", unit])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("--quota-unit-bytes"),
            "--quota-unit-bytes {unit}: {stderr}"
        );
    }
}

#[tokio::test]
async fn in_process_config_is_checked() {
    let err = vcr_provider::local::start(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        client_secret: String::new(),
        ..LocalConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("secret"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vcr-local.db"),
        "not a database at all, really not",
    )
    .unwrap();
    let err = vcr_provider::local::start(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: Some(dir.path().to_path_buf()),
        ..LocalConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("database"), "{err}");
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = vcr_provider::local::start(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        registry_han: Some(taken.local_addr().unwrap()),
        ..LocalConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("--registry-han"), "{err}");
}

#[tokio::test]
async fn the_router_serves_in_process() {
    let state = vcr_provider::local::AppState::new(LocalConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task =
        tokio::spawn(async move { axum::serve(listener, vcr_provider::local::app(state)).await });
    let health: Value = reqwest::get(format!("http://{addr}/_local/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true);
    assert_eq!(health["accountId"], 100001);
    task.abort();
}
