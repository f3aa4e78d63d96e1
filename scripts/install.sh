#!/usr/bin/env bash
# `make install`: builds the provider (release profile) and puts it in Terraform's
# implicit local mirror, ~/.terraform.d/plugins, where `terraform init` finds
# vngcloud/vcr without any CLI configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
cargo build --release --bin terraform-provider-vcr
dir="${TF_PLUGINS_DIR:-$HOME/.terraform.d/plugins}/registry.terraform.io/vngcloud/vcr/$version/linux_$arch"
mkdir -p "$dir"
install -m 0755 "$(bash scripts/target-dir.sh)/release/terraform-provider-vcr" "$dir/terraform-provider-vcr_v$version"
echo "Installed $dir/terraform-provider-vcr_v$version"
echo "Use it with: terraform { required_providers { vcr = { source = \"vngcloud/vcr\", version = \"$version\" } } }"
