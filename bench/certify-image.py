#!/usr/bin/env python3
"""Builds the synthetic image bench/certify measures: an OCI image layout of 5 gzip
layers, 800 files of 50 kB each per layer (a third text, a third random bytes, a third
zeros): 200 MB of uncompressed file content. Deterministic (seeded).

    python3 bench/certify-image.py DIR     # tag 1.0.0
"""
import gzip, hashlib, io, json, os, random, sys, tarfile

root = sys.argv[1]
tmp = root + ".tmp"
os.makedirs(f"{tmp}/blobs/sha256", exist_ok=True)


def put(b):
    d = hashlib.sha256(b).hexdigest()
    with open(f"{tmp}/blobs/sha256/{d}", "wb") as f:
        f.write(b)
    return "sha256:" + d, len(b)


random.seed(1)
layers, diff_ids, total = [], [], 0
words = ["alpha", "beta", "gamma", "delta", "epsilon"]
for l in range(5):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if l == 0:
            lic = b"Apache-2.0\n"
            ti = tarfile.TarInfo("licenses/LICENSE")
            ti.size, ti.mode = len(lic), 0o644
            tf.addfile(ti, io.BytesIO(lic))
        for i in range(800):
            size = 50_000
            kind = i % 3
            if kind == 0:
                data = (" ".join(random.choice(words) for _ in range(size // 6))).encode()[:size]
            elif kind == 1:
                data = random.randbytes(size)
            else:
                data = bytes(size)
            ti = tarfile.TarInfo(f"srv/layer{l}/dir{i % 20}/file{i}.bin")
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
            total += len(data)
    raw = bio.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, s = put(gzip.compress(raw, 6))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
labels = {f"org.opencontainers.image.{k}": v for k, v in
          {"title": "synthetic", "version": "1.0.0", "vendor": "Wharf", "licenses": "Apache-2.0",
           "source": "https://example.invalid/synthetic"}.items()}
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "1000", "Labels": labels},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": layers}).encode()
md, ms = put(man)
with open(f"{tmp}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
               "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "1.0.0"}}]}, f)
with open(f"{tmp}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
os.rename(tmp, root)
print(f"{root}: {total / 1e6:.0f} MB of file content in 5 layers", file=sys.stderr)
