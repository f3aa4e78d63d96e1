//! vcr-local's registry with the real clients people use: `skopeo` (always: `make
//! test` installs it) and `docker` (where a docker daemon can start: `make test`
//! installs docker.io, and this test starts its own daemon). Login, copy in both
//! directions, inspect, tags, delete, and the refusals a pull-only user, a wrong
//! secret and an anonymous caller get, in the words these clients print.

use crate::docker_support;
use crate::layout;
use crate::vcr_support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use docker_support::{ok, run, tool, Dockerd};
use reqwest::Method;
use serde_json::{json, Value};
use vcr_support::registry_support::{Region, PULL_POLICY, PUSH_POLICY};
use vcr_support::*;

#[track_caller]
fn refused(out: Output, needle: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "should have failed: {text}");
    assert!(text.contains(needle), "{needle:?} not in: {text}");
    text
}

/// A repository and a push user and a pull-only user on it.
struct Setup {
    region: Region,
    repo_id: String,
    backend: String,
    ci: (String, String),
    reader: (String, String),
}

async fn setup(srv: &vcr_provider::local::RunningServer, name: &str) -> Setup {
    let region = region(srv, "hcm");
    let (s, repo) = region
        .api(
            Method::POST,
            "/v1/repository",
            Some(json!({"repoName": name, "isPublic": false, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(s, 202, "{repo}");
    let repo_id = repo["uuid"].as_str().unwrap().to_string();
    let (ci, ci_secret, _) = region
        .create_user("interop-ci", &repo_id, &[PULL_POLICY, PUSH_POLICY])
        .await;
    let (reader, reader_secret, _) = region
        .create_user("interop-rd", &repo_id, &[PULL_POLICY])
        .await;
    Setup {
        region,
        repo_id,
        backend: repo["backendName"].as_str().unwrap().to_string(),
        ci: (ci, ci_secret),
        reader: (reader, reader_secret),
    }
}

fn build_image(dir: &Path, text: &str) {
    layout::write_layout(dir, "1.0", &layout::build(text)).unwrap();
}

fn skopeo(authfile: &Path) -> Command {
    let mut cmd = Command::new("skopeo");
    cmd.env("REGISTRY_AUTH_FILE", authfile);
    cmd
}

/// What the skopeo steps share: the image's name, a source layout, one auth
/// file per caller.
struct Skopeo {
    s: Setup,
    image: String,
    source: String,
    dir: tempfile::TempDir,
}

impl Skopeo {
    fn auth(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("{who}.json"))
    }

    fn run(&self, who: &str, args: &[&str]) -> Output {
        run(skopeo(&self.auth(who)).args(args), "")
    }
}

/// Login: a wrong secret is refused, the right one accepted.
fn skopeo_logins(k: &Skopeo) {
    let login = |who: &str, user: &str, secret: &str| {
        let mut cmd = skopeo(&k.auth(who));
        cmd.args([
            "login",
            "--tls-verify=false",
            "--password-stdin",
            "-u",
            user,
            &k.s.region.registry,
        ]);
        run(&mut cmd, secret)
    };
    refused(
        login("ci", &k.s.ci.0, "not-the-secret"),
        "invalid username/password",
    );
    ok(login("ci", &k.s.ci.0, &k.s.ci.1));
    ok(login("reader", &k.s.reader.0, &k.s.reader.1));
}

/// Push (copy from an OCI layout made without any daemon), inspect, list tags;
/// answers the digest.
fn skopeo_pushes_and_inspects(k: &Skopeo) -> String {
    let tagged = format!("{}:1.0", k.image);
    ok(k.run(
        "ci",
        &["copy", "--dest-tls-verify=false", &k.source, &tagged],
    ));
    let inspected = ok(k.run("reader", &["inspect", "--tls-verify=false", &tagged]));
    let inspected: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(inspected["RepoTags"], json!(["1.0"]));
    assert_eq!(inspected["Architecture"], layout::arch());
    let tags = ok(k.run("reader", &["list-tags", "--tls-verify=false", &k.image]));
    assert!(tags.contains("\"1.0\""), "{tags}");
    inspected["Digest"].as_str().unwrap().to_string()
}

/// The bytes of a layer, uncompressed (skopeo gzips layers on their way to a
/// registry).
fn gunzipped(layer: Vec<u8>) -> Vec<u8> {
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return layer;
    }
    let mut gz = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gz.stdin.take().unwrap().write_all(&layer).unwrap();
    gz.wait_with_output().unwrap().stdout
}

/// Pull (copy back into a layout) as the pull-only user; its push is denied;
/// anonymous reads nothing private.
fn skopeo_pulls_and_is_refused(k: &Skopeo) {
    let tagged = format!("{}:1.0", k.image);
    let back = k.dir.path().join("back");
    let dest = format!("oci:{}:pulled", back.display());
    ok(k.run(
        "reader",
        &["copy", "--src-tls-verify=false", &tagged, &dest],
    ));
    let pulled = layout::read_layout(&back, "pulled").unwrap();
    let layer = gunzipped(pulled.layer);
    assert_eq!(
        layout::file_in_tar(&layer, "hello.txt").unwrap(),
        b"hello from skopeo"
    );
    let evil = format!("{}:evil", k.image);
    refused(
        k.run(
            "reader",
            &["copy", "--dest-tls-verify=false", &k.source, &evil],
        ),
        "denied",
    );
    refused(
        k.run("anonymous", &["inspect", "--tls-verify=false", &tagged]),
        "unauthorized",
    );
}

/// The API saw the image; the pull-only user cannot delete it, the CI user can.
async fn skopeo_deletes(k: &Skopeo, digest: &str) {
    let repo_path = format!("/v1/repository/{}", k.s.repo_id);
    let (_, repo) = k.s.region.api(Method::GET, &repo_path, None).await;
    assert_eq!(repo["imageCount"], 1, "{repo}");
    let by_digest = format!("{}@{digest}", k.image);
    refused(
        k.run("reader", &["delete", "--tls-verify=false", &by_digest]),
        "denied",
    );
    ok(k.run("ci", &["delete", "--tls-verify=false", &by_digest]));
    let tagged = format!("{}:1.0", k.image);
    refused(
        k.run("ci", &["inspect", "--tls-verify=false", &tagged]),
        "manifest unknown",
    );
    let (_, repo) = k.s.region.api(Method::GET, &repo_path, None).await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_logs_in_copies_both_ways_inspects_and_deletes() {
    assert!(
        tool("skopeo").is_some(),
        "skopeo is not installed: `make test` installs it (apt-get install skopeo)"
    );
    let srv = server().await;
    let s = setup(&srv, "skopeo-app").await;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    build_image(&source, "hello from skopeo");
    let k = Skopeo {
        image: format!("docker://{}/{}/tools/hello", s.region.registry, s.backend),
        source: format!("oci:{}:1.0", source.display()),
        s,
        dir,
    };
    skopeo_logins(&k);
    let digest = skopeo_pushes_and_inspects(&k);
    skopeo_pulls_and_is_refused(&k);
    skopeo_deletes(&k, &digest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_logs_in_pushes_and_pulls_where_a_daemon_runs() {
    let Some(daemon) = Dockerd::start() else {
        return;
    };
    assert!(
        tool("skopeo").is_some(),
        "skopeo loads the image into docker: install it"
    );
    let srv = server().await;
    let s = setup(&srv, "docker-app").await;
    let host = s.region.registry.clone();
    let dir = tempfile::tempdir().unwrap();
    build_image(dir.path(), "hello from docker");
    // Load the daemon-less image into this daemon, as `docker build` would have made it.
    ok(run(
        Command::new("skopeo").args([
            "copy",
            &format!("oci:{}:1.0", dir.path().display()),
            "docker-daemon:interop-hello:1.0",
            "--dest-daemon-host",
            &daemon.socket,
        ]),
        "",
    ));
    let remote = format!("{host}/{}/web:1.0", s.backend);
    let login = |user: &str, secret: &str| {
        run(
            daemon
                .docker()
                .args(["login", &host, "-u", user, "--password-stdin"]),
            secret,
        )
    };

    refused(login(&s.ci.0, "not-the-secret"), "unauthorized");
    assert!(ok(login(&s.ci.0, &s.ci.1)).contains("Login Succeeded"));
    ok(run(
        daemon.docker().args(["tag", "interop-hello:1.0", &remote]),
        "",
    ));
    ok(run(daemon.docker().args(["push", &remote]), ""));
    ok(run(daemon.docker().args(["rmi", &remote]), ""));

    ok(login(&s.reader.0, &s.reader.1));
    let pulled = ok(run(daemon.docker().args(["pull", &remote]), ""));
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    let other = format!("{host}/{}/web:evil", s.backend);
    ok(run(
        daemon.docker().args(["tag", "interop-hello:1.0", &other]),
        "",
    ));
    refused(
        run(daemon.docker().args(["push", &other]), ""),
        "denied: requested access to the resource is denied",
    );
    ok(run(daemon.docker().args(["logout", &host]), ""));
    refused(
        run(daemon.docker().args(["pull", &remote]), ""),
        "docker login",
    );
    let (_, repo) = s
        .region
        .api(Method::GET, &format!("/v1/repository/{}", s.repo_id), None)
        .await;
    assert_eq!(repo["imageCount"], 1, "{repo}");
}
