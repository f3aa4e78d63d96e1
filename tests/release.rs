//! The release files are what `terraform init` expects: a mirror made from them
//! installs the provider, and SHA256SUMS holds the zip's checksum.

mod support;

use std::process::Command;

use support::Workspace;

#[test]
fn terraform_init_installs_from_a_mirror_made_of_the_release_files() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/release.sh"))
        .env("PROFILE", "dev")
        .env("DIST", dist.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "release.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let version = env!("CARGO_PKG_VERSION");
    let sums = std::fs::read_to_string(
        dist.path()
            .join(format!("terraform-provider-vcr_{version}_SHA256SUMS")),
    )
    .unwrap();
    let zip_name = format!("terraform-provider-vcr_{version}_linux_amd64.zip");
    let zip_sum = sums
        .lines()
        .find_map(|l| l.strip_suffix(&format!("  {zip_name}")))
        .unwrap_or_else(|| panic!("{zip_name} not in SHA256SUMS:\n{sums}"));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            dist.path()
                .join(format!("terraform-provider-vcr_{version}_manifest.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["5.0"])
    );

    // A packed filesystem mirror, as a network mirror or the registry would serve it.
    let ws = Workspace::new();
    let mirror = ws.path().join("mirror/registry.terraform.io/vngcloud/vcr");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(dist.path().join(&zip_name), mirror.join(&zip_name)).unwrap();
    ws.write_file(
        "cli.tfrc",
        &format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            ws.path().join("mirror").display()
        ),
    );
    ws.write_file(
        "main.tf",
        &format!("terraform {{\n  required_providers {{\n    vcr = {{ source = \"vngcloud/vcr\", version = \"{version}\" }}\n  }}\n}}\nprovider \"vcr\" {{}}\n"),
    );
    let init = ws.must(&["init", "-input=false", "-no-color"]);
    assert!(
        init.stdout
            .contains(&format!("Installed vngcloud/vcr v{version}")),
        "{}",
        init.output()
    );
    let lock = std::fs::read_to_string(ws.path().join(".terraform.lock.hcl")).unwrap();
    // A filesystem mirror records the package's h1: hash (zh: comes only with a
    // registry's signed checksums); the SHA256SUMS line must be the zip's own.
    assert!(
        lock.contains("h1:"),
        "no package hash in the lock file:\n{lock}"
    );
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(dist.path().join(&zip_name)).unwrap();
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(digest, zip_sum, "SHA256SUMS disagrees with the zip");
    let run = ws.validate();
    assert!(run.success(), "{}", run.output());
}
