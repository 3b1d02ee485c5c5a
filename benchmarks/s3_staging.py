"""A large input from S3 and an output of the same size back to S3 (a multipart upload), once per backend given
(`staging = "tesp"`: both through TESP's disk; `staging = "pulsar"` on a trusted backend: both moved by the Pulsar
host through pre-signed URLs; on an untrusted one: the input served by TESP and the output streamed back through
it, neither on its disk): wall time of each phase, bytes TESP moved (its transfer
counters), and TESP's peak RSS, which must not grow with the file. A benchmark, not a test.

usage: s3_staging.py TESP_URL TESP_PID S3_ENDPOINT KEY_ID SECRET SIZE_MIB BACKEND[,BACKEND…]
"""
import re
import sys
import time

import boto3
import requests

url, pid, endpoint, key_id, secret, size_mib = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
backends = sys.argv[7].split(",")
api = url + "/ga4gh/tes/v1"
size = size_mib * 1024 * 1024
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
s3.create_bucket(Bucket="tesp-bench")


def rss_peak_mib() -> float:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) / 1024


def transferred() -> dict:
    text = requests.get(url + "/metrics", timeout=30).text
    found = {}
    for direction in ("in", "out"):
        match = re.search(rf'^tesp_transfer_bytes_total\{{direction="{direction}",scheme="s3"\}} ([0-9.e+]+)$', text, re.M)
        found[direction] = float(match.group(1)) if match else 0.0
    return found


block = bytes(range(256)) * 4096  # 1 MiB
started = time.monotonic()
upload = s3.create_multipart_upload(Bucket="tesp-bench", Key="in.bin")
parts = []
for number, offset in enumerate(range(0, size, 64 * 1024 * 1024), start=1):
    length = min(64 * 1024 * 1024, size - offset)
    part = s3.upload_part(Bucket="tesp-bench", Key="in.bin", UploadId=upload["UploadId"], PartNumber=number,
                          Body=block * (length // len(block)))
    parts.append({"PartNumber": number, "ETag": part["ETag"]})
s3.complete_multipart_upload(Bucket="tesp-bench", Key="in.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
print(f"{size_mib} MiB input put into S3 in {time.monotonic() - started:.1f} s (boto3, not TESP)")


def run(backend: str) -> None:
    before, rss_before = transferred(), rss_peak_mib()
    task = {
        "inputs": [{"url": "s3://tesp-bench/in.bin", "path": "/data/in.bin"}],
        "outputs": [{"url": f"s3://tesp-bench/out-{backend}.bin", "path": "/data/out.bin"}],
        "executors": [{"image": "ubuntu:24.04", "command": ["cp", "/data/in.bin", "/data/out.bin"]}],
        "resources": {"backend_parameters": {"tesp_backend": backend}},
    }
    started = time.monotonic()
    task_id = requests.post(api + "/tasks", json=task, timeout=30).json()["id"]
    state, seen = None, {}
    while state not in ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED"):
        state = requests.get(f"{api}/tasks/{task_id}", params={"view": "MINIMAL"}, timeout=30).json()["state"]
        seen.setdefault(state, time.monotonic() - started)
        time.sleep(0.2)
    total = time.monotonic() - started
    after = transferred()
    print(f"[{backend}] task {state} in {total:.1f} s; first seen: " + ", ".join(f"{s} at {t:.1f} s" for s, t in seen.items()))
    print(f"[{backend}] bytes through TESP: {after['in'] - before['in']:.0f} in, {after['out'] - before['out']:.0f} out "
          f"({(after['in'] - before['in'] + after['out'] - before['out']) / max(total, 0.001) / 1e6:.1f} MB/s over the task)")
    print(f"[{backend}] TESP peak RSS: {rss_before:.0f} MiB before the task, {rss_peak_mib():.0f} MiB after")
    out = s3.head_object(Bucket="tesp-bench", Key=f"out-{backend}.bin")
    print(f"[{backend}] output in S3: {out['ContentLength']} bytes, ETag {out['ETag']} (a -N suffix: N parts)")


for backend in backends:
    run(backend)
