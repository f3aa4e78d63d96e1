//! A tiny container image built without a Docker daemon: one file in an
//! uncompressed tar layer, a config and a manifest, written as an OCI image
//! layout folder (what `skopeo copy oci:DIR:TAG` reads), and read back.

use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// An image's parts.
pub struct Image {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

/// `sha256:<hex>` of bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A tar archive holding one file (ustar, owned by root, mode 0644).
pub fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, text: &[u8]| h[at..at + text.len()].copy_from_slice(text);
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, b"0000644\0");
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(
        &mut header,
        124,
        format!("{:011o}\0", content.len()).as_bytes(),
    );
    put(&mut header, 136, b"00000000000\0");
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    let sum: u32 = header.iter().map(|b| *b as u32).sum();
    put(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// The content of a file in a tar archive made by [`tar_one_file`] (or any
/// ustar archive of regular files).
pub fn file_in_tar(tar: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let header = &tar[at..at + 512];
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let size_text = String::from_utf8_lossy(&header[124..135])
            .trim_matches(char::from(0))
            .trim()
            .to_string();
        let size = usize::from_str_radix(&size_text, 8).ok()?;
        let body = at + 512;
        if &header[..end] == name.as_bytes() {
            return tar.get(body..body + size).map(<[u8]>::to_vec);
        }
        at = body + size.div_ceil(512) * 512;
    }
    None
}

/// The image architecture of this machine, as OCI names it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// An image whose one layer holds `hello.txt` with `text`.
pub fn build(text: &str) -> Image {
    let layer = tar_one_file("hello.txt", text.as_bytes());
    let config = serde_json::json!({
        "architecture": arch(),
        "os": "linux",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]},
    });
    let config = serde_json::to_vec(&config).expect("JSON");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": LAYER_TYPE, "digest": digest(&layer), "size": layer.len()}],
    });
    let manifest = serde_json::to_vec(&manifest).expect("JSON");
    Image {
        layer,
        config,
        manifest,
    }
}

/// Writes the image as an OCI image layout in `dir`, under `tag`.
pub fn write_layout(dir: &Path, tag: &str, image: &Image) -> io::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for bytes in [&image.layer, &image.config, &image.manifest] {
        let d = digest(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes)?;
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": digest(&image.manifest),
            "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("JSON"),
    )?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
}

/// Reads back the image tagged `tag` from an OCI image layout (one layer).
pub fn read_layout(dir: &Path, tag: &str) -> io::Result<Image> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", dir.display()),
        )
    };
    let blob = |d: &str| {
        std::fs::read(
            dir.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
    };
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)
        .map_err(|_| bad("index.json is not JSON"))?;
    let entry = index["manifests"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag)
        })
        .ok_or_else(|| bad("no such tag"))?;
    let manifest = blob(entry["digest"].as_str().ok_or_else(|| bad("no digest"))?)?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|_| bad("the manifest is not JSON"))?;
    let config = blob(
        parsed["config"]["digest"]
            .as_str()
            .ok_or_else(|| bad("no config"))?,
    )?;
    let layer = blob(
        parsed["layers"][0]["digest"]
            .as_str()
            .ok_or_else(|| bad("no layer"))?,
    )?;
    Ok(Image {
        layer,
        config,
        manifest,
    })
}
