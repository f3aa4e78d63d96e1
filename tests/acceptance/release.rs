//! The release files are what `terraform init` expects: a mirror made from them
//! installs the provider, and SHA256SUMS holds the zip's checksum. With a GPG key,
//! SHA256SUMS gets the detached signature the registry checks.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use support::Workspace;

#[test]
fn terraform_init_installs_from_a_mirror_made_of_the_release_files() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/release.sh"))
        .env("BINARY", env!("CARGO_BIN_EXE_terraform-provider-vcr"))
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
    assert!(
        !dist
            .path()
            .join(format!("terraform-provider-vcr_{version}_SHA256SUMS.sig"))
            .exists(),
        "a signature without GPG_FINGERPRINT"
    );
    let run = ws.validate();
    assert!(run.success(), "{}", run.output());
}

/// A throwaway keyring: its own GNUPGHOME, whose gpg-agent is stopped on drop.
struct Keyring {
    home: tempfile::TempDir,
}

impl Keyring {
    fn new() -> Keyring {
        let gpg = Command::new("gpg").arg("--version").output();
        assert!(
            gpg.is_ok_and(|o| o.status.success()),
            "the release signature test needs gpg: install gnupg (make test does, with apt-get)"
        );
        // Short, so that gpg-agent's socket path stays within the limit of a Unix socket.
        let home = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        Keyring { home }
    }

    fn gpg(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .arg("--batch")
            .args(args)
            .env("GNUPGHOME", self.home.path())
            .output()
            .expect("run gpg")
    }

    fn must(&self, args: &[&str]) -> String {
        let out = self.gpg(args);
        assert!(
            out.status.success(),
            "gpg {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}

/// Whether the status lines of `gpg --verify --status-fd 1` report a good signature
/// by `fingerprint`.
fn valid_signature_by(status: &str, fingerprint: &str) -> bool {
    status
        .lines()
        .any(|l| l.starts_with("[GNUPG:] VALIDSIG ") && l.split(' ').nth(2) == Some(fingerprint))
}

#[test]
fn make_release_signs_sha256sums_with_the_given_key() {
    let keys = Keyring::new();
    // An RSA key without passphrase (the registry takes RSA and DSA keys only).
    keys.must(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-gen-key",
        "vcr release test <release-test@example.invalid>",
        "rsa2048",
        "sign",
        "never",
    ]);
    let listing = keys.must(&["--with-colons", "--list-secret-keys"]);
    let fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| !f.is_empty()))
        .unwrap_or_else(|| panic!("no fingerprint in:\n{listing}"))
        .to_string();

    let root = env!("CARGO_MANIFEST_DIR");
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/release.sh"))
        .env("BINARY", env!("CARGO_BIN_EXE_terraform-provider-vcr"))
        .env("DIST", dist.path())
        .env("GNUPGHOME", keys.home.path())
        .env("GPG_FINGERPRINT", &fingerprint)
        .env_remove("GPG_PASSPHRASE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "release.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let version = env!("CARGO_PKG_VERSION");
    let sums = dist
        .path()
        .join(format!("terraform-provider-vcr_{version}_SHA256SUMS"));
    let sig = dist
        .path()
        .join(format!("terraform-provider-vcr_{version}_SHA256SUMS.sig"));
    let bytes = std::fs::read(&sig).expect("the .sig file");
    // A binary OpenPGP packet (its tag byte has the high bit set), not ASCII armour.
    assert!(
        bytes.first().is_some_and(|b| b & 0x80 != 0),
        "the signature is not binary OpenPGP"
    );

    let verify = |file: &Path| {
        keys.gpg(&[
            "--status-fd",
            "1",
            "--verify",
            sig.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
    };
    let good = verify(&sums);
    let status = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success() && valid_signature_by(&status, &fingerprint),
        "gpg --verify did not accept the signature:\n{status}\n{}",
        String::from_utf8_lossy(&good.stderr)
    );

    // The same signature over a changed SHA256SUMS is refused.
    let changed = dist.path().join("changed_SHA256SUMS");
    let mut text = std::fs::read(&sums).unwrap();
    text[0] = if text[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&changed, text).unwrap();
    let bad = verify(&changed);
    assert!(
        !bad.status.success(),
        "gpg --verify accepted a signature over a changed file"
    );
}
