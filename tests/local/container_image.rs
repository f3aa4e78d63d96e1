//! The container image of vcr-local. `make image` builds it from the release build
//! with `examples/vcr-local-image`; these tests build it with the same code from the
//! debug build of this test run (no release build inside `cargo test`), then:
//!
//! - read it back with skopeo, as an OCI layout and as the `docker load` archive: the
//!   non-root user, the labels, the entrypoint, the environment and ports, the health
//!   check, and that the layer holds the binary and the libraries it loads and nothing
//!   more (its size);
//! - where a Docker daemon runs (required when `CI=true`; this test starts its own):
//!   `docker load` it, `docker run` it with its settings from `VCR_LOCAL_*`, wait for
//!   its health check, check it runs as uid 65532, reach its API and registry from
//!   the host, push and pull an image through it with docker, and stop it.
//!
//! The sandbox's daemon has no bridge network, so the container runs with `--network
//! host` here; CI services publish the ports instead (see examples/ci/).

#[allow(dead_code)]
#[path = "../../examples/vcr-local-image/image.rs"]
mod image;
use crate::layout;

use crate::docker_support;
use crate::vcr_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use docker_support::{ok, run, tool, Dockerd};
use reqwest::Method;
use serde_json::{json, Value};
use vcr_support::registry_support::{Region, PULL_POLICY, PUSH_POLICY};

/// The image of this run's debug vcr-local, written into `dir`: the layout folder
/// and the archive, as `make image` writes them into dist/.
fn build_into(dir: &Path) -> (image::Image, PathBuf, PathBuf) {
    let spec = image::Spec {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_vcr-local")),
        version: env!("CARGO_PKG_VERSION").to_string(),
        source: image::DEFAULT_SOURCE.to_string(),
        revision: Some("0123456789abcdef".to_string()),
        licenses: env!("CARGO_PKG_LICENSE").to_string(),
    };
    let built = image::build(&spec).expect("the image builds");
    let layout = dir.join("vcr-local-oci");
    let archive = dir.join("vcr-local-image.tar");
    built.write_layout(&layout).unwrap();
    built.write_archive(&archive).unwrap();
    (built, layout, archive)
}

fn skopeo_json(args: &[&str]) -> Value {
    let out = run(Command::new("skopeo").arg("inspect").args(args), "");
    assert!(
        out.status.success(),
        "skopeo inspect {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("skopeo inspect {args:?}: {e}"))
}

/// The (uncompressed) tar of the image's one layer, from the layout folder.
fn layer_of(layout: &Path, manifest: &Value) -> Vec<u8> {
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer: {manifest}");
    assert_eq!(layers[0]["mediaType"], image::LAYER_TYPE);
    let digest = layers[0]["digest"].as_str().unwrap();
    std::fs::read(layout.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap()
}

/// The entries of a ustar archive: path, type flag, mode, uid, size.
fn tar_entries(tar: &[u8]) -> Vec<(String, char, u32, u32, u64)> {
    let octal = |field: &[u8]| {
        let text = String::from_utf8_lossy(field);
        u64::from_str_radix(text.trim_matches(char::from(0)).trim(), 8).unwrap()
    };
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let size = octal(&h[124..136]);
        entries.push((
            String::from_utf8_lossy(&h[..end]).into_owned(),
            h[156] as char,
            octal(&h[100..108]) as u32,
            octal(&h[108..116]) as u32,
            size,
        ));
        at += 512 + (size as usize).div_ceil(512) * 512;
    }
    entries
}

#[test]
fn skopeo_reads_the_image_user_labels_entrypoint_and_size() {
    assert!(
        tool("skopeo").is_some(),
        "skopeo is not installed: `make test` installs it (apt-get install skopeo)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (built, layout, archive) = build_into(dir.path());
    let oci = format!("oci:{}:latest", layout.display());

    // The configuration as written (skopeo's own summary drops Docker's Healthcheck).
    let config = skopeo_json(&["--raw", "--config", &oci]);
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "{config}");
    assert_eq!(
        c["Entrypoint"],
        json!(["/usr/local/bin/vcr-local", "--allow-remote"]),
        "{config}"
    );
    assert_eq!(c["Cmd"], Value::Null, "{config}");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for expected in [
        "VCR_LOCAL_LISTEN=0.0.0.0:8080",
        "VCR_LOCAL_REGISTRY_HCM=0.0.0.0:5080",
        "VCR_LOCAL_REGISTRY_HAN=0.0.0.0:5081",
    ] {
        assert!(env.contains(&expected), "no {expected} in {env:?}");
    }
    assert!(
        !env.iter()
            .any(|e| e.starts_with("VCR_LOCAL_CLIENT_SECRET=")),
        "the image must not carry a secret: {env:?}"
    );
    let ports: Vec<&String> = c["ExposedPorts"].as_object().unwrap().keys().collect();
    assert_eq!(ports, ["5080/tcp", "5081/tcp", "8080/tcp"], "{config}");
    assert_eq!(
        c["Healthcheck"]["Test"],
        json!(["CMD", "/usr/local/bin/vcr-local", "health"]),
        "{config}"
    );
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], layout::arch());

    // Labels, as skopeo summarises them, from the layout and from the archive.
    let summary = skopeo_json(&[&oci]);
    let from_archive = skopeo_json(&[&format!("docker-archive:{}", archive.display())]);
    for labels in [&summary["Labels"], &from_archive["Labels"]] {
        assert_eq!(
            labels["org.opencontainers.image.source"],
            "https://github.com/vngcloud/terraform-provider-vcr"
        );
        assert_eq!(
            labels["org.opencontainers.image.version"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(labels["org.opencontainers.image.licenses"], "MIT");
        assert_eq!(
            labels["org.opencontainers.image.revision"],
            "0123456789abcdef"
        );
    }
    assert_eq!(summary["Layers"], from_archive["Layers"]);
    assert_eq!(summary["User"], Value::Null, "skopeo 1.9 leaves it out");
    // The version tag names the same image as latest.
    let versioned = skopeo_json(&[&format!(
        "oci:{}:{}",
        layout.display(),
        env!("CARGO_PKG_VERSION")
    )]);
    assert_eq!(versioned["Digest"], summary["Digest"]);

    // The layer: the binary, the libraries it loads, two files of /etc, and the
    // directories; owned by root but /data (the user's); nothing else.
    let manifest = skopeo_json(&["--raw", &oci]);
    let layer = layer_of(&layout, &manifest);
    let entries = tar_entries(&layer);
    let binary = std::fs::read(env!("CARGO_BIN_EXE_vcr-local")).unwrap();
    let libs = image::shared_libraries(Path::new(env!("CARGO_BIN_EXE_vcr-local"))).unwrap();
    let mut expected_files: Vec<String> = libs
        .iter()
        .map(|l| l.to_string_lossy().trim_start_matches('/').to_string())
        .collect();
    expected_files.extend(["etc/passwd", "etc/group", "usr/local/bin/vcr-local"].map(String::from));
    expected_files.sort();
    let mut files: Vec<String> = entries
        .iter()
        .filter(|e| e.1 == '0')
        .map(|e| e.0.clone())
        .collect();
    files.sort();
    assert_eq!(files, expected_files, "the layer's files");
    let vcr_local = entries
        .iter()
        .find(|e| e.0 == "usr/local/bin/vcr-local")
        .unwrap();
    assert_eq!((vcr_local.2, vcr_local.3), (0o755, 0), "{vcr_local:?}");
    assert_eq!(vcr_local.4, binary.len() as u64);
    let data = entries.iter().find(|e| e.0 == "data/").unwrap();
    assert_eq!((data.1, data.2, data.3), ('5', 0o700, 65532), "{data:?}");
    let tmp = entries.iter().find(|e| e.0 == "tmp/").unwrap();
    assert_eq!(tmp.2, 0o1777, "{tmp:?}");
    let passwd =
        String::from_utf8(layer_file(&layer, "etc/passwd").expect("/etc/passwd in the layer"))
            .unwrap();
    assert!(passwd.contains("vcr-local:x:65532:65532:"), "{passwd}");
    assert_eq!(
        layer_file(&layer, "usr/local/bin/vcr-local").as_deref(),
        Some(&binary[..]),
        "the binary in the layer is this run's vcr-local"
    );

    // Size: what the files weigh, plus the tar's headers and the JSON, no more.
    let files_total: u64 = built.files.iter().map(|(_, n)| n).sum();
    let layer_size = manifest["layers"][0]["size"].as_u64().unwrap();
    assert_eq!(layer_size, layer.len() as u64);
    assert!(
        layer_size - files_total < 64 * 1024,
        "the layer ({layer_size} bytes) holds more than its files ({files_total} bytes)"
    );
    let libs_total: u64 = built
        .files
        .iter()
        .filter(|(p, _)| p != image::BINARY_PATH && !p.starts_with("/etc/"))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "image of the debug build: {:.1} MB in all ({:.1} MB binary, {:.1} MB libraries); \
         `make image` (release build) checks the 30 MB limit",
        built.size() as f64 / 1e6,
        binary.len() as f64 / 1e6,
        libs_total as f64 / 1e6
    );
    assert!(
        built.size() < binary.len() as u64 + libs_total + 64 * 1024,
        "the image is more than the binary and its libraries"
    );
}

/// A file's bytes in a ustar archive.
fn layer_file(tar: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut at = 0;
    for (path, _, _, _, size) in tar_entries(tar) {
        let body = at + 512;
        if path == name {
            return Some(tar[body..body + size as usize].to_vec());
        }
        at = body + (size as usize).div_ceil(512) * 512;
    }
    None
}

#[test]
fn make_image_refuses_an_image_over_its_size_limit() {
    // The limit `make image` gives (--max-mb 30) is the example's check: a debug
    // binary (far over 30 MB) is refused, and nothing is written.
    let dir = tempfile::tempdir().unwrap();
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_vcr-local"))
        .unwrap()
        .len();
    assert!(binary > 30_000_000, "a debug build is over 30 MB: {binary}");
    let example = Path::new(env!("CARGO_BIN_EXE_vcr-local"))
        .parent()
        .unwrap()
        .join("examples/vcr-local-image");
    if !example.exists() {
        // `cargo test --test local` alone does not build examples.
        eprintln!(
            "skipped: {} is not built (cargo test --all-targets builds it)",
            example.display()
        );
        return;
    }
    let out = Command::new(&example)
        .arg(env!("CARGO_BIN_EXE_vcr-local"))
        .arg(dir.path())
        .args(["--max-mb", "30"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("more than the 30 MB allowed"), "{stderr}");
    assert!(!dir.path().join("vcr-local-oci").exists());
    assert!(!dir.path().join("vcr-local-image.tar").exists());
}

/// Three ports free on this machine now.
fn free_ports() -> [u16; 3] {
    let listeners: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    [ports[0], ports[1], ports[2]]
}

/// Removes the container when the test ends, however it ends.
struct Container<'a> {
    daemon: &'a Dockerd,
    name: String,
}

impl Container<'_> {
    /// What the container printed (the settings on stdout, logs on stderr).
    fn logs(&self) -> String {
        let out = run(self.daemon.docker().args(["logs", &self.name]), "");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.daemon.docker().args(["rm", "-f", &self.name]).output();
    }
}

fn inspect(daemon: &Dockerd, name: &str, format: &str) -> String {
    ok(run(
        daemon.docker().args(["inspect", "-f", format, name]),
        "",
    ))
    .trim()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_runs_the_image_serves_from_it_and_stops_it() {
    let Some(daemon) = Dockerd::start() else {
        assert!(
            !Dockerd::required(),
            "CI=true: the image must be run with docker, and no Docker daemon could start"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, _, archive) = build_into(dir.path());
    let loaded = ok(run(
        daemon
            .docker()
            .args(["load", "-i", &archive.display().to_string()]),
        "",
    ));
    assert!(
        loaded.contains("Loaded image: vcr-local:latest"),
        "{loaded}"
    );

    let [api, hcm, han] = free_ports();
    let name = format!("vcr-local-image-test-{}", std::process::id());
    let container = Container {
        daemon: &daemon,
        name: name.clone(),
    };
    let secret = "image-test-secret";
    ok(run(
        daemon
            .docker()
            .args([
                "run",
                "-d",
                "--name",
                &name,
                // No bridge here: the host's network (a CI service publishes ports).
                "--network",
                "host",
                "--health-interval",
                "1s",
                "-e",
                &format!("VCR_LOCAL_LISTEN=0.0.0.0:{api}"),
                "-e",
                &format!("VCR_LOCAL_REGISTRY_HCM=0.0.0.0:{hcm}"),
                "-e",
                &format!("VCR_LOCAL_REGISTRY_HAN=0.0.0.0:{han}"),
                "-e",
                "VCR_LOCAL_CLIENT_ID=image-test",
                // The secret from docker's environment, not its command line.
                "-e",
                "VCR_LOCAL_CLIENT_SECRET",
                "vcr-local:latest",
            ])
            .env("VCR_LOCAL_CLIENT_SECRET", secret),
        "",
    ));

    // Its own health check (`vcr-local health` in the container) says healthy.
    let started = Instant::now();
    loop {
        let status = inspect(&daemon, &name, "{{.State.Health.Status}}");
        if status == "healthy" {
            break;
        }
        assert!(
            status == "starting" && started.elapsed() < Duration::from_secs(60),
            "health {status} after {:?}: {}\n{}",
            started.elapsed(),
            inspect(&daemon, &name, "{{json .State.Health}}"),
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // It runs as uid 65532, not root.
    let pid = inspect(&daemon, &name, "{{.State.Pid}}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["65532"; 4],
        "{uid}"
    );
    // Its settings came from VCR_LOCAL_*: the printed lines say the ports and the
    // client given, and it warns that it listens beyond loopback.
    let logs = container.logs();
    assert!(
        logs.contains(&format!("VCR_REGISTRY_HCM=127.0.0.1:{hcm}"))
            && logs.contains(&format!("VCR_REGISTRY_HAN=127.0.0.1:{han}"))
            && logs.contains("VCR_CLIENT_ID=image-test"),
        "{logs}"
    );
    assert!(logs.contains("reachable from other machines"), "{logs}");

    // The API from the host: a repository, a push user and a pull-only user.
    let region = Region {
        token_url: format!("http://127.0.0.1:{api}/iam/accounts-api/v2/auth/token"),
        client_id: "image-test".into(),
        client_secret: secret.into(),
        endpoint: format!("http://127.0.0.1:{api}/hcm"),
        registry: format!("127.0.0.1:{hcm}"),
    };
    let health: Value = reqwest::get(format!("http://127.0.0.1:{api}/_local/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true, "{health}");
    let (s, repo) = region
        .api(
            Method::POST,
            "/v1/repository",
            Some(json!({"repoName": "image-app", "isPublic": false, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(s, 202, "{repo}");
    let repo_id = repo["uuid"].as_str().unwrap().to_string();
    let backend = repo["backendName"].as_str().unwrap().to_string();
    let (ci, ci_secret, _) = region
        .create_user("image-ci", &repo_id, &[PULL_POLICY, PUSH_POLICY])
        .await;
    let (reader, reader_secret, _) = region
        .create_user("image-rd", &repo_id, &[PULL_POLICY])
        .await;

    // Its registry from the host, with docker: build (FROM scratch: nothing pulled),
    // log in, push; then pull as the reader.
    let context = dir.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("hello.txt"), "hello through the image\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    )
    .unwrap();
    let remote = format!("{}/{backend}/web:1.0", region.registry);
    ok(run(
        daemon
            .docker()
            .args(["build", "-t", &remote, &context.display().to_string()]),
        "",
    ));
    let login = |user: &str, password: &str| {
        ok(run(
            daemon
                .docker()
                .args(["login", &region.registry, "-u", user, "--password-stdin"]),
            password,
        ))
    };
    assert!(login(&ci, &ci_secret).contains("Login Succeeded"));
    ok(run(daemon.docker().args(["push", &remote]), ""));
    ok(run(daemon.docker().args(["rmi", &remote]), ""));
    login(&reader, &reader_secret);
    let pulled = ok(run(daemon.docker().args(["pull", &remote]), ""));
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    let (_, repo) = region
        .api(Method::GET, &format!("/v1/repository/{repo_id}"), None)
        .await;
    assert_eq!(repo["imageCount"], 1, "{repo}");

    // It stops on docker stop (SIGTERM), cleanly and at once.
    let stopping = Instant::now();
    ok(run(daemon.docker().args(["stop", &name]), ""));
    let took = stopping.elapsed();
    assert_eq!(inspect(&daemon, &name, "{{.State.ExitCode}}"), "0");
    assert!(
        took < Duration::from_secs(9),
        "docker stop took {took:?}: vcr-local did not stop on SIGTERM (docker kills after 10 s)"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", api)).is_err(),
        "the API still answers after docker stop"
    );
    drop(container);
}

/// `vcr-local health` (the image's health check) asks the vcr-local at
/// `VCR_LOCAL_LISTEN`: 0 when it serves, 1 with the reason when nothing listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcr_local_health_says_whether_the_server_answers() {
    let health = |listen: String| {
        Command::new(env!("CARGO_BIN_EXE_vcr-local"))
            .arg("health")
            .env("VCR_LOCAL_LISTEN", listen)
            .output()
            .unwrap()
    };
    let srv = vcr_support::server().await;
    // An unspecified address (as in the image: 0.0.0.0) is asked on loopback.
    let up = health(format!("0.0.0.0:{}", srv.addr().port()));
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let port = srv.addr().port();
    srv.shutdown().await;
    let down = health(format!("127.0.0.1:{port}"));
    let said = String::from_utf8_lossy(&down.stderr);
    assert_eq!(down.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{said}"
    );
}

/// `--public-host` (`VCR_LOCAL_PUBLIC_HOST`, a CI service's alias): the printed
/// settings, the repositories' `registryUrl` and the registries' token realm name
/// it, so that a client that reached vcr-local by that name keeps using it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_host_names_the_addresses_vcr_local_gives_out() {
    use vcr_provider::local::{start, LocalConfig};
    let srv = start(LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_host: Some("vcr-local".into()),
        ..LocalConfig::default()
    })
    .await
    .unwrap();
    let port = srv.addr().port();
    let settings: std::collections::HashMap<_, _> = srv.settings().into_iter().collect();
    assert_eq!(
        settings["VCR_TOKEN_URL"],
        format!("http://vcr-local:{port}/iam/accounts-api/v2/auth/token")
    );
    assert_eq!(
        settings["VCR_ENDPOINT_HCM"],
        format!("http://vcr-local:{port}/hcm")
    );
    let registry = &settings["VCR_REGISTRY_HCM"];
    assert!(registry.starts_with("vcr-local:"), "{registry}");
    let registry_port = &registry["vcr-local:".len()..];

    // The registry's challenge, asked on 127.0.0.1, names the public host.
    let challenge = reqwest::get(format!("http://127.0.0.1:{registry_port}/v2/"))
        .await
        .unwrap();
    assert_eq!(challenge.status(), 401);
    let realm = challenge.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        realm.contains(&format!(
            "realm=\"http://vcr-local:{registry_port}/service/token\""
        )),
        "{realm}"
    );
    // A repository's registryUrl too.
    let region = Region {
        token_url: format!("http://127.0.0.1:{port}/iam/accounts-api/v2/auth/token"),
        client_id: settings["VCR_CLIENT_ID"].clone(),
        client_secret: settings["VCR_CLIENT_SECRET"].clone(),
        endpoint: format!("http://127.0.0.1:{port}/hcm"),
        registry: registry.clone(),
    };
    let (s, repo) = region
        .api(
            Method::POST,
            "/v1/repository",
            Some(json!({"repoName": "public-host", "isPublic": false, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(s, 202, "{repo}");
    let (_, repo) = region
        .api(
            Method::GET,
            &format!("/v1/repository/{}", repo["uuid"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        repo["registryUrl"],
        format!("{registry}/{}", repo["backendName"].as_str().unwrap()),
        "{repo}"
    );
    // /_local/ is still this machine's only (its URL stays on loopback).
    assert!(srv.local_url().starts_with("http://127.0.0.1:"));
    srv.shutdown().await;

    for bad in ["", "http://vcr-local", "vcr-local:8080", "vcr local"] {
        let err = start(LocalConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_host: Some(bad.into()),
            ..LocalConfig::default()
        })
        .await
        .err()
        .unwrap_or_else(|| panic!("{bad:?} was accepted"));
        assert!(err.to_string().contains("public host"), "{bad:?}: {err}");
    }
}
