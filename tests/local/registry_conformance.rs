//! The OCI distribution spec's conformance workflows against vcr-local's
//! registry, driven by a client written by others: the Python ORAS client
//! (`pip install oras`; `make test` installs it) pushes, pulls, attaches an
//! artifact to an image through its `subject` (content discovery), lists and
//! deletes tags; skopeo's copy, inspect and delete are in `tests/local/interop.rs`.
//! Beside the client, raw requests check each rule of the referrers API the
//! client does not read: the image index, the `artifactType` filter with
//! `OCI-Filters-Applied`, an empty index when nothing refers, `OCI-Subject`
//! on a PUT, a subject that does not exist (yet) accepted.

use crate::vcr_support;

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};
use vcr_support::registry_support::{Region, PULL_POLICY, PUSH_POLICY};
use vcr_support::*;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const SIGNATURE: &str = "application/vnd.example.signature.v1+json";
const SBOM: &str = "application/vnd.example.sbom.v1+json";

/// A push user of a repository, and its image's name.
struct Pusher {
    region: Region,
    login: String,
    secret: String,
    name: String,
}

impl Pusher {
    /// Runs the ORAS client (tests/fixtures/oras_client.py) with this user's
    /// credentials after `args`; answers its JSON line.
    fn oras(&self, action: &str, args: &[&str], tail: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oras_client.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(action)
            .arg(&self.region.registry)
            .args(args)
            .args([self.login.as_str(), "-"])
            .args(tail)
            .env("VCR_ORAS_SECRET", &self.secret)
            .output()
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "oras {action} failed: {stdout}{stderr}"
        );
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {stdout}{stderr}"))
    }

    /// A raw request to `/v2/<name>/<path>` with Basic credentials: status,
    /// headers and body.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let url = format!("http://{}/v2/{}/{path}", self.region.registry, self.name);
        let mut rb = registry_support::http_client()
            .request(method, url)
            .basic_auth(&self.login, Some(&self.secret));
        if let Some((bytes, content_type)) = body {
            rb = rb.header("content-type", content_type).body(bytes);
        }
        let resp = rb.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.text().await.unwrap())
    }

    /// The referrers of `subject`, filtered by `query`: the index and the
    /// `OCI-Filters-Applied` header.
    async fn referrers(&self, subject: &str, query: &str) -> (Value, Option<String>) {
        let (status, headers, body) = self
            .raw(Method::GET, &format!("referrers/{subject}{query}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], OCI_INDEX);
        let index: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&index["schemaVersion"], &index["mediaType"]),
            (&json!(2), &json!(OCI_INDEX)),
            "{index}"
        );
        let filters = headers
            .get("oci-filters-applied")
            .map(|v| v.to_str().unwrap().to_string());
        (index, filters)
    }
}

fn oras_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import oras.provider"])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn pusher(srv: &vcr_provider::local::RunningServer) -> Pusher {
    let region = region(srv, "hcm");
    let (status, repo) = region
        .api(
            Method::POST,
            "/v1/repository",
            Some(json!({"repoName": "oras-repo", "isPublic": false, "quotaLimit": 1})),
        )
        .await;
    assert_eq!(status, 202, "{repo}");
    let repo_id = repo["uuid"].as_str().unwrap();
    let (login, secret, _) = region
        .create_user("oras-pusher", repo_id, &[PULL_POLICY, PUSH_POLICY])
        .await;
    let name = format!("{}/app", repo["backendName"].as_str().unwrap());
    Pusher {
        region,
        login,
        secret,
        name,
    }
}

/// Push, pull, content discovery and content management with ORAS, and the
/// referrers API's rules with raw requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_pushes_pulls_attaches_referrers_and_deletes() {
    assert!(
        oras_installed(),
        "the Python ORAS client is not installed: `make test` installs it (pip install oras)"
    );
    let srv = server().await;
    let p = pusher(&srv).await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };

    // Push and pull.
    let hello = file("hello.txt", "hello from oras");
    let pushed = p.oras(
        "push",
        &[&format!("{}:v1", p.name)],
        &[&hello, "text/plain"],
    );
    assert_eq!(pushed["status"], 201, "{pushed}");
    assert_eq!(pushed["subject"], Value::Null, "{pushed}");
    let image = pushed["digest"].as_str().unwrap().to_string();
    let out = dir.path().join("pulled");
    let pulled = p.oras(
        "pull",
        &[&format!("{}:v1", p.name)],
        &[&out.display().to_string()],
    );
    assert_eq!(pulled["files"], json!(["hello.txt"]), "{pulled}");
    assert_eq!(
        std::fs::read_to_string(out.join("hello.txt")).unwrap(),
        "hello from oras"
    );

    // Content discovery: a signature attached to the image, by ORAS.
    let (status, headers, _) = p
        .raw(Method::HEAD, &format!("manifests/{image}"), None)
        .await;
    assert_eq!(status, 200);
    let image_size = headers["content-length"].to_str().unwrap().to_string();
    assert_eq!(p.referrers(&image, "").await.0["manifests"], json!([]));
    let sig = file("sig.json", r#"{"signed":"v1"}"#);
    let attached = p.oras(
        "push",
        &[&format!("{}:sig", p.name)],
        &[&sig, "application/json", SIGNATURE, &image, &image_size],
    );
    assert_eq!(attached["status"], 201, "{attached}");
    assert_eq!(
        attached["subject"],
        image.as_str(),
        "OCI-Subject: {attached}"
    );
    let signature = attached["digest"].as_str().unwrap().to_string();
    let (status, headers, _) = p
        .raw(Method::HEAD, &format!("manifests/{signature}"), None)
        .await;
    assert_eq!(status, 200);
    let signature_size: u64 = headers["content-length"].to_str().unwrap().parse().unwrap();

    // The descriptor carries the manifest's annotations (ORAS writes an empty map).
    let listed = json!([{"mediaType": OCI_MANIFEST, "digest": signature,
        "size": signature_size, "artifactType": SIGNATURE, "annotations": {}}]);
    let (index, filters) = p.referrers(&image, "").await;
    assert_eq!((&index["manifests"], filters), (&listed, None), "{index}");
    let (index, filters) = p
        .referrers(
            &image,
            &format!("?artifactType={}", SIGNATURE.replace('+', "%2B")),
        )
        .await;
    assert_eq!(
        (&index["manifests"], filters.as_deref()),
        (&listed, Some("artifactType"))
    );
    let (index, filters) = p
        .referrers(
            &image,
            &format!("?artifactType={}", SBOM.replace('+', "%2B")),
        )
        .await;
    assert_eq!(
        (&index["manifests"], filters.as_deref()),
        (&json!([]), Some("artifactType"))
    );
    let nothing = format!("sha256:{}", "e".repeat(64));
    assert_eq!(p.referrers(&nothing, "").await.0["manifests"], json!([]));
    let (status, _, body) = p.raw(Method::GET, "referrers/sha256:nope", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("DIGEST_INVALID"), "{body}");

    // A subject that does not exist (yet) is accepted, with annotations and
    // an artifactType of the manifest's own.
    let empty_config = p.raw(Method::GET, "manifests/sig", None).await.2;
    let config = serde_json::from_str::<Value>(&empty_config).unwrap()["config"].clone();
    let sbom = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM,
        "config": config, "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": nothing, "size": 100},
        "annotations": {"org.opencontainers.image.created": "2026-12-02T00:00:00Z"}});
    let bytes = serde_json::to_vec(&sbom).unwrap();
    let digest = format!(
        "sha256:{}",
        vcr_support::registry_support::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let (status, headers, body) = p
        .raw(
            Method::PUT,
            &format!("manifests/{digest}"),
            Some((bytes.clone(), OCI_MANIFEST)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["oci-subject"], nothing.as_str());
    let (index, _) = p.referrers(&nothing, "").await;
    assert_eq!(
        index["manifests"],
        json!([{"mediaType": OCI_MANIFEST, "digest": digest, "size": bytes.len(),
            "artifactType": SBOM,
            "annotations": {"org.opencontainers.image.created": "2026-12-02T00:00:00Z"}}])
    );

    // Content management: tags listed and deleted by ORAS; a deleted
    // referrer leaves the list.
    assert_eq!(
        p.oras("tags", &[&p.name], &[])["tags"],
        json!(["sig", "v1"])
    );
    assert_eq!(p.oras("delete-tag", &[&p.name, "v1"], &[])["deleted"], true);
    assert_eq!(p.oras("tags", &[&p.name], &[])["tags"], json!(["sig"]));
    let (status, _, _) = p.raw(Method::GET, "manifests/v1", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        p.raw(Method::DELETE, &format!("manifests/{signature}"), None)
            .await
            .0,
        202
    );
    assert_eq!(p.referrers(&image, "").await.0["manifests"], json!([]));
}
