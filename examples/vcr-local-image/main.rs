//! `make image`: the container image of `vcr-local`, with no Docker daemon and
//! no base image (see `image.rs` for what goes in):
//!
//! ```text
//! cargo run --example vcr-local-image -- BINARY OUT_DIR [--source URL] [--revision SHA] [--max-mb N]
//! ```
//!
//! writes `OUT_DIR/vcr-local-oci/` (an OCI image layout, tags `latest` and the
//! version) and `OUT_DIR/vcr-local-image.tar` (for `docker load`), and fails
//! when the image is larger than `--max-mb` MB.

mod image;
// Digests and the architecture, shared with the registry client.
#[allow(dead_code)]
#[path = "../registry-client/layout.rs"]
mod layout;

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: vcr-local-image BINARY OUT_DIR [--source URL] [--revision SHA] [--max-mb N]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut positional = Vec::new();
    let mut source = None;
    let mut revision = None;
    let mut max_mb: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--source" => source = args.next(),
            "--revision" => revision = args.next().filter(|r| !r.is_empty()),
            "--max-mb" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max_mb = Some(n),
                None => return usage(),
            },
            _ if arg.starts_with("--") => return usage(),
            _ => positional.push(arg),
        }
    }
    let [binary, out] = positional.as_slice() else {
        return usage();
    };
    let spec = image::Spec {
        binary: PathBuf::from(binary),
        version: env!("CARGO_PKG_VERSION").to_string(),
        source: source.unwrap_or_else(|| image::DEFAULT_SOURCE.to_string()),
        revision,
        licenses: env!("CARGO_PKG_LICENSE").to_string(),
    };
    let built = match image::build(&spec) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("vcr-local-image: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (path, size) in &built.files {
        println!("    {path} ({size} bytes)");
    }
    let size = built.size();
    let mb = size as f64 / 1_000_000.0;
    if let Some(max) = max_mb {
        if size > max * 1_000_000 {
            eprintln!("vcr-local-image: the image is {mb:.1} MB, more than the {max} MB allowed");
            return ExitCode::FAILURE;
        }
    }
    let out = PathBuf::from(out);
    let layout = out.join("vcr-local-oci");
    let archive = out.join("vcr-local-image.tar");
    if let Err(e) = built
        .write_layout(&layout)
        .and_then(|()| built.write_archive(&archive))
    {
        eprintln!("vcr-local-image: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "==> {} (OCI layout, tags {}) and {} (docker load): {mb:.1} MB, {}",
        layout.display(),
        built.tags.join(", "),
        archive.display(),
        layout::digest(&built.manifest),
    );
    ExitCode::SUCCESS
}
