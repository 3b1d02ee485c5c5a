"""drs:// inputs through a real (small) GA4GH DRS 1.x server: resolution with a bearer token, access URLs with
headers, access ids, an object served from S3, checksums and sizes checked, bundles and outputs refused."""
import hashlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from helpers import create, executor, wait_for_state
from servers import Tesp

TOKEN = "drs-T0ken-" + uuid.uuid4().hex
# What the byte server wants to see: the header the DRS access URL names.
DATA_HEADER = ("X-Drs-Access", "let-me-in-" + uuid.uuid4().hex)


class DRSServer:
    """Serves DRS objects at /ga4gh/drs/v1/objects/{id} (bearer token required) and their bytes at /bytes/{name}
    (the access URL's header required)."""

    def __init__(self):
        self.objects = {}
        self.access = {}
        self.blobs = {}
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                prefix = "/ga4gh/drs/v1/objects/"
                if self.path.startswith("/bytes/"):
                    if self.headers.get(DATA_HEADER[0]) != DATA_HEADER[1]:
                        return self.reply(403, {"msg": "no access header"})
                    name = self.path[len("/bytes/"):]
                    if name not in server.blobs:
                        return self.reply(404, {"msg": "no such bytes"})
                    return self.reply(200, server.blobs[name], "application/octet-stream")
                if not self.path.startswith(prefix):
                    return self.reply(404, {"msg": "not found", "status_code": 404})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.reply(401, {"msg": "token required", "status_code": 401})
                rest = self.path[len(prefix):]
                if "/access/" in rest:
                    object_id, access_id = rest.split("/access/", 1)
                    found = server.access.get((object_id, access_id))
                    return self.reply(200, found) if found else self.reply(404, {"msg": "no such access id"})
                found = server.objects.get(rest)
                return self.reply(200, found) if found else self.reply(404, {"msg": "no such object", "status_code": 404})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.authority = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def blob(self, name: str, data: bytes) -> dict:
        """An access URL for bytes this server serves, with the header it wants."""
        self.blobs[name] = data
        return {"url": f"http://{self.authority}/bytes/{name}", "headers": [f"{DATA_HEADER[0]}: {DATA_HEADER[1]}"]}

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def drs():
    server = DRSServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def drs_tesp(tmp_path_factory, mongodb_uri, pulsar, drs, s3):
    directory = tmp_path_factory.mktemp("tesp-drs")
    tokens = directory / "drs-tokens"
    tokens.write_text(f"{drs.authority}={TOKEN}\n")
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_drs_" + uuid.uuid4().hex[:8],
                  TESP_DRS__TOKENS_FILE=str(tokens),
                  TESP_DRS__PLAIN_HTTP_HOSTS=drs.authority,
                  TESP_S3__ENDPOINT=s3.endpoint,
                  TESP_S3__ACCESS_KEY_ID=s3.key_id,
                  TESP_S3__SECRET_ACCESS_KEY=s3.secret,
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-drs")))
    server.start()
    yield server
    server.stop()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_drs_objects_are_resolved_and_read_through_their_access_methods(drs_tesp, drs, s3):
    direct = b"direct bytes\n"
    drs.objects["obj-direct"] = {"id": "obj-direct", "size": len(direct),
                                 "checksums": [{"type": "sha-256", "checksum": sha256(direct)}],
                                 # One TESP cannot read, one that fails, then the one that works.
                                 "access_methods": [{"type": "gs", "access_url": {"url": "gs://nowhere/x"}},
                                                    {"type": "http", "access_url": {
                                                        "url": f"http://{drs.authority}/bytes/gone",
                                                        "headers": [f"{DATA_HEADER[0]}: {DATA_HEADER[1]}"]}},
                                                    {"type": "http", "access_url": drs.blob("direct", direct)}]}
    by_id = b"through an access id\n"
    drs.blob("by-id", by_id)
    drs.objects["obj-by-id"] = {"id": "obj-by-id", "size": len(by_id),
                                "checksums": [{"type": "md5", "checksum": hashlib.md5(by_id).hexdigest()}],
                                "access_methods": [{"type": "http", "access_id": "primary"}]}
    drs.access[("obj-by-id", "primary")] = drs.blob("by-id", by_id)
    bucket = "drs-" + uuid.uuid4().hex[:8]
    s3.client().create_bucket(Bucket=bucket)
    in_s3 = b"kept in s3\n"
    s3.client().put_object(Bucket=bucket, Key="objects/o1", Body=in_s3)
    drs.objects["obj-s3"] = {"id": "obj-s3", "size": len(in_s3),
                             "access_methods": [{"type": "s3", "access_url": {"url": f"s3://{bucket}/objects/o1"}}]}
    task_id = create(drs_tesp.api, {
        "inputs": [{"url": f"drs://{drs.authority}/obj-direct", "path": "/data/direct"},
                   {"url": f"drs://{drs.authority}/obj-by-id", "path": "/data/by-id"},
                   {"url": f"drs://{drs.authority}/obj-s3", "path": "/data/s3"}],
        "outputs": [{"url": f"s3://{bucket}/out/all.txt", "path": "/data/all.txt"}],
        "executors": [executor(["sh", "-c", "cat /data/direct /data/by-id /data/s3 > /data/all.txt"])],
    })
    wait_for_state(drs_tesp.api, task_id, "COMPLETE", timeout=60)
    assert s3.client().get_object(Bucket=bucket, Key="out/all.txt")["Body"].read() == direct + by_id + in_s3
    # The token went to the DRS server only, and shows nowhere.
    assert all(headers.get("Authorization") is None for path, headers in drs.requests if path.startswith("/bytes/"))
    assert TOKEN not in drs_tesp.log() and DATA_HEADER[1] not in drs_tesp.log()
    assert TOKEN not in requests.get(f"{drs_tesp.api}/tasks/{task_id}", params={"view": "FULL"}).text


@pytest.mark.parametrize("case,expected", [
    ("checksum", "sha-256 checksum does not match"),
    ("size", "DRS says 99 bytes, 5 arrived"),
    ("bundle", "is a DRS bundle"),
    ("missing", "the DRS server has no such object"),
])
def test_a_drs_input_that_cannot_be_trusted_or_found_ends_the_task_saying_why(drs_tesp, drs, case, expected):
    data = b"12345"
    object_id = f"bad-{case}-{uuid.uuid4().hex[:6]}"
    if case == "checksum":
        drs.objects[object_id] = {"id": object_id, "checksums": [{"type": "sha-256", "checksum": sha256(b"other")}],
                                  "access_methods": [{"type": "http", "access_url": drs.blob(object_id, data)}]}
    elif case == "size":
        drs.objects[object_id] = {"id": object_id, "size": 99,
                                  "access_methods": [{"type": "http", "access_url": drs.blob(object_id, data)}]}
    elif case == "bundle":
        drs.objects[object_id] = {"id": object_id, "contents": [{"name": "a", "id": "x"}]}
    task_id = create(drs_tesp.api, {
        "inputs": [{"url": f"drs://{drs.authority}/{object_id}", "path": "/data/in"}],
        "executors": [executor(["true"])],
    })
    task = wait_for_state(drs_tesp.api, task_id, "SYSTEM_ERROR", timeout=60)
    lines = task["logs"][0]["system_logs"]
    assert any("inputs[0]" in line and expected in line for line in lines), lines


def test_drs_is_read_only(drs_tesp, drs):
    refused = requests.post(drs_tesp.api + "/tasks", json={
        "outputs": [{"url": f"drs://{drs.authority}/new", "path": "/data/x"}], "executors": [executor(["true"])]})
    assert refused.status_code == 400 and "outputs[0].url" in refused.json()["message"]
    info = requests.get(drs_tesp.api + "/service-info").json()
    assert "drs://" in info["storage"] and "s3://" in info["storage"]
