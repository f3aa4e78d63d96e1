#!/usr/bin/env bash
# Prints the directory where cargo puts this project's builds, as cargo itself sees
# it: CARGO_TARGET_DIR, a `build.target-dir` in a cargo config, or ./target. The
# scripts (and the README walk-through) find the binaries under it, as
# "$(scripts/target-dir.sh)/debug/vcr-local", instead of assuming ./target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
