//! The container image of `vcr-local`, assembled without a Docker daemon and
//! without a base image: one layer holding the binary, the shared libraries
//! it loads (as `ldd` lists them; none for a static binary), `/etc/passwd`
//! and `/etc/group` naming its non-root user, `/tmp` and `/data`. Written as
//! an OCI image layout folder (what `skopeo copy oci:DIR:TAG` reads) and as
//! a `docker load`-able archive (the same layout with Docker's
//! `manifest.json`, as `docker save` writes since Docker 25).
//!
//! `make image` runs it on the release build (`main.rs`); `tests/local/container_image.rs`
//! runs the same code on the debug build. Digests and the architecture come
//! from the registry client's `layout.rs` (a `layout` module beside this one).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::layout::{arch, digest};

pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// Where the binary goes in the image.
pub const BINARY_PATH: &str = "/usr/local/bin/vcr-local";
/// The user the container runs as (uid:gid); not root.
pub const USER: &str = "65532:65532";
/// The image's name in the archive (`docker load` tags it so).
pub const REPOSITORY: &str = "vcr-local";
/// `org.opencontainers.image.source` unless told otherwise: the repository
/// the Terraform registry's `vngcloud/vcr` is published from.
pub const DEFAULT_SOURCE: &str = "https://github.com/vngcloud/terraform-provider-vcr";
/// The ports the image listens on: the API, HCM's and HAN's registries.
pub const PORTS: [u16; 3] = [8080, 5080, 5081];

/// What goes into the image besides the binary.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The `vcr-local` binary to put in the image.
    pub binary: PathBuf,
    /// The version (label, and the second tag besides `latest`).
    pub version: String,
    /// `org.opencontainers.image.source`: the repository's URL.
    pub source: String,
    /// `org.opencontainers.image.revision`: the commit, when known.
    pub revision: Option<String>,
    /// `org.opencontainers.image.licenses`, an SPDX expression.
    pub licenses: String,
}

/// A built image: its one layer, config and manifest, as bytes.
pub struct Image {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    /// The tags it is written under: `latest` and the version.
    pub tags: Vec<String>,
    /// What the layer holds, path in the image and bytes, for the record.
    pub files: Vec<(String, u64)>,
}

/// The shared libraries `binary` loads, with the dynamic loader, as `ldd`
/// prints them (absolute paths); empty for a static binary.
pub fn shared_libraries(binary: &Path) -> io::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run ldd (from libc-bin): {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // "not a dynamic executable" / "statically linked": nothing to add.
        let said = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
        return if said.contains("not a dynamic executable") || said.contains("statically linked") {
            Ok(Vec::new())
        } else {
            Err(io::Error::other(format!(
                "ldd {}: {}",
                binary.display(),
                said.trim()
            )))
        };
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
        // "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)".
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        match path {
            Some(p) if p.starts_with('/') => libs.push(PathBuf::from(p)),
            Some("not") => {
                return Err(io::Error::other(format!(
                    "ldd {}: a library is missing: {}",
                    binary.display(),
                    line.trim()
                )))
            }
            _ => {}
        }
    }
    Ok(libs)
}

/// A tar archive built entry by entry (ustar, fixed times, numeric owners),
/// so that the same inputs give the same bytes.
#[derive(Default)]
pub struct Tar {
    bytes: Vec<u8>,
    dirs: Vec<String>,
}

impl Tar {
    fn header(name: &str, mode: u32, owner: u32, size: u64, kind: u8) -> [u8; 512] {
        assert!(name.len() < 100, "tar name too long: {name}");
        let mut h = [0u8; 512];
        let mut put = |at: usize, text: &[u8]| h[at..at + text.len()].copy_from_slice(text);
        put(0, name.as_bytes());
        put(100, format!("{mode:07o}\0").as_bytes());
        put(108, format!("{owner:07o}\0").as_bytes());
        put(116, format!("{owner:07o}\0").as_bytes());
        put(124, format!("{size:011o}\0").as_bytes());
        put(136, b"00000000000\0");
        put(148, b"        ");
        put(156, &[kind]);
        put(257, b"ustar\0");
        put(263, b"00");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    /// A directory (and, before it, each parent not added yet), owned by root.
    pub fn dir(&mut self, path: &str, mode: u32, owner: u32) {
        let path = path.trim_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            if !self.dirs.iter().any(|d| d == parent) {
                self.dir(parent, 0o755, 0);
            }
        }
        if self.dirs.iter().any(|d| d == path) {
            return;
        }
        self.dirs.push(path.to_string());
        let h = Self::header(&format!("{path}/"), mode, owner, 0, b'5');
        self.bytes.extend_from_slice(&h);
    }

    /// A regular file, owned by root, with its parent directories.
    pub fn file(&mut self, path: &str, mode: u32, content: &[u8]) {
        let path = path.trim_start_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent, 0o755, 0);
        }
        let h = Self::header(path, mode, 0, content.len() as u64, b'0');
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(content);
        self.bytes.resize(self.bytes.len().div_ceil(512) * 512, 0);
    }

    /// The archive, with its two closing blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        self.bytes
    }
}

/// The user and group files: root, and `vcr-local` (65532) with `/data` as home.
const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
                      vcr-local:x:65532:65532:vcr-local:/data:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nvcr-local:x:65532:\n";

/// The image's configuration: who it runs as, what it runs, where it listens
/// (every interface of the container, with --allow-remote: a container's
/// ports are reachable only where they are published), its health check.
fn config(spec: &Spec, layer: &[u8]) -> Value {
    let mut labels = json!({
        "org.opencontainers.image.title": "vcr-local",
        "org.opencontainers.image.description":
            "A local stand-in for VNG Cloud vContainer Registry: its IAM token endpoint, the vCR API of regions HCM and HAN, and a Docker registry per region",
        "org.opencontainers.image.source": spec.source,
        "org.opencontainers.image.version": spec.version,
        "org.opencontainers.image.licenses": spec.licenses,
    });
    if let Some(revision) = &spec.revision {
        labels["org.opencontainers.image.revision"] = json!(revision);
    }
    let ports: serde_json::Map<String, Value> = PORTS
        .iter()
        .map(|p| (format!("{p}/tcp"), json!({})))
        .collect();
    const SECOND: u64 = 1_000_000_000;
    json!({
        "architecture": arch(),
        "os": "linux",
        "config": {
            "User": USER,
            "Entrypoint": [BINARY_PATH, "--allow-remote"],
            "Env": [
                "PATH=/usr/local/bin",
                format!("VCR_LOCAL_LISTEN=0.0.0.0:{}", PORTS[0]),
                format!("VCR_LOCAL_REGISTRY_HCM=0.0.0.0:{}", PORTS[1]),
                format!("VCR_LOCAL_REGISTRY_HAN=0.0.0.0:{}", PORTS[2]),
            ],
            "ExposedPorts": ports,
            "WorkingDir": "/data",
            "Labels": labels,
            "StopSignal": "SIGTERM",
            // Docker's own field (OCI has none): `docker run` and CI services
            // that wait for "healthy" (GitHub Actions) use it.
            "Healthcheck": {
                "Test": ["CMD", BINARY_PATH, "health"],
                "Interval": 5 * SECOND,
                "Timeout": 5 * SECOND,
                "StartPeriod": 10 * SECOND,
                "StartInterval": SECOND,
                "Retries": 3,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
        "history": [{"created_by": "make image (examples/vcr-local-image): the vcr-local binary and the libraries it loads"}],
    })
}

/// Builds the image from `spec`.
pub fn build(spec: &Spec) -> io::Result<Image> {
    let binary = std::fs::read(&spec.binary)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", spec.binary.display())))?;
    let mut tar = Tar::default();
    let mut files = Vec::new();
    tar.dir("etc", 0o755, 0);
    tar.file("etc/passwd", 0o644, PASSWD.as_bytes());
    tar.file("etc/group", 0o644, GROUP.as_bytes());
    files.push(("/etc/passwd".to_string(), PASSWD.len() as u64));
    files.push(("/etc/group".to_string(), GROUP.len() as u64));
    tar.dir("tmp", 0o1777, 0);
    // Where VCR_LOCAL_DATA=/data keeps the state (mount a volume there).
    tar.dir("data", 0o700, 65532);
    for lib in shared_libraries(&spec.binary)? {
        // The library's bytes at the path the binary asks for (a symlink on
        // the host, such as /lib64/ld-linux-x86-64.so.2, becomes the file).
        let bytes = std::fs::read(&lib)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", lib.display())))?;
        let path = lib.to_string_lossy().into_owned();
        tar.file(&path, 0o755, &bytes);
        files.push((path, bytes.len() as u64));
    }
    tar.file(BINARY_PATH, 0o755, &binary);
    files.push((BINARY_PATH.to_string(), binary.len() as u64));
    let layer = tar.finish();

    let config = serde_json::to_vec(&config(spec, &layer)).expect("JSON");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": LAYER_TYPE, "digest": digest(&layer), "size": layer.len()}],
    });
    let manifest = serde_json::to_vec(&manifest).expect("JSON");
    Ok(Image {
        layer,
        config,
        manifest,
        tags: vec!["latest".to_string(), spec.version.clone()],
        files,
    })
}

impl Image {
    /// The blobs, each with its digest.
    fn blobs(&self) -> [(String, &[u8]); 3] {
        [
            (digest(&self.layer), &self.layer),
            (digest(&self.config), &self.config),
            (digest(&self.manifest), &self.manifest),
        ]
    }

    /// `index.json`: the manifest under each tag (`docker load` reads
    /// `io.containerd.image.name`, skopeo the ref name).
    fn index(&self) -> Vec<u8> {
        let manifests: Vec<Value> = self
            .tags
            .iter()
            .map(|tag| {
                json!({
                    "mediaType": MANIFEST_TYPE,
                    "digest": digest(&self.manifest),
                    "size": self.manifest.len(),
                    "annotations": {
                        "org.opencontainers.image.ref.name": tag,
                        "io.containerd.image.name": format!("docker.io/library/{REPOSITORY}:{tag}"),
                    },
                })
            })
            .collect();
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": manifests})).expect("JSON")
    }

    /// The total of the blobs' sizes: what a pull downloads.
    pub fn size(&self) -> u64 {
        self.blobs().iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Writes the OCI image layout into `dir` (emptied first).
    pub fn write_layout(&self, dir: &Path) -> io::Result<()> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs)?;
        for (d, bytes) in self.blobs() {
            std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes)?;
        }
        std::fs::write(dir.join("index.json"), self.index())?;
        std::fs::write(dir.join("oci-layout"), OCI_LAYOUT)
    }

    /// Writes the `docker load` archive: the layout, plus Docker's
    /// `manifest.json` naming the config, the layer and the tags.
    pub fn write_archive(&self, path: &Path) -> io::Result<()> {
        let mut tar = Tar::default();
        tar.dir("blobs/sha256", 0o755, 0);
        for (d, bytes) in self.blobs() {
            tar.file(
                &format!("blobs/sha256/{}", d.trim_start_matches("sha256:")),
                0o644,
                bytes,
            );
        }
        tar.file("oci-layout", 0o644, OCI_LAYOUT);
        tar.file("index.json", 0o644, &self.index());
        let blob = |bytes: &[u8]| format!("blobs/sha256/{}", &digest(bytes)["sha256:".len()..]);
        let repo_tags: Vec<String> = self
            .tags
            .iter()
            .map(|t| format!("{REPOSITORY}:{t}"))
            .collect();
        let docker = json!([{
            "Config": blob(&self.config),
            "RepoTags": repo_tags,
            "Layers": [blob(&self.layer)],
        }]);
        tar.file(
            "manifest.json",
            0o644,
            &serde_json::to_vec(&docker).expect("JSON"),
        );
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, tar.finish())
    }
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
