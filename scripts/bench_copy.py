"""The image-copy series of `make bench`: `vcr_image_copy` with the release build
against vcr-local, beside `skopeo copy` between the same two registries.

- Replication, HCM to HAN: an image of 200 MiB (4 layers of 50 MiB, random bytes)
  copied by the provider (one `terraform apply` that creates the copy: provider
  start, refresh, the short-lived users, the copy) and by `skopeo copy` (credentials
  given, TLS off, as for any local registry) into an empty repository each, three
  rounds (skopeo's blob-info cache removed before each, or it would mount from the
  previous round's repository). Wall time of each, and peak RSS (GNU time on every provider process, and
  on skopeo).
- Promotion in HCM: an image of 1 GiB (4 layers of 256 MiB) copied to another
  repository of the same registry: every layer mounted. The apply's wall time and
  the copy's own time (from the provider's log), with vcr-local's counters showing
  no upload.

Python 3 standard library and skopeo. Not a test: it fails only when a command fails.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

LAYER_MIB_REPLICATE = 50
LAYER_MIB_PROMOTE = 256
LAYERS = 4
# Each round copies into empty repositories (blobs are per repository): the provider
# into han_<n>, skopeo into skopeo_<n>.
ROUNDS = 3
# Where skopeo (containers/image) keeps its blob-info cache, as root and as a user.
SKOPEO_BLOB_CACHES = [os.path.join(d, f"blob-info-cache-v1.{kind}")
                      for d in ("/var/lib/containers/cache",
                                os.path.expanduser("~/.local/share/containers/cache"))
                      for kind in ("boltdb", "sqlite")]


def log(msg):
    print(f"[bench copy] {msg}", file=sys.stderr, flush=True)


def config(copies=""):
    repos = ""
    labels = [("staging", "HCM"), ("prod", "HCM"), ("han_big", "HAN")]
    labels += [(f"han_{n}", "HAN") for n in range(ROUNDS)] + [(f"skopeo_{n}", "HAN") for n in range(ROUNDS)]
    for label, region in labels:
        repos += f"""
resource "vcr_repository" "{label}" {{
  name           = "bench-{label.replace('_', '-')}"
  region         = "{region}"
  quota_limit_gb = 20
  force_destroy  = true
}}
"""
    return f"""terraform {{
  required_providers {{
    vcr = {{ source = "vngcloud/vcr" }}
  }}
}}
provider "vcr" {{}}
{repos}
resource "vcr_repository_user" "pusher" {{
  name = "bench-pusher"
  repository_permission {{
    repository_id = vcr_repository.staging.id
    permission    = "push_pull"
  }}
}}
resource "vcr_repository_user" "han_pusher" {{
  name   = "bench-han"
  region = "HAN"
  dynamic "repository_permission" {{
    for_each = [{", ".join(f"vcr_repository.skopeo_{n}.id" for n in range(ROUNDS))}]
    content {{
      repository_id = repository_permission.value
      permission    = "push_pull"
    }}
  }}
}}
{copies}"""


class Pusher:
    """Pushes an image of random layers to vcr-local's registry over HTTP."""

    def __init__(self, registry, login, secret, repo):
        self.registry, self.login, self.secret, self.repo = registry, login, secret, repo

    def token(self, image):
        name = f"{self.repo}/{image}"
        url = (f"http://{self.registry}/service/token?service=harbor-registry"
               f"&scope=repository:{name}:pull,push")
        basic = base64.b64encode(f"{self.login}:{self.secret}".encode()).decode()
        req = urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())["token"]

    def _send(self, method, image, path, body, content_type):
        req = urllib.request.Request(
            f"http://{self.registry}/v2/{self.repo}/{image}/{path}", data=body, method=method,
            headers={"Authorization": f"Bearer {self.token(image)}", "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.headers

    def blob(self, image, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self._send("POST", image, f"blobs/uploads/?digest={digest}", data, "application/octet-stream")
        return digest

    def push(self, image, tag, layer_mib):
        layers = []
        for _ in range(LAYERS):
            data = os.urandom(layer_mib << 20)
            layers.append((self.blob(image, data), len(data)))
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]}}).encode()
        config_d = self.blob(image, config)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_d, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n}
                       for d, n in layers],
        }).encode()
        self._send("PUT", image, f"manifests/{tag}", manifest, "application/vnd.oci.image.manifest.v1+json")
        return "sha256:" + hashlib.sha256(manifest).hexdigest()


def copy_resource(label, source, repo, tags):
    return f"""
resource "vcr_image_copy" "{label}" {{
  source        = "{source}"
  repository_id = vcr_repository.{repo}.id
  tags          = {json.dumps(tags)}
}}
"""


def series_copy(bench):
    """`bench` is scripts/bench.py (its VcrLocal, Workspace, provider wrapper)."""
    local = bench.VcrLocal()
    try:
        rec = os.path.join(bench.WORK, "records-copy")
        bench.shutil.rmtree(rec, ignore_errors=True)
        plugins = os.path.join(bench.WORK, "plugins-copy")
        bench.provider_wrapper(plugins, bench.PROVIDER, rec)
        env = dict(local.env, TF_LOG_PROVIDER="info")
        ws = bench.Workspace(bench.terraform_bin(), "copy", config(), {"vngcloud/vcr": plugins}, env)
        ws.run(["apply", "-auto-approve", "-input=false", "-no-color"])
        with open(os.path.join(ws.dir, "terraform.tfstate")) as f:
            state = json.load(f)
        attrs = {(r["type"], r["name"]): r["instances"][0]["attributes"] for r in state["resources"]}
        repo = lambda label: attrs[("vcr_repository", label)]["backend_name"]
        user = attrs[("vcr_repository_user", "pusher")]
        han_user = attrs[("vcr_repository_user", "han_pusher")]
        hcm, han = local.env["VCR_REGISTRY_HCM"], local.env["VCR_REGISTRY_HAN"]
        pusher = Pusher(hcm, user["backend_name"], user["secret"], repo("staging"))
        log(f"pushing web ({LAYERS} x {LAYER_MIB_REPLICATE} MiB) and big ({LAYERS} x {LAYER_MIB_PROMOTE} MiB) to staging")
        web = pusher.push("web", "v1", LAYER_MIB_REPLICATE)
        big = pusher.push("big", "v1", LAYER_MIB_PROMOTE)
        web_ref = f"{hcm}/{repo('staging')}/web@{web}"
        big_ref = f"{hcm}/{repo('staging')}/big@{big}"
        out = {"replicate_mib": LAYERS * LAYER_MIB_REPLICATE, "promote_mib": LAYERS * LAYER_MIB_PROMOTE}

        replicas = ""
        out["rounds"] = []
        for n in range(ROUNDS):
            # Replication by the provider, into an empty repository.
            replicas += copy_resource(f"han_{n}", web_ref, f"han_{n}", ["v1"])
            with open(os.path.join(ws.dir, "main.tf"), "w") as f:
                f.write(config(replicas))
            bench.clear_records(rec)
            log(f"round {n + 1}: replicating 200 MiB to HAN with the provider")
            wall, _, _, _ = ws.run(["apply", "-auto-approve", "-input=false", "-no-color"])
            rss = max(p["rss_kib"] for p in bench.read_records(rec))
            # The same copy by skopeo, into an empty repository of the same registry.
            dest = f"docker://{han}/{repo(f'skopeo_{n}')}/web:v1"
            cmd = ["/usr/bin/time", "-f", "%M", "skopeo", "copy", "--quiet",
                   "--src-tls-verify=false", "--dest-tls-verify=false",
                   "--src-creds", f"{user['backend_name']}:{user['secret']}",
                   "--dest-creds", f"{han_user['backend_name']}:{han_user['secret']}",
                   f"docker://{web_ref}", dest]
            log(f"round {n + 1}: replicating 200 MiB to HAN with skopeo copy")
            # skopeo remembers where it saw each blob and would mount it from the
            # previous round's repository: forget, so that it copies as a first run does.
            for cache in SKOPEO_BLOB_CACHES:
                for suffix in ("", "-journal", "-wal", "-shm"):
                    if os.path.exists(cache + suffix):
                        os.remove(cache + suffix)
            t0 = time.perf_counter()
            p = subprocess.run(cmd, check=True, capture_output=True, text=True)
            skopeo_s = time.perf_counter() - t0
            out["rounds"].append({"provider_apply_s": wall, "provider_peak_rss_kib": rss,
                                  "skopeo_s": skopeo_s,
                                  "skopeo_rss_kib": int(p.stderr.strip().splitlines()[-1])})

        # Promotion of 1 GiB in HCM: mounted.
        with open(os.path.join(ws.dir, "main.tf"), "w") as f:
            f.write(config(replicas + copy_resource("big", big_ref, "prod", ["v1", "prod"])))
        bench.clear_records(rec)
        local.reset_counters()
        log("promoting 1 GiB in HCM")
        env_log = dict(ws.env, BENCH_PROVIDER_LOG="1")
        wall, _, _, _ = ws.run(["apply", "-auto-approve", "-input=false", "-no-color"], env=env_log)
        out["promote_apply_s"] = wall
        counters = local.counters()
        routes = bench.by_route(counters)
        out["promote_uploads"] = sum(v["count"] for k, v in routes.items()
                                     if k.startswith("PATCH ") and "uploads" in k)
        out["promote_mounts"] = sum(v["count"] for k, v in routes.items()
                                    if k.startswith("POST ") and k.endswith("/blobs/uploads/"))
        copy_s = None
        for name in os.listdir(rec):
            if name.startswith("log."):
                with open(os.path.join(rec, name)) as f:
                    times = []
                    for line in f:
                        try:
                            ev = json.loads(line)
                        except ValueError:
                            continue
                        if ev.get("@message", "").startswith(("copying the image", "copied: ")):
                            times.append(ev.get("@timestamp"))
                    if len(times) >= 2:
                        copy_s = times
        out["promote_copy_log"] = copy_s

        # The 1 GiB image to HAN: memory stays bounded whatever the layer size.
        with open(os.path.join(ws.dir, "main.tf"), "w") as f:
            f.write(config(replicas + copy_resource("big", big_ref, "prod", ["v1", "prod"]) +
                           copy_resource("big_han", big_ref, "han_big", ["v1"])))
        bench.clear_records(rec)
        log("replicating 1 GiB (256 MiB layers) to HAN with the provider")
        wall, _, _, _ = ws.run(["apply", "-auto-approve", "-input=false", "-no-color"])
        out["big_replicate_s"] = wall
        out["big_replicate_rss_kib"] = max(p["rss_kib"] for p in bench.read_records(rec))
        return out
    finally:
        local.stop()


def _seconds_between(stamps):
    """Seconds between the first and last RFC 3339 stamps of the provider's log."""
    if not stamps or len(stamps) < 2:
        return None
    from datetime import datetime
    parse = lambda s: datetime.fromisoformat(re.sub(r"Z$", "+00:00", s))
    return (parse(stamps[-1]) - parse(stamps[0])).total_seconds()


def markdown(res):
    copy_s = _seconds_between(res.get("promote_copy_log"))
    rounds = res["rounds"]
    median = lambda key: sorted(r[key] for r in rounds)[len(rounds) // 2]
    provider_s, skopeo_s = median("provider_apply_s"), median("skopeo_s")
    ratio = skopeo_s / provider_s if provider_s else 0
    each = lambda key: ", ".join(f"{r[key]:.2f}" for r in rounds)
    o = ["### Image copy: replication HCM to HAN beside skopeo, promotion by mount", "",
         f"Release build against vcr-local (both regions' registries on this machine). The provider's "
         f"time is a whole `terraform apply` creating the copy (provider start, refresh, short-lived "
         f"users, copy); skopeo's is `skopeo copy` alone.", "",
         "| step | wall | peak RSS |", "|---|---|---|",
         f"| replicate {res['replicate_mib']} MiB (4 layers) HCM to HAN: `terraform apply` | "
         f"{provider_s:.2f} s (rounds: {each('provider_apply_s')}) | "
         f"{max(r['provider_peak_rss_kib'] for r in rounds) / 1024:.1f} MiB (provider, largest) |",
         f"| the same with `skopeo copy` | {skopeo_s:.2f} s (rounds: {each('skopeo_s')}) | "
         f"{max(r['skopeo_rss_kib'] for r in rounds) / 1024:.1f} MiB (skopeo, largest) |",
         f"| promote {res['promote_mib']} MiB (4 layers) in HCM: `terraform apply` | "
         f"{res['promote_apply_s']:.2f} s | |",
         f"| replicate {res['promote_mib']} MiB (4 layers of {LAYER_MIB_PROMOTE} MiB) HCM to HAN: `terraform apply` | "
         f"{res['big_replicate_s']:.2f} s | {res['big_replicate_rss_kib'] / 1024:.1f} MiB (provider) |", "",
         f"Medians of {len(rounds)} rounds. Provider against skopeo: {ratio:.2f}x skopeo's speed (above 1 is faster). Promotion: "
         f"{res['promote_mounts']} mount requests, {res['promote_uploads']} upload requests; "
         f"the copy itself took {f'{copy_s:.3f}' if copy_s is not None else 'n/a'} s by the provider's log.", ""]
    return o
