#!/usr/bin/env bash
# The quickstart against vcr-local. Until the resources land, it shows the provider
# speaking to a real Terraform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tf=$(bash "$root/scripts/terraform-bin.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> Using $($tf version | head -1) with the provider built in target/debug"
cat > "$work/cli.tfrc" <<CFG
provider_installation {
  dev_overrides { "vngcloud/vcr" = "$root/target/debug" }
  direct {}
}
CFG
cat > "$work/main.tf" <<'TF'
terraform {
  required_providers {
    vcr = { source = "vngcloud/vcr" }
  }
}
provider "vcr" {
  region = "HAN"
}
TF
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1
echo "==> terraform validate"
(cd "$work" && "$tf" validate -no-color | grep -v -i "override\|^$\|behavior\|published\|configuration:\|vngcloud/vcr in\|applying changes" || true)
echo "==> terraform providers schema -json (the provider block)"
(cd "$work" && "$tf" providers schema -json) | python3 -c 'import json,sys; b=json.load(sys.stdin)["provider_schemas"]["registry.terraform.io/vngcloud/vcr"]["provider"]["block"]; [print("  " + k + ": " + v["description"]) for k, v in sorted(b["attributes"].items())]'
echo "==> The repository and repository user resources and the vcr-local quickstart are coming next (see the open issues)."
