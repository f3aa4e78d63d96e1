#!/usr/bin/env bash
# `make release`: the files the Terraform registry (and a network mirror) expect, in
# dist/:
#   terraform-provider-vcr_<version>_<os>_<arch>.zip   (holding terraform-provider-vcr_v<version>)
#   terraform-provider-vcr_<version>_manifest.json     (protocol 5.0)
#   terraform-provider-vcr_<version>_SHA256SUMS
#   terraform-provider-vcr_<version>_SHA256SUMS.sig    (with GPG_FINGERPRINT, below)
# Builds linux_amd64 and linux_arm64 where the toolchain has the target (rustup target
# add aarch64-unknown-linux-gnu, and a C cross compiler such as gcc-aarch64-linux-gnu
# for aws-lc); a target that cannot be built is reported and skipped.
# PROFILE=dev packages the debug build instead. BINARY=<path> packages that binary as
# the host platform's build and builds nothing (the tests pass the one `cargo test`
# built: a `cargo build` inside the test run resolves features without the
# dev-dependencies, so it compiled aws-lc, reqwest and the crate a second time).
# GPG_FINGERPRINT=<key> signs SHA256SUMS with that key from gpg's keyring (GNUPGHOME):
# a detached binary signature, which the registry checks against the public key of
# the namespace (RSA or DSA; the registry takes no ECC keys). GPG_PASSPHRASE, when
# the key has one, is given to gpg on a pipe, never on its command line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
profile=${PROFILE:-release}
dist=${DIST:-$root/dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name=terraform-provider-vcr
host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=$(bash scripts/target-dir.sh)

declare -A targets=(
  [linux_amd64]=x86_64-unknown-linux-gnu
  [linux_arm64]=aarch64-unknown-linux-gnu
)
rm -rf "$dist"
mkdir -p "$dist"
built=()
for platform in linux_amd64 linux_arm64; do
  triple=${targets[$platform]}
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  if [ -n "${BINARY:-}" ]; then
    if [ "$triple" != "$host" ]; then
      echo "==> $platform: skipped: BINARY packages the host's build only" >&2
      continue
    fi
    echo "==> $platform: packaging $BINARY"
    binary=$BINARY
  elif [ "$triple" = "$host" ]; then
    echo "==> $platform: building ($profile)"
    cargo build --profile "$profile" --bin "$name" --quiet
    binary="$target_dir/$dir/$name"
  elif rustup target list --installed 2>/dev/null | grep -qx "$triple" && command -v "${triple%%-unknown*}-linux-gnu-gcc" >/dev/null; then
    echo "==> $platform: cross-building ($profile)"
    linker="${triple%%-unknown*}-linux-gnu-gcc"
    env "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_LINKER=$linker" "CC_${triple//-/_}=$linker" \
      cargo build --profile "$profile" --target "$triple" --bin "$name" --quiet
    binary="$target_dir/$triple/$dir/$name"
  else
    echo "==> $platform: skipped: needs 'rustup target add $triple' and a C cross compiler (${triple%%-unknown*}-linux-gnu-gcc)" >&2
    continue
  fi
  stage=$(mktemp -d)
  cp "$binary" "$stage/${name}_v$version"
  (cd "$stage" && python3 -m zipfile -c "$dist/${name}_${version}_${platform}.zip" "${name}_v$version")
  rm -rf "$stage"
  built+=("$platform")
done
[ ${#built[@]} -gt 0 ] || { echo "no platform could be built" >&2; exit 1; }
cp terraform-registry-manifest.json "$dist/${name}_${version}_manifest.json"
sums="${name}_${version}_SHA256SUMS"
(cd "$dist" && sha256sum ./*.zip ./*_manifest.json | sed 's# \./# #' >"$sums")
if [ -n "${GPG_FINGERPRINT:-}" ]; then
  command -v gpg >/dev/null || { echo "GPG_FINGERPRINT is set, but there is no gpg: install gnupg" >&2; exit 1; }
  echo "==> signing $sums with $GPG_FINGERPRINT"
  printf '%s' "${GPG_PASSPHRASE:-}" |
    gpg --batch --yes --pinentry-mode loopback --passphrase-fd 0 --local-user "$GPG_FINGERPRINT" \
      --detach-sign --output "$dist/$sums.sig" "$dist/$sums"
fi
echo "==> dist/ (built: ${built[*]})"
(cd "$dist" && ls -1)
