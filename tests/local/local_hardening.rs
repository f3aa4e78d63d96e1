//! vcr-local against abuse (issue #17): where it listens, `/_local/` against web
//! pages, logins that do not tell users apart, bounded memory under a flood of
//! junk, slow clients, fault patterns, oversized token requests, and its data
//! folder. Each test names the threat it closes; RELIABILITY.md lists them.

use crate::vcr_support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vcr_provider::local::{LocalConfig, QuotaUnit, RunningServer};
use vcr_support::*;

/// An HTTP/1.1 exchange over a fresh connection, exactly as written (headers
/// included: no client adds any): the status and the body.
async fn exchange(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A request with `Connection: close`, the given extra header lines and body.
fn request(method: &str, path: &str, host: &str, headers: &[&str], body: &str) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    text
}

// ---- where it listens ---------------------------------------------------------

/// Runs the binary until it printed its settings (or exited), then stops it;
/// answers whether it started, its settings and everything it wrote on stderr.
fn run_binary(args: &[&str]) -> (bool, Vec<(String, String)>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vcr-local runs");
    let mut settings = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let (k, v) = line.split_once('=').expect("KEY=value");
        settings.push((k.to_string(), v.to_string()));
        if k == "VCR_CLIENT_SECRET" {
            break;
        }
    }
    let started = settings.len() == 7;
    if started {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (started, settings, stderr)
}

#[test]
fn addresses_beyond_loopback_need_allow_remote_and_get_a_warning() {
    for args in [
        &["--listen", "0.0.0.0:0"][..],
        &["--listen", "[::]:0"],
        &["--listen", "127.0.0.1:0", "--registry-hcm", "0.0.0.0:0"],
        &["--listen", "127.0.0.1:0", "--registry-han", "0.0.0.0:0"],
    ] {
        let (started, _, stderr) = run_binary(args);
        assert!(!started, "{args:?} started");
        assert!(
            stderr.contains("is not a loopback address") && stderr.contains("--allow-remote"),
            "{args:?}: {stderr}"
        );
    }

    let (started, settings, stderr) = run_binary(&["--listen", "0.0.0.0:0", "--allow-remote"]);
    assert!(started, "{stderr}");
    let token_url = &settings[0].1;
    let port = token_url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap();
    assert!(
        stderr.contains("WARNING")
            && stderr.contains(&format!("the API on 0.0.0.0:{port} (every interface)")),
        "the real bind address is named: {stderr}"
    );
    assert!(stderr.contains("VCR_LOCAL_CLIENT_SECRET"), "{stderr}");

    // Loopback is the default and needs no flag, and no warning.
    let (started, _, stderr) = run_binary(&["--listen", "127.0.0.1:0"]);
    assert!(started && !stderr.contains("WARNING"), "{stderr}");
}

#[test]
fn help_recommends_the_environment_for_the_secret_and_never_shows_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .arg("--help")
        .env("VCR_LOCAL_CLIENT_SECRET", "a-secret-of-my-own")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(!help.contains("a-secret-of-my-own"), "{help}");
    assert!(
        help.contains("Prefer setting VCR_LOCAL_CLIENT_SECRET") && help.contains("process list"),
        "{help}"
    );
    assert!(help.contains("--allow-remote"), "{help}");
}

#[tokio::test]
async fn in_process_servers_refuse_remote_addresses_too() {
    let err = vcr_provider::local::start(LocalConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..LocalConfig::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("--allow-remote"), "{err}");
    let srv = vcr_provider::local::start(LocalConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        allow_remote: true,
        ..LocalConfig::default()
    })
    .await
    .unwrap();
    let warning = srv.remote_warning().expect("a warning");
    assert!(
        warning.contains(&format!("0.0.0.0:{}", srv.addr().port())),
        "{warning}"
    );
    let loopback = server().await;
    assert!(loopback.remote_warning().is_none());
}

// ---- /_local/ against web pages -------------------------------------------------

/// The state a web page would try to wipe: one repository.
async fn one_repository(srv: &RunningServer) -> vcr_provider::vcr::Client {
    let c = client(srv);
    c.repositories(vcr_provider::vcr::Region::Hcm)
        .create(&vcr_provider::vcr::CreateRepository {
            name: "keep-me".into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap();
    c
}

async fn repositories(c: &vcr_provider::vcr::Client) -> usize {
    c.repositories(vcr_provider::vcr::Region::Hcm)
        .list_all(None, None)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn web_pages_cannot_drive_the_local_controls() {
    let srv = server().await;
    let c = one_repository(&srv).await;
    let addr = srv.addr();
    let host = addr.to_string();
    // What a browser sends without asking first (a "simple" request), and
    // what it sends from a page whose name was rebound to 127.0.0.1.
    let refused: [(&str, Vec<&str>, &str, u16); 8] = [
        (
            "text/plain POST",
            vec!["Content-Type: text/plain"],
            "{}",
            415,
        ),
        (
            "form POST",
            vec!["Content-Type: application/x-www-form-urlencoded"],
            "a=b",
            415,
        ),
        ("no Content-Type", vec![], "", 415),
        (
            "foreign Origin",
            vec![
                "Content-Type: application/json",
                "Origin: http://evil.example",
            ],
            "{}",
            403,
        ),
        (
            "null Origin",
            vec!["Content-Type: application/json", "Origin: null"],
            "{}",
            403,
        ),
        (
            "cross-site fetch",
            vec![
                "Content-Type: application/json",
                "Sec-Fetch-Site: cross-site",
            ],
            "{}",
            403,
        ),
        (
            "another port's page",
            vec![
                "Content-Type: application/json",
                "Origin: http://127.0.0.1:1",
            ],
            "{}",
            403,
        ),
        (
            "same-site fetch",
            vec![
                "Content-Type: application/json",
                "Sec-Fetch-Site: same-site",
            ],
            "{}",
            403,
        ),
    ];
    for (what, headers, body, status) in refused {
        let (got, answer) = exchange(
            addr,
            &request("POST", "/_local/reset", &host, &headers, body),
        )
        .await;
        assert_eq!(got, status, "{what}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert!(answer["message"].is_string(), "{what}: {answer}");
        assert_eq!(repositories(&c).await, 1, "{what} wiped the store");
    }
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "10.1.2.3",
    ] {
        for (method, path) in [
            ("GET", "/_local/requests"),
            ("GET", "/_local/health"),
            ("DELETE", "/_local/faults"),
        ] {
            let (got, answer) = exchange(addr, &request(method, path, host, &[], "")).await;
            assert_eq!(got, 403, "{method} {path} with Host {host}: {answer}");
        }
        let json = ["Content-Type: application/json"];
        let (got, _) = exchange(addr, &request("POST", "/_local/reset", host, &json, "{}")).await;
        assert_eq!(got, 403, "reset with Host {host}");
    }
    assert_eq!(repositories(&c).await, 1);

    // Scripts and tests: JSON, any loopback name, their own origin at most.
    let json = ["Content-Type: application/json; charset=utf-8"];
    for host in [host.as_str(), &format!("localhost:{}", addr.port())] {
        let (got, answer) = exchange(addr, &request("GET", "/_local/health", host, &[], "")).await;
        assert_eq!(got, 200, "{host}: {answer}");
    }
    let own = format!("Origin: http://{host}");
    let (got, _) = exchange(
        addr,
        &request(
            "POST",
            "/_local/clock",
            &host,
            &[json[0], &own],
            r#"{"advanceSeconds":1}"#,
        ),
    )
    .await;
    assert_eq!(got, 200);
    let (got, answer) = exchange(addr, &request("POST", "/_local/reset", &host, &json, "")).await;
    assert_eq!(got, 200, "{answer}");
    assert_eq!(repositories(&c).await, 0, "a script may reset");
}

#[tokio::test]
async fn logins_do_not_tell_unknown_users_from_wrong_secrets() {
    let srv = server().await;
    let c = client(&srv);
    let users = c.users(vcr_provider::vcr::Region::Hcm);
    let secret = users
        .create(&vcr_provider::vcr::CreateUser {
            name: "real-user".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let check = |username: &'static str, password: String| {
        let srv = &srv;
        async move {
            local_post(
                srv,
                "/hcm/check-login",
                json!({"username": username, "password": password}),
            )
            .await
        }
    };
    let unknown = check("100001-no-user", "wrong-secret".into()).await;
    let wrong = check("100001-real-user", "wrong-secret".into()).await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong, "check-login tells them apart");
    assert_eq!(
        check("100001-real-user", secret.expose().to_string())
            .await
            .0,
        200
    );

    // The registry's token endpoint, which docker login asks.
    let registry = srv.registry(vcr_provider::local::LocalRegion::Hcm);
    let http = registry_support::http_client();
    let mut answers = Vec::new();
    for user in ["100001-no-user", "100001-real-user"] {
        let resp = http
            .get(format!(
                "http://{registry}/service/token?service=harbor-registry"
            ))
            .basic_auth(user, Some("wrong-secret"))
            .send()
            .await
            .unwrap();
        let challenge = resp.headers().get("www-authenticate").cloned();
        answers.push((resp.status(), challenge, resp.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0], answers[1], "the registry tells them apart");
}

// ---- bounded memory under a flood of junk ----------------------------------------

async fn counters(srv: &RunningServer) -> Value {
    reqwest::get(format!("{}/requests", srv.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_junk_paths_leaves_the_counters_bounded() {
    let srv = server().await;
    let http = registry_support::http_client();
    let api = srv.addr();
    let registry = srv.registry(vcr_provider::local::LocalRegion::Hcm);
    let junk_method = reqwest::Method::from_bytes(b"JUNK").unwrap();
    const FLOOD: usize = 3_000;
    for i in 0..FLOOD {
        let (method, url) = match i % 6 {
            0 => (reqwest::Method::GET, format!("http://{api}/junk/{i}")),
            1 => (
                reqwest::Method::DELETE,
                format!("http://{api}/hcm/v1/repository/repo-{i}"),
            ),
            2 => (
                reqwest::Method::GET,
                format!("http://{registry}/v2/100001-r{i}/img/manifests/sha256:{i:064}"),
            ),
            3 => (
                reqwest::Method::PATCH,
                format!("http://{registry}/v2/100001-r/img/blobs/uploads/{i}"),
            ),
            4 => (junk_method.clone(), format!("http://{api}/hcm/v1/user/{i}")),
            _ => (
                reqwest::Method::HEAD,
                format!("http://{registry}/v2/x{i}/y/blobs/sha256:{i}"),
            ),
        };
        let resp = http.request(method, url).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{}", resp.status());
    }
    let seen = counters(&srv).await;
    assert_eq!(seen["total"], FLOOD as u64);
    let entries = seen["requests"].as_array().unwrap();
    assert!(
        entries.len() <= 8,
        "{} counter entries for {FLOOD} junk requests: {entries:?}",
        entries.len()
    );
    let paths: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains("/hcm/v1/repository/{repo_id}")
            && paths.contains("/v2/{name}/manifests/{reference}")
            && paths.contains("(no route)"),
        "{paths:?}"
    );

    // Forgetting them gives every entry back.
    let gone = http
        .delete(format!("{}/requests", srv.local_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    let seen = counters(&srv).await;
    assert_eq!(
        (
            seen["total"].as_u64(),
            seen["requests"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn uploads_in_progress_are_capped() {
    let srv = server().await;
    let (r, token) = pusher(&srv).await;
    let name = "100001-uploads/img";
    let http = registry_support::http_client();
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let resp = http
            .post(format!("http://{}/v2/{name}/blobs/uploads/", r.registry))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        *statuses.entry(resp.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, [(202, 256), (429, 44)].into(), "{statuses:?}");
    assert_eq!(uploads_in_progress(&srv).await, 256);
}

/// A `POST ?digest=` with an invalid digest is refused before any upload is
/// registered: 300 of them leave no session behind (before, each left one the
/// client never learnt of, and 256 of them gave everyone 429 for 15 minutes).
#[tokio::test]
async fn refused_digests_leave_no_upload_behind() {
    let srv = server().await;
    let (r, token) = pusher(&srv).await;
    let url = format!("http://{}/v2/100001-uploads/img/blobs/uploads/", r.registry);
    let http = registry_support::http_client();
    for digest in ["sha256:xyz", "md5:00", "sha256:"].iter().cycle().take(300) {
        let resp = http
            .post(format!("{url}?digest={digest}"))
            .bearer_auth(&token)
            .body("bytes")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{digest}");
    }
    assert_eq!(uploads_in_progress(&srv).await, 0);
    let resp = http.post(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(uploads_in_progress(&srv).await, 1);
}

/// PATCHes `size` bytes of a pattern into a new upload of `100001-uploads/img`:
/// the upload's location and the PATCH's status and body.
async fn patch_new_upload(
    r: &registry_support::Region,
    token: &str,
    size: u64,
) -> (String, u16, String) {
    let http = registry_support::http_client();
    let started = http
        .post(format!(
            "http://{}/v2/100001-uploads/img/blobs/uploads/",
            r.registry
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = format!(
        "http://{}{}",
        r.registry,
        started.headers()["location"].to_str().unwrap()
    );
    let block = axum::body::Bytes::from(vec![7u8; 1 << 20]);
    let chunks = (0..size.div_ceil(1 << 20)).map(move |i| {
        let len = (size - i * (1 << 20)).min(1 << 20) as usize;
        Ok::<_, std::io::Error>(block.slice(..len))
    });
    let resp = http
        .patch(&location)
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (location, status, resp.text().await.unwrap())
}

/// The bytes of uploads in progress count against the repository's quota as
/// they arrive (before, 256 sessions could each hold a whole quota): with
/// 1 GB less 1 KiB held by one upload of a 1 GB repository (a GB is a MiB
/// here), a second upload's 2 KiB are refused with the quota message and
/// dropped; once the first is cancelled, the same 2 KiB are accepted.
#[tokio::test]
async fn bytes_of_uploads_in_progress_count_against_the_quota() {
    let data = tempfile::tempdir().unwrap();
    let srv = server_with(LocalConfig {
        data_dir: Some(data.path().to_path_buf()),
        quota_unit: QuotaUnit::new(1 << 20).unwrap(),
        ..LocalConfig::default()
    })
    .await;
    let (r, token) = pusher(&srv).await;
    let (first, status, body) = patch_new_upload(&r, &token, (1 << 20) - (1 << 10)).await;
    assert_eq!(status, 202, "{body}");
    let (_, status, body) = patch_new_upload(&r, &token, 2 << 10).await;
    assert_eq!(status, 403, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("Quota exceeded"), "{message}");
    assert_eq!(
        uploads_in_progress(&srv).await,
        1,
        "the refused upload is dropped"
    );
    let cancelled = registry_support::http_client()
        .delete(&first)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 204);
    let (_, status, body) = patch_new_upload(&r, &token, 2 << 10).await;
    assert_eq!(status, 202, "{body}");
}

// ---- DNS rebinding ------------------------------------------------------------------

/// One request of each listener's kind with the given `Host`: the IAM token
/// endpoint, the management API, and each registry's `/v2/` and token
/// endpoint; answers (what, status, body) of each.
async fn with_host(srv: &RunningServer, host: &str) -> Vec<(String, u16, String)> {
    use vcr_provider::local::LocalRegion;
    let api = srv.addr();
    let creds = format!(
        "Authorization: Basic {}",
        base64_of(&format!(
            "{}:{}",
            vcr_provider::local::DEFAULT_CLIENT_ID,
            vcr_provider::local::DEFAULT_CLIENT_SECRET
        ))
    );
    let form = "grant_type=client_credentials";
    let mut out = Vec::new();
    let iam = request(
        "POST",
        vcr_provider::local::TOKEN_PATH,
        host,
        &[&creds, "Content-Type: application/x-www-form-urlencoded"],
        form,
    );
    let (status, body) = exchange(api, &iam).await;
    out.push(("the IAM token endpoint".to_string(), status, body));
    let (status, body) = exchange(api, &request("GET", "/hcm/v1/repository", host, &[], "")).await;
    out.push(("the API".to_string(), status, body));
    for region in LocalRegion::ALL {
        let addr: std::net::SocketAddr = srv.registry(region).parse().unwrap();
        for path in ["/v2/", "/service/token"] {
            let (status, body) = exchange(addr, &request("GET", path, host, &[], "")).await;
            out.push((format!("{} registry {path}", region.code()), status, body));
        }
    }
    out
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Every listener (IAM, API, both registries) refuses a `Host` it does not
/// answer to, in its own error shape, so that a page on a name rebound to
/// 127.0.0.1 cannot use the documented default secret; loopback names and
/// the listen address pass, and so do names given with `allowed_hosts`
/// (`--allow-host`) and, listening on every interface, any address.
#[tokio::test]
async fn every_listener_refuses_names_rebound_to_it() {
    let srv = server_with(LocalConfig {
        allowed_hosts: vec!["vcr-local".into()],
        ..LocalConfig::default()
    })
    .await;
    for host in [
        "rebind.attacker.example",
        "rebind.attacker.example:8080",
        "localhost.attacker.example",
        "10.1.2.3",
        "vcr-local.attacker.example",
    ] {
        for (what, status, body) in with_host(&srv, host).await {
            assert_eq!(status, 403, "{what} with Host {host}: {body}");
            let body: Value = serde_json::from_str(&body).unwrap();
            let code = if what.contains("registry") {
                &body["errors"][0]["code"]
            } else {
                &body["errorCode"]
            };
            assert!(code == "DENIED" || code == "FORBIDDEN", "{what}: {body}");
        }
    }
    let port = srv.addr().port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "vcr-local:8080".to_string(),
        "VCR-LOCAL".to_string(),
    ] {
        for (what, status, body) in with_host(&srv, &host).await {
            assert_ne!(status, 403, "{what} with Host {host}: {body}");
        }
    }
    let everywhere = vcr_provider::local::start(LocalConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        allow_remote: true,
        ..LocalConfig::default()
    })
    .await
    .unwrap();
    for (what, status, body) in with_host(&everywhere, "10.1.2.3:8080").await {
        assert_ne!(status, 403, "{what}: {body}");
    }
    for (what, status, body) in with_host(&everywhere, "rebind.attacker.example").await {
        assert_eq!(status, 403, "{what}: {body}");
    }
}

// ---- slow clients ----------------------------------------------------------------

/// A vcr-local with short limits, so that the tests wait seconds, not minutes.
async fn server_with_limits(header_secs: u64, idle_secs: u64, max: usize) -> RunningServer {
    server_with(LocalConfig {
        limits: vcr_provider::local::ConnectionLimits {
            header_read_timeout: Duration::from_secs(header_secs),
            idle_timeout: Duration::from_secs(idle_secs),
            max_connections: max,
        },
        ..LocalConfig::default()
    })
    .await
}

/// Whether the server closes the connection within `bound` (a bound on a
/// hang, far above the limit under test: not a measure of speed). Whatever
/// the server sent before closing is read and ignored.
async fn closed_by_server(conn: &mut TcpStream, bound: Duration) -> bool {
    let mut sink = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match conn.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(bound, read_all).await.is_ok()
}

const HANG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn half_sent_requests_and_idle_connections_are_dropped() {
    let srv = server_with_limits(1, 2, 64).await;
    let addr = srv.addr();
    let mut half_sent = TcpStream::connect(addr).await.unwrap();
    half_sent
        .write_all(b"GET /_local/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut kept_alive = TcpStream::connect(addr).await.unwrap();
    kept_alive
        .write_all(b"GET /_local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    kept_alive.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    for (what, conn) in [
        ("a half-sent request", &mut half_sent),
        ("a connection that sends nothing", &mut silent),
        ("an idle kept-alive connection", &mut kept_alive),
    ] {
        assert!(closed_by_server(conn, HANG).await, "{what} is held");
    }
}

#[tokio::test]
async fn held_connections_cannot_starve_the_server() {
    const MAX: usize = 16;
    let srv = server_with_limits(600, 600, MAX).await;
    let addr = srv.addr();
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /hcm/v1/repository HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        held.push(conn);
    }
    let health = tokio::time::timeout(
        HANG,
        exchange(
            addr,
            &request("GET", "/_local/health", "127.0.0.1", &[], ""),
        ),
    )
    .await
    .expect("/_local/health answers while connections are held");
    assert_eq!(health.0, 200, "{}", health.1);
    // The new connections took the place of the ones held longest.
    let closed = futures_util::future::join_all(
        held.iter_mut()
            .map(|c| closed_by_server(c, Duration::from_millis(1500))),
    )
    .await;
    let closed = closed.iter().filter(|c| **c).count();
    assert!(
        closed >= 40 - (MAX - 1),
        "{closed} of 40 held connections were closed, with a cap of {MAX}"
    );
    // A client that works is served as usual.
    let c = client(&srv);
    assert_eq!(repositories(&c).await, 0);
}

/// A user that may push to `100001-uploads/img`, and its registry token.
async fn pusher(srv: &RunningServer) -> (registry_support::Region, String) {
    use registry_support::{registry_token, PULL_POLICY, PUSH_POLICY};
    let r = region(srv, "hcm");
    let (_, repo) = r
        .api(
            reqwest::Method::POST,
            "/v1/repository",
            Some(json!({"repoName": "uploads", "isPublic": false, "quotaLimit": 1})),
        )
        .await;
    let repo_id = repo["uuid"].as_str().unwrap();
    let (login, secret, _) = r
        .create_user("uploader", repo_id, &[PULL_POLICY, PUSH_POLICY])
        .await;
    let token = registry_token(
        &r.registry,
        &login,
        &secret,
        "100001-uploads/img",
        "pull,push",
    )
    .await
    .unwrap();
    (r, token)
}

#[tokio::test]
async fn slow_uploads_that_keep_sending_complete_and_stalled_ones_are_dropped() {
    // Limits of a second; the upload takes several.
    let srv = server_with_limits(1, 1, 64).await;
    let (r, token) = pusher(&srv).await;
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 32;
    let layer = registry_support::layer_pattern("slow upload");
    let bytes: Vec<u8> = layer.iter().cycle().take(CHUNK * CHUNKS).copied().collect();
    let digest = format!(
        "sha256:{}",
        registry_support::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let slow = futures_util::stream::unfold(0usize, {
        let bytes = bytes.clone();
        move |i| {
            let bytes = bytes.clone();
            async move {
                if i == CHUNKS {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
                let chunk = axum::body::Bytes::copy_from_slice(&bytes[i * CHUNK..(i + 1) * CHUNK]);
                Some((Ok::<_, std::io::Error>(chunk), i + 1))
            }
        }
    });
    let url = format!(
        "http://{}/v2/100001-uploads/img/blobs/uploads/?digest={digest}",
        r.registry
    );
    let resp = registry_support::http_client()
        .post(url)
        .bearer_auth(&token)
        .header("content-length", bytes.len().to_string())
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let back = registry_support::http_client()
        .get(format!(
            "http://{}/v2/100001-uploads/img/blobs/{digest}",
            r.registry
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(back[..] == bytes[..], "the layer came back whole");

    // vcr-local taking its time (a delay fault) is not a stalled client.
    fault(
        &srv,
        json!({"path": "/hcm/v1/repository", "delayMs": 2500, "times": 1}),
    )
    .await;
    assert_eq!(repositories(&client(&srv)).await, 1);

    // An upload whose body stops arriving is dropped, and its bytes with it.
    let mut stalled = TcpStream::connect(&r.registry).await.unwrap();
    let head = format!(
        "POST /v2/100001-uploads/img/blobs/uploads/?digest=sha256:{} HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {token}\r\nContent-Length: 1000000\r\n\r\n",
        "0".repeat(64),
        r.registry
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&bytes[..CHUNK]).await.unwrap();
    assert!(
        closed_by_server(&mut stalled, HANG).await,
        "a stalled upload is held"
    );
    let in_progress = || uploads_in_progress(&srv);
    assert_eq!(in_progress().await, 0);
}

// ---- fault patterns ------------------------------------------------------------

#[tokio::test]
async fn fault_rules_are_bounded() {
    let srv = server().await;
    let long = format!("/{}", "*a".repeat(300));
    let (status, body) = local_post(&srv, "/faults", json!({"status": 503, "path": long})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("at most 512"),
        "{body}"
    );

    // A path past 2048 characters matches no rule, even `*`.
    fault(&srv, json!({"status": 503, "path": "/hcm/*"})).await;
    let http = registry_support::http_client();
    let over = format!("http://{}/hcm/{}", srv.addr(), "x".repeat(2100));
    let resp = http.get(over).send().await.unwrap();
    assert_eq!(resp.status(), 404, "a long path is not matched");
    let short = format!("http://{}/hcm/{}", srv.addr(), "x".repeat(100));
    assert_eq!(http.get(short).send().await.unwrap().status(), 503);

    for _ in 1..100 {
        fault(&srv, json!({"delayMs": 1, "path": "/nothing"})).await;
    }
    let (status, body) = local_post(&srv, "/faults", json!({"delayMs": 1})).await;
    assert_eq!(status, 400, "the 101st rule: {body}");
    assert!(
        body["message"].as_str().unwrap().contains("at most 100"),
        "{body}"
    );
}

// ---- oversized token requests ------------------------------------------------------

#[tokio::test]
async fn a_huge_form_to_a_token_endpoint_is_413() {
    let srv = server().await;
    let huge = format!("grant_type=client_credentials&pad={}", "a".repeat(10 << 20));
    let http = registry_support::http_client();
    let iam = http
        .post(srv.token_url())
        .basic_auth(
            vcr_provider::local::DEFAULT_CLIENT_ID,
            Some(vcr_provider::local::DEFAULT_CLIENT_SECRET),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(iam.status(), 413);
    let body: Value = iam.json().await.unwrap();
    assert_eq!(body["errorCode"], "BODY_TOO_LARGE", "{body}");

    let registry = srv.registry(vcr_provider::local::LocalRegion::Hcm);
    let reg = http
        .post(format!("http://{registry}/service/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 413);
    let body: Value = reg.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "SIZE_INVALID", "{body}");
}

// ---- the data folder -------------------------------------------------------------

/// Modes of everything under `dir` (itself included), by path.
fn modes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let meta = std::fs::metadata(dir).unwrap();
    out.push((dir.to_path_buf(), meta.permissions().mode() & 0o777, true));
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            out.push((path, mode, false));
        }
    }
    out
}

#[tokio::test]
async fn the_data_folder_is_private_and_used_by_one_vcr_local_at_a_time() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // An existing folder others can read is tightened, with a warning.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_arg = data.to_str().unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(["--listen", "127.0.0.1:0", "--data", data_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut settings = std::collections::HashMap::new();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    while !settings.contains_key("VCR_CLIENT_SECRET") {
        let line = lines.next().expect("settings").unwrap();
        let (k, v) = line.split_once('=').unwrap();
        settings.insert(k.to_string(), v.to_string());
    }
    let mut log = BufReader::new(first.stderr.take().unwrap()).lines();
    let warned = log
        .by_ref()
        .take(5)
        .map(Result::unwrap)
        .find(|l| l.contains("made it 0700"));
    assert!(warned.is_some(), "no warning about the folder's mode");
    // Keep draining its log, so that it never blocks on a full pipe.
    std::thread::spawn(move || log.for_each(drop));

    // A real push, so that blobs and the database's journal exist.
    let base = settings["VCR_TOKEN_URL"]
        .split("/iam/")
        .next()
        .unwrap()
        .to_string();
    let r = registry_support::Region {
        token_url: settings["VCR_TOKEN_URL"].clone(),
        client_id: settings["VCR_CLIENT_ID"].clone(),
        client_secret: settings["VCR_CLIENT_SECRET"].clone(),
        endpoint: settings["VCR_ENDPOINT_HCM"].clone(),
        registry: settings["VCR_REGISTRY_HCM"].clone(),
    };
    r.api(
        reqwest::Method::POST,
        "/v1/repository",
        Some(json!({"repoName": "private", "isPublic": false, "quotaLimit": 1})),
    )
    .await;
    r.push_image("private", "img", 1024).await;
    let all = modes(&data);
    assert!(
        all.iter()
            .any(|(p, _, _)| p.to_string_lossy().contains("blobs/sha256/")),
        "{all:?}"
    );
    for (path, mode, is_dir) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }

    // A second vcr-local on the same folder refuses to start; the first serves on.
    let second = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
        .args(["--listen", "127.0.0.1:0", "--data", data_arg])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let why = String::from_utf8_lossy(&second.stderr);
    assert!(
        why.contains("another vcr-local is using the data folder"),
        "{why}"
    );
    let health = reqwest::get(format!("{base}/_local/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    first.kill().unwrap();
    first.wait().unwrap();
}

/// How many uploads vcr-local holds open, as `/_local/health` says.
async fn uploads_in_progress(srv: &RunningServer) -> u64 {
    let health: Value = reqwest::get(format!("{}/health", srv.local_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["uploadsInProgress"].as_u64().unwrap()
}
