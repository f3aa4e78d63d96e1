"""The registry series of `make bench`: push and pull throughput of one image through
vcr-local's registry next to Debian's docker-registry (distribution 2.8) on the same
machine, with skopeo as the client of both, and vcr-local's peak RSS at two image sizes
(memory must not grow with the layer size: layers are streamed, never held whole).

Python 3 standard library only; skopeo and docker-registry come from Debian's packages
(installed when missing and root). Each round pushes a fresh image (random bytes,
gzip-compressed once, so that skopeo sends it as it is) to both registries, in an order
that flips every round, then pulls it back into a `dir:` copy; medians of the rounds.
vcr-local keeps its data on disk (`--data`), as distribution does.
"""

import base64
import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def log(msg):
    print(f"[bench registry] {msg}", file=sys.stderr, flush=True)


def ensure_tools():
    missing = [p for tool, p in (("skopeo", "skopeo"), ("docker-registry", "docker-registry")) if not shutil.which(tool)]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"installing {' '.join(missing)} from Debian's packages")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
    for tool in ("skopeo", "docker-registry"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: install it (Debian: apt-get install {tool})")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layout(directory, size_mb, seed):
    """An OCI layout (tag `bench`) with one gzip layer of `size_mb` MiB of random bytes."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs)
    tmp = os.path.join(directory, "layer.tmp")
    raw = hashlib.sha256()
    with gzip.open(tmp, "wb", compresslevel=1) as out:
        for _ in range(size_mb):
            chunk = os.urandom(1 << 20)
            raw.update(chunk)
            out.write(chunk)
    layer_hash = hashlib.sha256()
    with open(tmp, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            layer_hash.update(chunk)
    layer_digest = "sha256:" + layer_hash.hexdigest()
    layer_size = os.path.getsize(tmp)
    os.rename(tmp, os.path.join(blobs, layer_hash.hexdigest()))

    def put(data):
        d = sha256(data)
        with open(os.path.join(blobs, d[7:]), "wb") as f:
            f.write(data)
        return d, len(data)

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"seed": seed}},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + raw.hexdigest()]}}).encode()
    cd, cs = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}],
    }).encode()
    md, ms = put(manifest)
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return layer_size, layer_digest


def api(settings, method, path, body=None, token=None):
    url = settings["VCR_ENDPOINT_HCM"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


class VcrLocal:
    """The release vcr-local on free ports with a data folder, a repository and a push user."""

    def __init__(self, binary, data):
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data", data],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.settings = {}
        while "VCR_CLIENT_SECRET" not in self.settings:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit("vcr-local stopped before printing its settings")
            key, _, value = line.strip().partition("=")
            self.settings[key] = value
        s = self.settings
        req = urllib.request.Request(s["VCR_TOKEN_URL"], data=b"grant_type=client_credentials", method="POST")
        basic = base64.b64encode(f"{s['VCR_CLIENT_ID']}:{s['VCR_CLIENT_SECRET']}".encode()).decode()
        req.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(req) as r:
            token = json.loads(r.read())["access_token"]
        repo = api(s, "POST", "/v1/repository", {"repoName": "bench-repo", "isPublic": False, "quotaLimit": 1000}, token)
        policies = [p["uuid"] for p in api(s, "GET", "/v1/user/permissions", token=token) if p["action"] != "All"]
        secret = api(s, "POST", "/v1/user", {"name": "bench-ci", "permissionRequestList": [
            {"repoId": repo["uuid"], "policyIdList": policies}]}, token)["secretKey"]
        self.host = s["VCR_REGISTRY_HCM"]
        self.name = f"{repo['backendName']}/image"
        self.login = (f"{repo['backendName'].split('-')[0]}-bench-ci", secret)

    def peak_rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class Distribution:
    """Debian's docker-registry (distribution 2.8) with filesystem storage, no auth."""

    def __init__(self, work):
        port = free_port()
        root = os.path.join(work, "distribution-data")
        config = os.path.join(work, "distribution.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
                    f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n")
        self.proc = subprocess.Popen(["docker-registry", "serve", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.host = f"127.0.0.1:{port}"
        self.name = "bench/image"
        self.login = None
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/")
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("docker-registry did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def skopeo_login(target, authfile):
    if target.login is None:
        with open(authfile, "w") as f:
            f.write("{}")
        return
    user, secret = target.login
    subprocess.run(["skopeo", "login", "--authfile", authfile, "--tls-verify=false", "-u", user,
                    "--password-stdin", target.host], input=secret, text=True, check=True,
                   stdout=subprocess.DEVNULL)


def timed(cmd):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def blob_get(target, digest):
    """One GET of the layer with curl into nothing: what the registry serves, without
    skopeo's digest check and file writes (the limit of its pulls)."""
    headers = []
    if target.login is not None:
        user, secret = target.login
        query = urllib.parse.urlencode({"service": "harbor-registry", "scope": f"repository:{target.name}:pull"})
        req = urllib.request.Request(f"http://{target.host}/service/token?{query}")
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        req.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(req) as r:
            headers = ["-H", f"Authorization: Bearer {json.loads(r.read())['token']}"]
    return timed(["curl", "-sSf", "-o", "/dev/null", *headers,
                  f"http://{target.host}/v2/{target.name}/blobs/{digest}"])


def round_trip(target, layout, tag, authfile, work):
    ref = f"docker://{target.host}/{target.name}:{tag}"
    push = timed(["skopeo", "copy", "--quiet", "--authfile", authfile, "--dest-tls-verify=false",
                  f"oci:{layout}:bench", ref])
    out = os.path.join(work, f"pulled-{tag}-{target.host.replace(':', '_')}")
    pull = timed(["skopeo", "copy", "--quiet", "--authfile", authfile, "--src-tls-verify=false", ref, f"dir:{out}"])
    shutil.rmtree(out)
    return push, pull


def series_registry(vcr_local_binary, size_mb, rounds, work_root):
    """Rounds of push and pull through both registries; a second vcr-local with an image
    a tenth of the size gives its peak RSS there, to show whether memory follows the
    layer size."""
    ensure_tools()
    work = tempfile.mkdtemp(prefix="registry-", dir=work_root)
    os.environ.setdefault("XDG_RUNTIME_DIR", work)
    result = {"image_mb": size_mb, "rounds": rounds, "client": subprocess.run(
        ["skopeo", "--version"], capture_output=True, text=True).stdout.strip()}
    try:
        small = max(1, size_mb // 10)
        vcr = VcrLocal(vcr_local_binary, os.path.join(work, "vcr-small"))
        authfile = os.path.join(work, "auth-small.json")
        skopeo_login(vcr, authfile)
        layout = os.path.join(work, "layout-small")
        make_layout(layout, small, "small")
        round_trip(vcr, layout, "small", authfile, work)
        result["peak_rss_kib_small"] = {"image_mb": small, "kib": vcr.peak_rss_kib()}
        vcr.stop()
        shutil.rmtree(layout)

        vcr = VcrLocal(vcr_local_binary, os.path.join(work, "vcr-data"))
        dist = Distribution(work)
        auth = {}
        for t in (vcr, dist):
            auth[t] = os.path.join(work, f"auth-{len(auth)}.json")
            skopeo_login(t, auth[t])
        ways = ("push", "pull", "blob")
        times = {label: {way: [] for way in ways} for label in ("vcr-local", "distribution")}
        for r in range(rounds):
            layout = os.path.join(work, f"layout-{r}")
            log(f"round {r + 1}/{rounds}: making a {size_mb} MiB image")
            layer_bytes, layer_digest = make_layout(layout, size_mb, f"round-{r}")
            order = [(vcr, "vcr-local"), (dist, "distribution")]
            if r % 2:
                order.reverse()
            for target, label in order:
                push, pull = round_trip(target, layout, f"r{r}", auth[target], work)
                blob = blob_get(target, layer_digest)
                times[label]["push"].append(push)
                times[label]["pull"].append(pull)
                times[label]["blob"].append(blob)
                log(f"  {label}: push {push:.2f} s, pull {pull:.2f} s, blob GET {blob:.3f} s")
            shutil.rmtree(layout)
        result["layer_bytes"] = layer_bytes
        result["times"] = times
        result["peak_rss_kib"] = {"image_mb": size_mb, "kib": vcr.peak_rss_kib()}
        for label, t in times.items():
            for way in ways:
                med = statistics.median(t[way])
                result.setdefault("mib_per_s", {}).setdefault(label, {})[way] = layer_bytes / (1 << 20) / med
        vcr.stop()
        dist.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def concurrently(cmds):
    """Runs the commands at once; the wall time until the last one ends."""
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in cmds]
    failed = [cmd for cmd, p in zip(cmds, procs) if p.wait() != 0]
    if failed:
        sys.exit(f"{len(failed)} of {len(cmds)} concurrent clients failed: {' '.join(failed[0])}")
    return time.perf_counter() - started


def series_concurrent(vcr_local_binary, clients, size_mb, rounds, work_root):
    """For each number of clients: rounds in which that many skopeo clients push a
    fresh image each at once to both registries, then pull them back at once; the
    throughput of all clients together (bytes of every layer over the wall time), medians."""
    ensure_tools()
    work = tempfile.mkdtemp(prefix="registry-concurrent-", dir=work_root)
    os.environ.setdefault("XDG_RUNTIME_DIR", work)
    result = {"image_mb": size_mb, "rounds": rounds, "clients": clients, "mib_per_s": {}}
    try:
        vcr = VcrLocal(vcr_local_binary, os.path.join(work, "vcr-data"))
        dist = Distribution(work)
        auth = {}
        for t in (vcr, dist):
            auth[t] = os.path.join(work, f"auth-{len(auth)}.json")
            skopeo_login(t, auth[t])
        for n in clients:
            times = {label: {"push": [], "pull": []} for label in ("vcr-local", "distribution")}
            for r in range(rounds):
                log(f"{n} clients, round {r + 1}/{rounds}: making {n} images of {size_mb} MiB")
                layouts = [os.path.join(work, f"layout-{n}-{r}-{i}") for i in range(n)]
                total = sum(make_layout(layout, size_mb, f"c{n}-{r}-{i}")[0] for i, layout in enumerate(layouts))
                order = [(vcr, "vcr-local"), (dist, "distribution")]
                if r % 2:
                    order.reverse()
                for target, label in order:
                    refs = [f"docker://{target.host}/{target.name}-{i}:c{n}-r{r}" for i in range(n)]
                    push = concurrently([
                        ["skopeo", "copy", "--quiet", "--authfile", auth[target], "--dest-tls-verify=false",
                         f"oci:{layout}:bench", ref] for layout, ref in zip(layouts, refs)])
                    outs = [os.path.join(work, f"pulled-{label}-{i}") for i in range(n)]
                    pull = concurrently([
                        ["skopeo", "copy", "--quiet", "--authfile", auth[target], "--src-tls-verify=false",
                         ref, f"dir:{out}"] for ref, out in zip(refs, outs)])
                    for out in outs:
                        shutil.rmtree(out)
                    mib = total / (1 << 20)
                    times[label]["push"].append(mib / push)
                    times[label]["pull"].append(mib / pull)
                    log(f"  {label}: push {mib / push:.0f} MiB/s, pull {mib / pull:.0f} MiB/s ({mib:.0f} MiB)")
                for layout in layouts:
                    shutil.rmtree(layout)
            for label, t in times.items():
                result["mib_per_s"].setdefault(str(n), {})[label] = {
                    way: statistics.median(rates) for way, rates in t.items()}
        result["peak_rss_kib"] = vcr.peak_rss_kib()
        vcr.stop()
        dist.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def markdown_concurrent(res):
    """The section of BENCHMARKS.md for the concurrent clients."""
    o = [f"### Registry: concurrent clients, one {res['image_mb']} MiB image each "
         f"({res['rounds']} rounds, medians)", ""]
    o.append("Each client is its own skopeo pushing a fresh image to its own image name, all at once, "
             "then pulling them back at once; the rate is every layer's bytes over the wall time "
             "until the last client ends. Both registries as in the series above.")
    o.append("")
    o.append("| clients | push vcr-local | push distribution | ratio | pull vcr-local | pull distribution | ratio |")
    o.append("|---|---|---|---|---|---|---|")
    for n in res["clients"]:
        rate = res["mib_per_s"][str(n)]
        v, d = rate["vcr-local"], rate["distribution"]
        o.append(f"| {n} | {v['push']:.0f} MiB/s | {d['push']:.0f} MiB/s | {v['push'] / d['push']:.2f}x "
                 f"| {v['pull']:.0f} MiB/s | {d['pull']:.0f} MiB/s | {v['pull'] / d['pull']:.2f}x |")
    o.append("")
    o.append(f"vcr-local's peak RSS over the run: {res['peak_rss_kib'] / 1024:.1f} MiB.")
    o.append("")
    return o


def markdown(res):
    """The section of BENCHMARKS.md for this series."""
    o = [f"### Registry: push and pull of one {res['image_mb']} MiB image ({res['rounds']} rounds, medians)", ""]
    o.append(f"vcr-local's registry (release build, `--data` on disk) next to Debian's `docker-registry` "
             f"(distribution 2.8, filesystem storage) on the same machine; the client is {res['client']} "
             f"for both (a gzip layer of random bytes, sent as it is; pulled into a `dir:` copy).")
    o.append("")
    o.append("| | vcr-local | distribution | ratio | target |")
    o.append("|---|---|---|---|---|")
    rate = res["mib_per_s"]
    rows = (("push", "push (skopeo)", "at least 1.0x"), ("pull", "pull (skopeo)", "at least 1.0x"),
            ("blob", "layer GET (curl, what the server alone serves)", "(shows the limit)"))
    for way, name, target in rows:
        if way not in rate["vcr-local"]:
            continue
        v, d = rate["vcr-local"][way], rate["distribution"][way]
        o.append(f"| {name} | {v:.0f} MiB/s | {d:.0f} MiB/s | {v / d:.2f}x | {target} |")
    small, big = res["peak_rss_kib_small"], res["peak_rss_kib"]
    o.append("")
    o.append(f"vcr-local's peak RSS: {small['kib'] / 1024:.1f} MiB with a {small['image_mb']} MiB image, "
             f"{big['kib'] / 1024:.1f} MiB with {big['image_mb']} MiB (target: not growing with the layer size).")
    o.append("")
    return o


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("vcr_local")
    ap.add_argument("--image-mb", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", help="only the concurrent series, with these numbers of clients (as 8,16)")
    ap.add_argument("--client-mb", type=int, default=32, help="image size of each concurrent client (MiB)")
    a = ap.parse_args()
    if a.clients:
        clients = [int(n) for n in a.clients.split(",")]
        r = series_concurrent(a.vcr_local, clients, a.client_mb, a.rounds, tempfile.gettempdir())
        print(json.dumps(r, indent=2))
        print("\n".join(markdown_concurrent(r)))
    else:
        r = series_registry(a.vcr_local, a.image_mb, a.rounds, tempfile.gettempdir())
        print(json.dumps(r, indent=2))
        print("\n".join(markdown(r)))
