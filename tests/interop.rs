//! vcr-local's registry with the real clients people use: `skopeo` (always: `make
//! test` installs it) and `docker` (where a docker daemon can start: `make test`
//! installs docker.io, and this test starts its own daemon). Login, copy in both
//! directions, inspect, tags, delete, and the refusals a pull-only user, a wrong
//! secret and an anonymous caller get, in the words these clients print.

#[path = "../examples/registry-client/layout.rs"]
mod layout;
mod vcr_support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use vcr_support::registry_support::{Region, PULL_POLICY, PUSH_POLICY};
use vcr_support::*;

/// The path of a tool, or a failure saying how to get it (`make test` installs it).
fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs a command with `stdin` fed in; answers its output.
fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
fn ok(out: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "failed: {text}");
    text
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_logs_in_copies_both_ways_inspects_and_deletes() {
    assert!(
        tool("skopeo").is_some(),
        "skopeo is not installed: `make test` installs it (apt-get install skopeo)"
    );
    let srv = server().await;
    let s = setup(&srv, "skopeo-app").await;
    let host = s.region.registry.clone();
    let image = format!("docker://{host}/{}/tools/hello", s.backend);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    build_image(&source, "hello from skopeo");
    let (ci_auth, reader_auth, anon_auth) = (
        dir.path().join("ci.json"),
        dir.path().join("rd.json"),
        dir.path().join("anon.json"),
    );

    // Login: a wrong secret is refused, the right one accepted.
    let login = |auth: &Path, user: &str| {
        let mut cmd = skopeo(auth);
        cmd.args([
            "login",
            "--tls-verify=false",
            "--password-stdin",
            "-u",
            user,
            &host,
        ]);
        cmd
    };
    refused(
        run(&mut login(&ci_auth, &s.ci.0), "not-the-secret"),
        "invalid username/password",
    );
    ok(run(&mut login(&ci_auth, &s.ci.0), &s.ci.1));
    ok(run(&mut login(&reader_auth, &s.reader.0), &s.reader.1));

    // Push (copy from an OCI layout made without any daemon), inspect, list tags.
    let tagged = format!("{image}:1.0");
    let src = format!("oci:{}:1.0", source.display());
    ok(run(
        skopeo(&ci_auth).args(["copy", "--dest-tls-verify=false", &src, &tagged]),
        "",
    ));
    let inspected = ok(run(
        skopeo(&reader_auth).args(["inspect", "--tls-verify=false", &tagged]),
        "",
    ));
    let inspected: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(inspected["RepoTags"], json!(["1.0"]));
    assert_eq!(inspected["Architecture"], layout::arch());
    let digest = inspected["Digest"].as_str().unwrap().to_string();
    let tags = ok(run(
        skopeo(&reader_auth).args(["list-tags", "--tls-verify=false", &image]),
        "",
    ));
    assert!(tags.contains("\"1.0\""), "{tags}");

    // Pull (copy back into a layout) as the pull-only user; its push is denied.
    let back = dir.path().join("back");
    let dest = format!("oci:{}:pulled", back.display());
    ok(run(
        skopeo(&reader_auth).args(["copy", "--src-tls-verify=false", &tagged, &dest]),
        "",
    ));
    let pulled = layout::read_layout(&back, "pulled").unwrap();
    // skopeo compresses the layer on its way to a registry.
    let layer = if pulled.layer.starts_with(&[0x1f, 0x8b]) {
        let mut gz = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        gz.stdin.take().unwrap().write_all(&pulled.layer).unwrap();
        gz.wait_with_output().unwrap().stdout
    } else {
        pulled.layer
    };
    assert_eq!(
        layout::file_in_tar(&layer, "hello.txt").unwrap(),
        b"hello from skopeo"
    );
    let evil = format!("{image}:evil");
    refused(
        run(
            skopeo(&reader_auth).args(["copy", "--dest-tls-verify=false", &src, &evil]),
            "",
        ),
        "denied",
    );

    // Anonymous: a private repository says who may read it.
    refused(
        run(
            skopeo(&anon_auth).args(["inspect", "--tls-verify=false", &tagged]),
            "",
        ),
        "unauthorized",
    );

    // The API saw the image; delete it through the registry.
    let (_, repo) = s
        .region
        .api(Method::GET, &format!("/v1/repository/{}", s.repo_id), None)
        .await;
    assert_eq!(repo["imageCount"], 1, "{repo}");
    refused(
        run(
            skopeo(&reader_auth).args([
                "delete",
                "--tls-verify=false",
                &format!("{image}@{digest}"),
            ]),
            "",
        ),
        "denied",
    );
    ok(run(
        skopeo(&ci_auth).args(["delete", "--tls-verify=false", &format!("{image}@{digest}")]),
        "",
    ));
    refused(
        run(
            skopeo(&ci_auth).args(["inspect", "--tls-verify=false", &tagged]),
            "",
        ),
        "manifest unknown",
    );
    let (_, repo) = s
        .region
        .api(Method::GET, &format!("/v1/repository/{}", s.repo_id), None)
        .await;
    assert_eq!(
        (repo["imageCount"].as_u64(), repo["quotaUsed"].as_f64()),
        (Some(0), Some(0.0)),
        "{repo}"
    );
}

/// A docker daemon of this test's own, stopped when dropped.
struct Dockerd {
    child: std::process::Child,
    socket: String,
    _dir: tempfile::TempDir,
}

impl Dockerd {
    /// Starts dockerd the way these machines allow (no iptables, no bridge, vfs);
    /// `None` when there is no dockerd or it cannot run here (the reason printed).
    fn start() -> Option<Dockerd> {
        let Some(dockerd) = tool("dockerd") else {
            eprintln!("docker part skipped: no dockerd on this machine (make test installs docker.io as root)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("vd")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = format!("unix://{}/d.sock", dir.path().display());
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(dockerd)
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg(format!("--data-root={}/root", dir.path().display()))
            .arg(format!("--exec-root={}/exec", dir.path().display()))
            .arg(format!("--pidfile={}/pid", dir.path().display()))
            .args(["-H", &socket])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        let mut d = Dockerd {
            child,
            socket,
            _dir: dir,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if d.docker()
                .arg("info")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return Some(d);
            }
            if let Ok(Some(status)) = d.child.try_wait() {
                let log = std::fs::read_to_string(d._dir.path().join("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                eprintln!("docker part skipped: dockerd cannot run here ({status}): {tail:?}");
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("docker part skipped: dockerd did not answer within 60 s");
        None
    }

    fn docker(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(["-H", &self.socket]);
        cmd.env("DOCKER_CONFIG", self._dir.path().join("config"));
        cmd
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
