"""The retention series of `make bench`: a `vcr_retention_policy` over a repository of
50 images and 5,000 artifacts in vcr-local (100 pushed per image, each a distinct
manifest over the image's one layer, tagged v0..v99), with one rule keeping the last
10 pushed `v*` of each image: 4,500 artifacts to delete.

Timed with the release build, each step one terraform command from start to exit:
the apply that creates the policy (it lists, deletes nothing), the plan that reviews
the list (refresh included: every page of images and artifacts read), the apply of
that plan (4,500 deletes, `max_parallel_requests` at a time), and the empty plan
after it. For each: wall time, vCR API calls by route (vcr-local's counters), and the
peak RSS of the provider processes Terraform started.

Python 3 standard library only. Not a test: it fails only when a command fails.
"""

import base64
import hashlib
import json
import os
import sys
import time
import urllib.request

IMAGES = 50
PER_IMAGE = 100
KEEP = 10


def log(msg):
    print(f"[bench retention] {msg}", file=sys.stderr, flush=True)


def config(with_policy, parallel=8):
    policy = f"""
resource "vcr_retention_policy" "bench" {{
  repository_id = vcr_repository.bench.id
  rule {{
    tags             = ["v*"]
    keep_last_pushed = {KEEP}
  }}
}}
""" if with_policy else ""
    return f"""terraform {{
  required_providers {{
    vcr = {{ source = "vngcloud/vcr" }}
  }}
}}
provider "vcr" {{
  max_parallel_requests = {parallel}
}}
resource "vcr_repository" "bench" {{
  name           = "bench-retention"
  quota_limit_gb = 20
  force_destroy  = true
}}
resource "vcr_repository_user" "pusher" {{
  name = "bench-pusher"
  repository_permission {{
    repository_id = vcr_repository.bench.id
    permission    = "push_pull"
  }}
}}
{policy}"""


class Pusher:
    """Pushes straight to vcr-local's registry over HTTP (one layer per image, then
    manifests by tag), as the repository user Terraform made."""

    def __init__(self, registry, login, secret, repo):
        self.registry, self.login, self.secret, self.repo = registry, login, secret, repo
        self.tokens = {}

    def token(self, image):
        if image not in self.tokens:
            name = f"{self.repo}/{image}"
            url = (f"http://{self.registry}/service/token?service=harbor-registry"
                   f"&scope=repository:{name}:pull,push")
            basic = base64.b64encode(f"{self.login}:{self.secret}".encode()).decode()
            req = urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self.tokens[image] = json.loads(r.read())["token"]
        return self.tokens[image]

    def _send(self, method, image, path, body, content_type):
        req = urllib.request.Request(
            f"http://{self.registry}/v2/{self.repo}/{image}/{path}", data=body, method=method,
            headers={"Authorization": f"Bearer {self.token(image)}", "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status

    def blob(self, image, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self._send("POST", image, f"blobs/uploads/?digest={digest}", data, "application/octet-stream")
        return digest

    def seed(self, image):
        layer = f"layer of {image}".encode() * 64
        config = json.dumps({"architecture": "amd64", "os": "linux", "image": image}).encode()
        layer_d, config_d = self.blob(image, layer), self.blob(image, config)
        for i in range(PER_IMAGE):
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_d, "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": layer_d, "size": len(layer)}],
                "annotations": {"build": str(i)},
            }
            self._send("PUT", image, f"manifests/v{i}", json.dumps(manifest).encode(),
                       "application/vnd.oci.image.manifest.v1+json")


def series_retention(bench):
    """`bench` is scripts/bench.py (its VcrLocal, Workspace, provider wrapper)."""
    local = bench.VcrLocal()
    try:
        rec = os.path.join(bench.WORK, "records-retention")
        bench.shutil.rmtree(rec, ignore_errors=True)
        plugins = os.path.join(bench.WORK, "plugins-retention")
        bench.provider_wrapper(plugins, bench.PROVIDER, rec)
        ws = bench.Workspace(bench.terraform_bin(), "retention", config(False),
                             {"vngcloud/vcr": plugins}, dict(local.env))
        ws.run(["apply", "-auto-approve", "-input=false", "-no-color"])
        with open(os.path.join(ws.dir, "terraform.tfstate")) as f:
            state = json.load(f)
        attrs = {r["type"]: r["instances"][0]["attributes"] for r in state["resources"]}
        pusher = Pusher(local.env["VCR_REGISTRY_HCM"], attrs["vcr_repository_user"]["backend_name"],
                        attrs["vcr_repository_user"]["secret"], attrs["vcr_repository"]["backend_name"])
        t0 = time.perf_counter()
        for n in range(IMAGES):
            pusher.seed(f"svc/app-{n:02d}")
        log(f"seeded {IMAGES} images x {PER_IMAGE} artifacts in {time.perf_counter() - t0:.1f} s")
        with open(os.path.join(ws.dir, "main.tf"), "w") as f:
            f.write(config(True))
        apply = ["apply", "-auto-approve", "-input=false", "-no-color"]
        steps = [
            ("apply: create the policy (lists 4,500, deletes nothing)", apply, (0,)),
            ("plan -out: the review (refresh reads every page)",
             ["plan", "-out=tfplan", "-input=false", "-no-color", "-detailed-exitcode"], (2,)),
            ("apply tfplan: 4,500 deletes", ["apply", "-input=false", "-no-color", "tfplan"], (0,)),
            ("plan: nothing pending", ["plan", "-input=false", "-no-color", "-detailed-exitcode"], (0,)),
        ]
        out = []
        for label, args, ok in steps:
            bench.clear_records(rec)
            local.reset_counters()
            log(label)
            wall, _, _, _ = ws.run(args, ok=ok)
            counters = local.counters()
            procs = bench.read_records(rec)
            out.append({"step": label, "wall": wall, "total": counters["total"],
                        "routes": bench.by_route(counters),
                        "peak_rss_kib": max((p["rss_kib"] for p in procs), default=0)})
        return {"images": IMAGES, "artifacts": IMAGES * PER_IMAGE, "keep": KEEP, "steps": out}
    finally:
        local.stop()


def markdown(res):
    o = ["### Retention: a policy over 50 images and 5,000 artifacts", "",
         f"{res['images']} images of {res['artifacts'] // res['images']} artifacts each in vcr-local; "
         f"one rule keeps the last {res['keep']} pushed `v*` of each image. API calls are "
         "vcr-local's counters (the IAM token included); RSS is the largest provider process.", "",
         "| step | wall | API calls | of which reads of images / artifacts | deletes | provider peak RSS |",
         "|---|---|---|---|---|---|"]
    for s in res["steps"]:
        routes = s["routes"]
        reads = sum(v["count"] for k, v in routes.items()
                    if k.startswith("GET ") and (k.endswith("/images") or k.endswith("/images/artifacts")))
        deletes = sum(v["count"] for k, v in routes.items() if k.startswith("DELETE "))
        o.append(f"| {s['step']} | {s['wall']:.2f} s | {s['total']} | {reads} | {deletes} | "
                 f"{s['peak_rss_kib'] / 1024:.1f} MiB |")
    o.append("")
    return o
