"""`staging = "pulsar"`: a real Pulsar fetches plain http(s) inputs itself (remote_transfer) and S3 objects through
URLs TESP pre-signs for a trusted backend, and the job script fetches anonymous FTP inputs on the Pulsar host, so
their bytes never pass through TESP (its transfer counters stay at 0), while an FTP input with a password, and S3
for an untrusted backend, still go through TESP; a URL the Pulsar host cannot fetch ends the task SYSTEM_ERROR
naming the input."""
import hashlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests

from helpers import create, executor, wait_for_state
from servers import FtpServer, S3Server, Tesp


def transferred(tesp: Tesp, scheme: str, direction: str = "in") -> float:
    text = requests.get(tesp.url + "/metrics", timeout=10).text
    match = re.search(rf'^tesp_transfer_bytes_total\{{direction="{direction}",scheme="{scheme}"\}} ([0-9.e+]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def pulsar_staging_tesp(tmp_path_factory, mongodb_uri, pulsar, ftp):
    directory = tmp_path_factory.mktemp("tesp-pulsar-staging")
    backends = [{"name": "near-data", "url": pulsar.url, "token": pulsar.token, "staging": "pulsar"}]
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_ps_" + uuid.uuid4().hex[:8],
                  TESP_BACKENDS=json.dumps(backends),
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-ps")))
    server.start()
    yield server
    server.stop()


def test_pulsar_fetches_http_inputs_itself_and_tesp_moves_only_the_rest(pulsar_staging_tesp, http_files, ftp, pulsar):
    root, base = http_files
    reference = b"ACGT" * 50_000
    (root / "ref.fa").write_bytes(reference)
    (ftp.root / "reads.txt").write_bytes(b"reads\n")
    tesp = pulsar_staging_tesp
    task_id = create(tesp.api, {
        "inputs": [{"url": f"{base}/ref.fa", "path": "/data/ref.fa"},
                   {"url": ftp.url("reads.txt"), "path": "/data/reads.txt"},
                   {"path": "/data/note.txt", "content": "note\n"}],
        "outputs": [{"url": f"{base}/results/md5.txt", "path": "/data/md5.txt"}],
        "executors": [executor(["sh", "-c", "md5sum < /data/ref.fa > /data/md5.txt && cat /data/reads.txt /data/note.txt"])],
    })
    task = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=90)
    assert (root / "results" / "md5.txt").read_text() == hashlib.md5(reference).hexdigest() + "  -\n"
    assert task["logs"][0]["logs"][0]["stdout"] == "reads\nnote\n"
    # The 200 kB reference went from the HTTP server to Pulsar directly, and the output back by a PUT from the
    # Pulsar host; the FTP file (with its password) via TESP.
    assert transferred(tesp, "http") == 0 and transferred(tesp, "http", "out") == 0
    assert task["logs"][0]["outputs"] == [{"url": f"{base}/results/md5.txt", "path": "/data/md5.txt", "size_bytes": "36"}]
    assert transferred(tesp, "ftp") == len(b"reads\n")
    # No password reached Pulsar: its job directories (kept or not) never held it.
    for path in pulsar.directory.rglob("*"):
        if path.is_file():
            assert ftp.password.encode() not in path.read_bytes(), path


def test_an_input_pulsar_cannot_fetch_ends_the_task_naming_it(pulsar_staging_tesp, http_files):
    _, base = http_files
    task_id = create(pulsar_staging_tesp.api, {
        "inputs": [{"url": f"{base}/no/such/file", "path": "/data/in"}],
        "executors": [executor(["true"])],
    })
    task = wait_for_state(pulsar_staging_tesp.api, task_id, "SYSTEM_ERROR", timeout=90)
    lines = task["logs"][0]["system_logs"]
    assert any(line.startswith("inputs[0]: Pulsar 'near-data' could not fetch") and f"{base}/no/such/file" in line
               for line in lines), lines


@pytest.fixture(scope="module")
def open_s3(tmp_path_factory):
    """moto without authentication: moto 5.2 with authentication on cannot serve a pre-signed URL at all (it
    answers 500, reading only the Authorization header), so here it takes any request, and the signature TESP
    computes is checked against botocore's (AWS's SDK) instead."""
    server = S3Server(tmp_path_factory.mktemp("s3-open"), auth=False).start()
    server.key_id, server.secret = "AKIATESPPRESIGN", "presign-" + uuid.uuid4().hex
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_staging_tesp(tmp_path_factory, mongodb_uri, pulsar, open_s3):
    """Two backends on one Pulsar, both staging = "pulsar": one trusted with pre-signed URLs, one not."""
    directory = tmp_path_factory.mktemp("tesp-pulsar-s3")
    secret_file = directory / "s3-secret"
    secret_file.write_text(open_s3.secret)
    backends = [{"name": "trusted-site", "url": pulsar.url, "token": pulsar.token, "staging": "pulsar", "trusted": True},
                {"name": "untrusted-site", "url": pulsar.url, "token": pulsar.token, "staging": "pulsar"}]
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_ps3_" + uuid.uuid4().hex[:8],
                  TESP_BACKENDS=json.dumps(backends),
                  TESP_S3__ENDPOINT=open_s3.endpoint,
                  TESP_S3__ACCESS_KEY_ID=open_s3.key_id,
                  TESP_S3__SECRET_ACCESS_KEY_FILE=str(secret_file),
                  TESP_S3__PRESIGN_SECONDS="600",
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-ps3")))
    server.start()
    yield server
    server.stop()


def pulsar_files_holding(pulsar, needle: bytes) -> list:
    return [path for path in pulsar.directory.rglob("*") if path.is_file() and needle in path.read_bytes()]


def botocore_presigned(method: str, url: str, key_id: str, secret: str, region: str, expires: int, timestamp: str) -> str:
    """What AWS's SDK signs for `method` on `url` at `timestamp` (botocore's own clock stopped there)."""
    import datetime
    from unittest import mock
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method=method, url=url)
    when = datetime.datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        S3SigV4QueryAuth(Credentials(key_id, secret), "s3", region, expires=expires).add_auth(request)
    return request.prepare().url


def test_s3_inputs_are_presigned_for_a_trusted_backend_and_fetched_by_tesp_for_another(s3_staging_tesp, open_s3, pulsar):
    tesp = s3_staging_tesp
    bucket = "tesp-ps-" + uuid.uuid4().hex[:8]
    key = "ref/genome v1+x.fa"
    client = open_s3.client()
    client.create_bucket(Bucket=bucket)
    reference = uuid.uuid4().bytes * 10_000
    client.put_object(Bucket=bucket, Key=key, Body=reference)

    def task(backend: str) -> str:
        # The job stays long enough for its directory to be read while it runs (Pulsar deletes it afterwards).
        return create(tesp.api, {
            "inputs": [{"url": f"s3://{bucket}/{quote(key)}", "path": "/data/ref.fa"}],
            "outputs": [{"url": f"s3://{bucket}/results/{backend}.md5", "path": "/data/md5.txt"}],
            "executors": [executor(["sh", "-c", "md5sum < /data/ref.fa | tee /data/md5.txt && sleep 20"])],
            "resources": {"backend_parameters": {"tesp_backend": backend}},
        })

    trusted, untrusted = task("trusted-site"), task("untrusted-site")
    wait_for_state(tesp.api, trusted, "RUNNING", timeout=90)
    wait_for_state(tesp.api, untrusted, "RUNNING", timeout=90)
    # Only the trusted backend's job was handed a pre-signed URL; neither was handed the secret key.
    holding = pulsar_files_holding(pulsar, b"X-Amz-Signature=")
    assert holding and all(trusted in str(path) for path in holding), holding
    assert not pulsar_files_holding(pulsar, open_s3.secret.encode())
    # A GET of the input for Pulsar (good for s3.presign_seconds), a PUT of the output for the job script (seven
    # days: the job may wait long before it writes); each signed exactly as AWS's SDK signs it.
    signed = sorted({m for path in holding for m in re.findall(r"http://[^\"'\s]+X-Amz-Signature=[0-9a-f]{64}", path.read_text())})
    assert len(signed) == 2, signed
    for url, method, expires in ((next(u for u in signed if "genome" in u), "GET", 600),
                                 (next(u for u in signed if "results" in u), "PUT", 604800)):
        stamp = re.search(r"X-Amz-Date=([0-9TZ]+)", url).group(1)
        assert url == botocore_presigned(method, url.split("?")[0], open_s3.key_id, open_s3.secret, open_s3.region, expires, stamp)
    expected = hashlib.md5(reference).hexdigest() + "  -\n"
    for task_id in (trusted, untrusted):
        done = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=90)
        assert done["logs"][0]["logs"][0]["stdout"] == expected
        assert "X-Amz" not in json.dumps(done)
        name = "trusted-site" if task_id == trusted else "untrusted-site"
        assert done["logs"][0]["outputs"] == [{"url": f"s3://{bucket}/results/{name}.md5", "path": "/data/md5.txt",
                                               "size_bytes": str(len(expected))}]
        assert client.get_object(Bucket=bucket, Key=f"results/{name}.md5")["Body"].read() == expected.encode()
    # TESP moved the object and the output once each: for the untrusted backend.
    assert transferred(tesp, "s3") == len(reference)
    assert transferred(tesp, "s3", "out") == len(expected)
    assert re.search(r"X-Amz-Signature=[0-9a-f]", tesp.log()) is None


def test_anonymous_ftp_inputs_are_fetched_on_the_pulsar_host(pulsar_staging_tesp, tmp_path):
    public = FtpServer(tmp_path, anonymous=True).start()
    try:
        (public.root / "reads.fq").write_bytes(b"@r1\nACGT\n+\nIIII\n")
        tesp = pulsar_staging_tesp
        before, before_out = transferred(tesp, "ftp"), transferred(tesp, "ftp", "out")
        task_id = create(tesp.api, {
            "inputs": [{"url": public.url("reads.fq"), "path": "/data/reads.fq"}],
            "outputs": [{"url": public.url("results/count.txt"), "path": "/data/count.txt"}],
            "executors": [executor(["sh", "-c", "wc -l /data/reads.fq | tee /data/count.txt"])],
        })
        task = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=90)
        assert task["logs"][0]["logs"][0]["stdout"] == "4 /data/reads.fq\n"
        # In from the FTP server and out to it (STOR, its folder made) from the Pulsar host: nothing through TESP.
        assert (public.root / "results" / "count.txt").read_text() == "4 /data/reads.fq\n"
        assert task["logs"][0]["outputs"] == [{"url": public.url("results/count.txt"), "path": "/data/count.txt", "size_bytes": "17"}]
        assert transferred(tesp, "ftp") == before and transferred(tesp, "ftp", "out") == before_out
        missing = create(tesp.api, {"inputs": [{"url": public.url("no/such.fq"), "path": "/data/x"}],
                                    "executors": [executor(["true"])]})
        failed = wait_for_state(tesp.api, missing, "SYSTEM_ERROR", timeout=90)
        lines = failed["logs"][0]["system_logs"]
        assert any(f"TESP could not fetch inputs[0] ({public.url('no/such.fq')}) on the Pulsar host" in line
                   for line in lines), lines
        assert "logs" not in failed["logs"][0] or not failed["logs"][0]["logs"]
    finally:
        public.stop()


@pytest.fixture(scope="module")
def served_tesp(tmp_path_factory, mongodb_uri, pulsar, open_s3):
    """An untrusted backend with staging = "pulsar" and server.public_url set: inputs that need a secret are served
    by TESP itself. The staging directory is a regular file, so any byte TESP tried to keep on its disk would fail
    the task (even as root, no folder can be made below a file)."""
    directory = tmp_path_factory.mktemp("tesp-served")
    (directory / "s3-secret").write_text(open_s3.secret)
    (directory / "staging-key").write_text(uuid.uuid4().hex + uuid.uuid4().hex)
    (directory / "not-a-directory").write_text("TESP must not stage anything here\n")
    backends = [{"name": "untrusted-site", "url": pulsar.url, "token": pulsar.token, "staging": "pulsar"}]
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_served_" + uuid.uuid4().hex[:8],
                  TESP_BACKENDS=json.dumps(backends),
                  TESP_S3__ENDPOINT=open_s3.endpoint,
                  TESP_S3__ACCESS_KEY_ID=open_s3.key_id,
                  TESP_S3__SECRET_ACCESS_KEY_FILE=str(directory / "s3-secret"),
                  TESP_SERVER__STAGING_KEY_FILE=str(directory / "staging-key"),
                  TESP_LOG__LEVEL="debug",  # the log is searched for secrets: it must say all it can (requests too)
                  TESP_S3__MULTIPART_PART_MIB="5",  # S3's smallest part: a 12 MB output goes up in three
                  TESP_TRANSFER__STAGING_DIRECTORY=str(directory / "not-a-directory"))
    server.env["TESP_SERVER__PUBLIC_URL"] = server.url
    server.start()
    yield server
    server.stop()


def test_an_untrusted_backend_fetches_secret_inputs_from_tesp_streamed_and_never_sees_the_secret(
        served_tesp, open_s3, ftp, http_files, pulsar):
    tesp = served_tesp
    root, base = http_files
    bucket = "tesp-served-" + uuid.uuid4().hex[:8]
    client = open_s3.client()
    client.create_bucket(Bucket=bucket)
    genome = uuid.uuid4().bytes * 50_000  # 800 kB: many chunks through the pipe
    client.put_object(Bucket=bucket, Key="ref.fa", Body=genome)
    reads = b"@r1\nACGT\n+\nIIII\n" * 1000
    (ftp.root / "served-reads.fq").write_bytes(reads)
    s3_before, ftp_before = transferred(tesp, "s3"), transferred(tesp, "ftp")
    s3_out_before = transferred(tesp, "s3", "out")
    task_id = create(tesp.api, {
        "inputs": [{"url": f"s3://{bucket}/ref.fa", "path": "/data/ref.fa"},
                   {"url": ftp.url("served-reads.fq"), "path": "/data/reads.fq"}],
        # The HTTP output is PUT from the Pulsar host; the S3 one (no pre-signed URL for an untrusted backend)
        # comes back through TESP in one streamed hop: 12 MB, uploaded in three parts read from the pipe in turn.
        "outputs": [{"url": f"{base}/served/md5.txt", "path": "/data/md5.txt"},
                    {"url": f"s3://{bucket}/served/copy.fa", "path": "/data/copy.fa"}],
        "executors": [executor(["sh", "-c", "md5sum /data/ref.fa /data/reads.fq | tee /data/md5.txt && "
                                            "for i in $(seq 15); do cat /data/ref.fa; done > /data/copy.fa && sleep 15"])],
    })
    wait_for_state(tesp.api, task_id, "RUNNING", timeout=90)
    # Pulsar was handed TESP's URLs for both inputs, and neither the S3 secret nor the FTP password.
    holding = pulsar_files_holding(pulsar, b"/staging/v1/tasks/" + task_id.encode())
    assert holding, "Pulsar's job directory names no served input"
    served = sorted({m for path in holding for m in re.findall(
        r"http://127\.0\.0\.1:\d+/staging/v1/tasks/[^\"'\s]+signature=[0-9a-f]{64}", path.read_text())})
    assert [re.search(r"/inputs/(\d+)\?", url).group(1) for url in served] == ["0", "1"], served
    assert not pulsar_files_holding(pulsar, open_s3.secret.encode())
    assert not pulsar_files_holding(pulsar, ftp.password.encode())
    assert not pulsar_files_holding(pulsar, quote(ftp.password, safe="").encode())
    # A signature is good for its own input only.
    moved = served[0].replace("/inputs/0?", "/inputs/1?")
    assert requests.get(moved, timeout=10).status_code == 403
    done = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=90)
    expected = (f"{hashlib.md5(genome).hexdigest()}  /data/ref.fa\n"
                f"{hashlib.md5(reads).hexdigest()}  /data/reads.fq\n")
    assert done["logs"][0]["logs"][0]["stdout"] == expected
    assert (root / "served" / "md5.txt").read_text() == expected
    copy = client.get_object(Bucket=bucket, Key="served/copy.fa")
    assert copy["Body"].read() == genome * 15
    assert copy["ETag"].endswith('-3"'), copy["ETag"]  # multipart, three parts
    assert transferred(tesp, "s3", "out") - s3_out_before == 15 * len(genome)
    assert [o["size_bytes"] for o in done["logs"][0]["outputs"]] == [str(len(expected)), str(15 * len(genome))]
    # Each input passed through TESP once, streamed: the staging "directory" is still the file it was.
    assert transferred(tesp, "s3") - s3_before == len(genome)
    assert transferred(tesp, "ftp") - ftp_before == len(reads)
    assert (tesp.directory / "not-a-directory").read_text() == "TESP must not stage anything here\n"
    assert tesp.log().count("Serving an input to a backend") >= 2
    # Once the task has finished, its URLs open nothing.
    answer = requests.get(served[0], timeout=10)
    assert answer.status_code == 410 and "COMPLETE" in answer.json()["message"]
    assert ftp.password not in tesp.log() and open_s3.secret not in tesp.log()
    assert re.search(r"signature=[0-9a-f]", tesp.log()) is None  # the served URLs are credentials too
    # Every line is a log line: libcurl printed nothing of its own (an FTP size request once wrote its
    # "Content-Length:" lines to standard output).
    assert all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in tesp.log().splitlines()), tesp.log()


class _TrickleHandler(BaseHTTPRequestHandler):
    """200 kB at 20 kB/s: a download that takes ten seconds."""
    started = threading.Event()

    def do_GET(self):
        type(self).started.set()
        self.send_response(200)
        self.send_header("Content-Length", str(200_000))
        self.end_headers()
        try:
            for _ in range(20):
                self.wfile.write(b"A" * 10_000)
                self.wfile.flush()
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_a_cancel_while_pulsar_fetches_the_inputs_stops_the_job_before_it_runs(pulsar_staging_tesp, http_files):
    root, base = http_files
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TrickleHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tesp = pulsar_staging_tesp
        task_id = create(tesp.api, {
            "inputs": [{"url": f"http://127.0.0.1:{server.server_address[1]}/slow.fa", "path": "/data/slow.fa"}],
            "outputs": [{"url": f"{base}/cancelled/ran.txt", "path": "/data/ran.txt"}],
            "executors": [executor(["sh", "-c", "echo ran > /data/ran.txt"])],
        })
        # Pulsar is downloading (its preprocessing; TES says INITIALIZING) when the cancel comes.
        assert _TrickleHandler.started.wait(60), "Pulsar never fetched the input"
        assert requests.get(f"{tesp.api}/tasks/{task_id}", timeout=10).json()["state"] == "INITIALIZING"
        assert requests.post(f"{tesp.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        wait_for_state(tesp.api, task_id, "CANCELED", timeout=60)
        # Past the end of the download: Pulsar saw the cancel and never started the job, so nothing ran or was sent.
        time.sleep(15)
        assert requests.get(f"{tesp.api}/tasks/{task_id}", timeout=10).json()["state"] == "CANCELED"
        assert not (root / "cancelled" / "ran.txt").exists()
    finally:
        server.shutdown()


def test_a_trusted_backend_fetches_an_ftp_input_with_its_password_and_keeps_no_copy(s3_staging_tesp, ftp, pulsar):
    tesp = s3_staging_tesp
    reads = b"@r1\nACGT\n+\nIIII\n" * 500
    (ftp.root / "trusted-reads.fq").write_bytes(reads)
    before = transferred(tesp, "ftp")
    task_id = create(tesp.api, {
        "inputs": [{"url": ftp.url("trusted-reads.fq"), "path": "/data/reads.fq"}],
        "executors": [executor(["sh", "-c", "md5sum < /data/reads.fq && sleep 10"])],
        "resources": {"backend_parameters": {"tesp_backend": "trusted-site"}},
    })
    wait_for_state(tesp.api, task_id, "RUNNING", timeout=90)
    job = next(p for p in pulsar.directory.rglob("*") if p.is_dir() and p.name == f"tesp-{task_id}")
    deadline = time.monotonic() + 8
    while (job / "inputs" / "tesp-login-0").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    # While the executor still runs (it sleeps 10 s; TES says RUNNING once the job script started, a little
    # earlier), the login file is gone, and no file of the job holds the password.
    assert job.exists() and not (job / "inputs" / "tesp-login-0").exists()
    assert requests.get(f"{tesp.api}/tasks/{task_id}", timeout=10).json()["state"] == "RUNNING"
    assert not pulsar_files_holding(pulsar, ftp.password.encode())
    assert not [p for p in pulsar.directory.rglob("tesp-login-*")]
    done = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=90)
    assert done["logs"][0]["logs"][0]["stdout"] == hashlib.md5(reads).hexdigest() + "  -\n"
    # Fetched on the Pulsar host, not through TESP.
    assert transferred(tesp, "ftp") == before
    assert ftp.password not in tesp.log()
