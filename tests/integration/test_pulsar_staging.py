"""`staging = "pulsar"`: a real Pulsar fetches plain http(s) inputs itself (remote_transfer), so their bytes never
pass through TESP (its transfer counter for http stays at 0), while an FTP input with a password still goes
through TESP; a URL Pulsar cannot fetch ends the task SYSTEM_ERROR naming the input."""
import hashlib
import json
import re
import uuid

import pytest
import requests

from helpers import create, executor, wait_for_state
from servers import Tesp


def transferred(tesp: Tesp, scheme: str) -> float:
    text = requests.get(tesp.url + "/metrics", timeout=10).text
    match = re.search(rf'^tesp_transfer_bytes_total\{{direction="in",scheme="{scheme}"\}} ([0-9.e+]+)$', text, re.M)
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
    # The 200 kB reference went from the HTTP server to Pulsar directly; the FTP file (with its password) via TESP.
    assert transferred(tesp, "http") == 0
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
