#!/usr/bin/env bash
# `make demo`: the quickstart against vcr-local, the way a user would run it.
# Builds the provider, starts vcr-local on a fresh data folder, installs the provider
# into a local filesystem mirror so that `terraform init` runs as it would from the
# registry (lock file and all), applies examples/quickstart, shows that the next plan
# is empty, then pushes a tiny image (built without a Docker daemon) with the CI
# user's credentials, pulls it with the pull-only user, shows that user's push
# refused and the repository's image_count after a refresh, pins the image by digest
# with a second apply (-var release_tag=1.0: data "vcr_image"), which also replicates it
# to the Hanoi mirror (vcr_image_copy), and pulls that digest,
# destroys, and stops vcr-local. The image goes through docker when a docker daemon answers, else
# skopeo when it is installed, else the project's own client
# (examples/registry-client); DEMO_CLIENT=docker|skopeo|own picks one. Leaves nothing
# running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stage=""
if [ -t 1 ]; then bold=$'\033[1m' red=$'\033[1;31m' plain=$'\033[0m'; else bold="" red="" plain=""; fi
step() { stage="$1"; printf '\n%s==> %s%s\n' "$bold" "$1" "$plain"; }
fail() {
  local code=$?
  printf '\n%sThe demo failed while: %s%s\n' "$red" "$stage" "$plain" >&2
  [ -s "${demo:-/nonexistent}/vcr-local.log" ] && { echo "Last lines of vcr-local's log:" >&2; tail -5 "$demo/vcr-local.log" >&2; }
  echo "Try: make test (it checks each part on its own), or run scripts/demo.sh with bash -x to see every command." >&2
  exit "$code"
}
trap fail ERR

step "Building the provider, vcr-local and the registry client (debug profile; a first build takes minutes, cargo shows its progress)"
cargo build --bins --example registry-client
# Where cargo put them: ./target, or CARGO_TARGET_DIR, or a cargo config's target-dir.
bin="$(bash scripts/target-dir.sh)/debug"
echo "    $bin"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

step "Finding Terraform"
tf=$(bash scripts/terraform-bin.sh)
echo "$(TF_CLI_CONFIG_FILE=/dev/null "$tf" version | head -1) at $tf"

demo="$root/.demo"
rm -rf "$demo"
mkdir -p "$demo/work"

step "Starting vcr-local on a fresh data folder ($demo/vcr-data)"
"$bin/vcr-local" --listen 127.0.0.1:0 --data "$demo/vcr-data" >"$demo/vcr-local.env" 2>"$demo/vcr-local.log" &
local_pid=$!
cleanup() {
  kill "$local_pid" 2>/dev/null || true
  wait "$local_pid" 2>/dev/null || true
}
trap 'cleanup' EXIT
for _ in $(seq 1 100); do
  [ "$(grep -c '^VCR_' "$demo/vcr-local.env" 2>/dev/null || true)" -ge 5 ] && break
  kill -0 "$local_pid" 2>/dev/null || { echo "vcr-local exited:" >&2; cat "$demo/vcr-local.log" >&2; false; }
  sleep 0.1
done
grep -q '^VCR_CLIENT_SECRET=' "$demo/vcr-local.env"
set -a
# shellcheck disable=SC1091
. "$demo/vcr-local.env"
set +a
grep '^VCR_' "$demo/vcr-local.env" | sed 's/^VCR_CLIENT_SECRET=.*/VCR_CLIENT_SECRET=(hidden)/; s/^/    /'

step "Installing the provider into a local filesystem mirror"
mirror="$demo/mirror/registry.terraform.io/vngcloud/vcr/$version/linux_$arch"
mkdir -p "$mirror"
cp "$bin/terraform-provider-vcr" "$mirror/terraform-provider-vcr_v$version"
cat >"$demo/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$demo/mirror"
    include = ["registry.terraform.io/vngcloud/vcr"]
  }
  direct {
    exclude = ["registry.terraform.io/vngcloud/vcr"]
  }
}
CFG
export TF_CLI_CONFIG_FILE="$demo/cli.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
echo "    $mirror/terraform-provider-vcr_v$version"

cp examples/quickstart/main.tf "$demo/work/"
cd "$demo/work"

step "terraform init (from the mirror, writing .terraform.lock.hcl)"
"$tf" init -input=false -no-color | grep -E '^- Install|successfully initialized|created a lock file' || true
test -f .terraform.lock.hcl

step "terraform apply (examples/quickstart: a repository per region, a CI user, a deploy user)"
"$tf" apply -auto-approve -input=false -no-color | grep -vE '^\s*$|Refreshing state|Reading\.\.\.|Read complete' | sed -n '/Apply complete/,$p;/will be created/p'

step "The next plan is empty"
set +e
"$tf" plan -detailed-exitcode -input=false -no-color >"$demo/plan.txt" 2>&1
plan_code=$?
set -e
if [ "$plan_code" -ne 0 ]; then
  cat "$demo/plan.txt" >&2
  echo "expected an empty plan, terraform plan exited with $plan_code" >&2
  false
fi
grep -m1 'No changes' "$demo/plan.txt"

step "What a CI job would run (credentials are sensitive outputs)"
for name in ci_docker_login ci_docker_push deploy_docker_pull mirror_docker_pull; do
  echo "    $("$tf" output -raw "$name")"
done

image=$("$tf" output -raw app_image)
registry=${image%%/*}
ci_user=$("$tf" output -raw ci_username)
deploy_user=$("$tf" output -raw deploy_username)
client=${DEMO_CLIENT:-}
if [ -z "$client" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then client=docker
  elif command -v skopeo >/dev/null 2>&1; then client=skopeo
  else client=own; fi
fi
own="$bin/examples/registry-client"
auth="$demo/registry-auth"
mkdir -p "$auth"
# Each client logs in with the secret on stdin, never on the command line.
login() { # user secret-output
  case "$client" in
    docker) "$tf" output -raw "$2" | DOCKER_CONFIG="$auth/$1" docker login "$registry" -u "$1" --password-stdin 2>&1 | grep -v -e WARNING -e credential -e '^$' ;;
    skopeo) "$tf" output -raw "$2" | skopeo login --authfile "$auth/$1.json" --tls-verify=false -u "$1" --password-stdin "$registry" >/dev/null ;;
    own) : ;;
  esac
}
push() { # user secret-output reference
  case "$client" in
    docker) docker tag demo-hello:1.0 "$3" && DOCKER_CONFIG="$auth/$1" docker push "$3" ;;
    skopeo) skopeo copy --quiet --authfile "$auth/$1.json" --dest-tls-verify=false "oci:$demo/image:1.0" "docker://$3" ;;
    own) REGISTRY_USER=$1 REGISTRY_PASSWORD=$("$tf" output -raw "$2") "$own" push "$demo/image" 1.0 "$3" ;;
  esac
}
pull() { # user secret-output reference
  case "$client" in
    docker) docker rmi "$3" >/dev/null 2>&1 || true; DOCKER_CONFIG="$auth/$1" docker pull "$3" ;;
    skopeo) skopeo inspect --authfile "$auth/$1.json" --tls-verify=false "docker://$3" | grep -E '"(Digest|Architecture)"' ;;
    own) REGISTRY_USER=$1 REGISTRY_PASSWORD=$("$tf" output -raw "$2") "$own" pull "$3" ;;
  esac
}

step "Building a tiny image (client: $client)"
"$own" build "$demo/image" 1.0 "hello from the quickstart"
if [ "$client" = docker ]; then
  # With a daemon, the same image the usual way: a Dockerfile with nothing to fetch.
  mkdir -p "$demo/context"
  printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$demo/context/Dockerfile"
  echo "hello from the quickstart" >"$demo/context/hello.txt"
  docker build --quiet -t demo-hello:1.0 "$demo/context" 2>&1 | grep -v -e DEPRECATED -e buildx -e '^ *$' | sed 's/^/    /' || true
  docker image inspect demo-hello:1.0 >/dev/null
fi

step "Log in and push as the CI user ($ci_user, push_pull) with $client"
login "$ci_user" ci_secret
push "$ci_user" ci_secret "$image"

step "Log in and pull as the deploy user ($deploy_user, pull_only)"
login "$deploy_user" deploy_secret
pull "$deploy_user" deploy_secret "$image"

step "The deploy user's push is refused"
if refusal=$(push "$deploy_user" deploy_secret "${image%:*}:not-allowed" 2>&1); then
  echo "expected the pull-only user's push to be refused:" >&2
  echo "$refusal" >&2
  false
fi
echo "$refusal" | grep -m1 -i 'denied' | sed 's/^ */    /'

step "terraform apply -refresh-only: the repository now holds the image"
"$tf" apply -refresh-only -auto-approve -input=false -no-color >"$demo/refresh.txt"
echo "    image_count = $("$tf" output -raw app_image_count), quota_used_gb = $("$tf" output -raw app_quota_used_gb)"
test "$("$tf" output -raw app_image_count)" = 1

step "Pin the deployment to what CI pushed, and replicate it to HAN: terraform apply -var release_tag=1.0 (data \"vcr_image\", vcr_image_copy)"
"$tf" apply -auto-approve -input=false -no-color -var release_tag=1.0 >"$demo/release.txt"
release=$("$tf" output -raw release_image)
echo "    release_image = $release"
case "$release" in
  "${image%:*}@sha256:"*) ;;
  *) echo "expected ${image%:*}@sha256:..., got $release" >&2; false ;;
esac

step "The deploy user pulls exactly that digest"
login "$deploy_user" deploy_secret
pull "$deploy_user" deploy_secret "$release"

step "The same apply replicated it to the Hanoi mirror by digest (vcr_image_copy)"
release_han=$("$tf" output -raw release_image_han)
echo "    release_image_han = $release_han"
case "$release_han" in
  *"@${release##*@}") ;;
  *) echo "expected the digest ${release##*@} in HAN, got $release_han" >&2; false ;;
esac

step "terraform destroy (force_destroy deletes the pushed image first)"
"$tf" destroy -auto-approve -input=false -no-color | tail -1

step "Stopping vcr-local"
cleanup
trap - EXIT
echo "Done: everything created was destroyed, and nothing is left running. Files are in $demo."
