"""Pulsar in message-queue mode: TESP and Pulsar both connect to a real RabbitMQ, nothing connects to Pulsar
(`pulsar-main` has no web server). One setup message carries each job; Pulsar's status updates drive the task;
files are moved on the Pulsar host; the job reports its executors on its stdout, which Pulsar's final status
carries."""
import hashlib
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import requests

from helpers import create, executor, get, wait_for_state
from servers import PulsarQueueMode, RabbitMQ, Tesp


def metric(tesp: Tesp, name: str) -> float:
    text = requests.get(tesp.url + "/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.M))


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = RabbitMQ(tmp_path_factory.mktemp("rabbitmq")).start()
    yield server
    server.stop_all()


@pytest.fixture(scope="module")
def queue_pulsar(tmp_path_factory, broker):
    server = PulsarQueueMode(tmp_path_factory.mktemp("pulsar-mq"), broker.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def queue_tesp(tmp_path_factory, mongodb_uri, pulsar, broker, queue_pulsar):
    directory = tmp_path_factory.mktemp("tesp-mq")
    backends = [{"name": "behind-firewall", "transport": "amqp", "url": broker.url.replace("guest:guest@", "guest@"),
                 "password": "guest"}]
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_mq_" + uuid.uuid4().hex[:8],
                  TESP_BACKENDS=json.dumps(backends),
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-mq")))
    server.start()
    yield server
    server.stop()


def test_md5sum_through_the_queue_with_files_moved_by_pulsar(queue_tesp, http_files):
    root, base = http_files
    reference = b"ACGT" * 25_000
    (root / "mq-ref.fa").write_bytes(reference)
    tesp = queue_tesp
    task_id = create(tesp.api, {
        "inputs": [{"url": f"{base}/mq-ref.fa", "path": "/data/ref.fa"},
                   {"path": "/data/note.txt", "content": "note\n"}],
        "outputs": [{"url": f"{base}/mq-results/md5.txt", "path": "/data/md5.txt"}],
        "executors": [executor(["sh", "-c", "md5sum < /data/ref.fa > /data/md5.txt && cat /data/note.txt && echo oops >&2"])],
    })
    task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=90)
    assert task["state"] == "COMPLETE", task
    assert (root / "mq-results" / "md5.txt").read_text() == hashlib.md5(reference).hexdigest() + "  -\n"
    log = task["logs"][0]
    assert log["logs"][0]["stdout"] == "note\n" and log["logs"][0]["stderr"] == "oops\n"
    assert log["logs"][0]["exit_code"] == 0
    assert log["outputs"] == [{"url": f"{base}/mq-results/md5.txt", "path": "/data/md5.txt", "size_bytes": "36"}]
    assert log["metadata"]["tesp_backend"] == "behind-firewall"
    # Nothing passed through TESP, and it followed the job from Pulsar's updates, not by asking.
    assert metric(tesp, "tesp_transfer_bytes_total") == 0
    # One message out (the setup), none asking for a status: every state came from Pulsar's own updates.
    assert metric(tesp, "tesp_amqp_published_total") == 1
    assert metric(tesp, "tesp_amqp_consumed_total") >= 2
    assert ":guest@" not in tesp.log()


def test_an_executor_error_comes_back_through_the_queue(queue_tesp):
    task_id = create(queue_tesp.api, {"executors": [executor(["sh", "-c", "echo bad >&2; exit 3"]), executor(["true"])]})
    task = wait_for_state(queue_tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=60)
    assert task["state"] == "EXECUTOR_ERROR", task
    assert [e["exit_code"] for e in task["logs"][0]["logs"]] == [3]
    assert task["logs"][0]["logs"][0]["stderr"] == "bad\n"


def puts(root, prefix: str) -> dict:
    """How many times each output under `prefix` was sent."""
    counts = {}
    log = root / ".puts"
    for line in (log.read_text().splitlines() if log.exists() else []):
        if line.startswith(prefix):
            counts[line] = counts.get(line, 0) + 1
    return counts


def queue_stack(tmp_path, mongodb_uri, rest_pulsar, broker, manager: str, **settings):
    """A Pulsar of its own (its own manager's queues on `broker`) and a TESP for it: no other TESP takes its updates."""
    pulsar = PulsarQueueMode(tmp_path / "pulsar", broker.url, manager=manager).start()
    backends = [{"name": "mq-" + manager, "transport": "amqp", "url": broker.url, "manager": manager}]
    tesp = Tesp(tmp_path, mongodb_uri, rest_pulsar, database="tesp_mq_" + uuid.uuid4().hex[:8],
                TESP_BACKENDS=json.dumps(backends), TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path / "staging"),
                **settings)
    return pulsar, tesp


def sending_task(base: str, name: str, command: str) -> dict:
    return {"outputs": [{"url": f"{base}/{name}", "path": "/data/out"}],
            "executors": [executor(["sh", "-c", command + " && echo $$ > /data/out"])]}


def test_tesp_killed_with_20_tasks_in_flight_finishes_each_once(tmp_path, mongodb_uri, pulsar, broker, http_files):
    root, base = http_files
    queue_pulsar, tesp = queue_stack(tmp_path, mongodb_uri, pulsar, broker, "kill9")
    tesp.start()
    try:
        prefix = f"/kill9-{uuid.uuid4().hex[:6]}/"
        ids = [create(tesp.api, sending_task(base, f"{prefix[1:]}{i}", "sleep 4")) for i in range(20)]
        wait_for_state(tesp.api, ids[0], {"INITIALIZING", "RUNNING"}, timeout=60)
        tesp.kill()
        tesp.start()
        states = [wait_for_state(tesp.api, i, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=180)["state"] for i in ids]
        assert states == ["COMPLETE"] * 20, states
        counts = puts(root, prefix)
        assert sorted(counts) == sorted(f"{prefix}{i}" for i in range(20)) and set(counts.values()) == {1}, counts
    finally:
        tesp.stop()
        queue_pulsar.stop()


def test_a_broker_outage_mid_run_loses_no_update(tmp_path, mongodb_uri, pulsar, http_files):
    root, base = http_files
    broker = RabbitMQ(tmp_path / "rabbitmq").start()
    queue_pulsar, tesp = queue_stack(tmp_path, mongodb_uri, pulsar, broker, "outage")
    tesp.start()
    try:
        prefix = f"/outage-{uuid.uuid4().hex[:6]}/"
        # Two finish while the broker is down, one after it is back.
        ids = [create(tesp.api, sending_task(base, f"{prefix[1:]}{i}", f"sleep {s}")) for i, s in enumerate([6, 6, 45])]
        for task_id in ids:
            wait_for_state(tesp.api, task_id, "RUNNING", timeout=60)
        broker.stop()
        time.sleep(30)
        assert {get(tesp.api, i, "MINIMAL")["state"] for i in ids} == {"RUNNING"}
        assert puts(root, prefix) == {f"{prefix}0": 1, f"{prefix}1": 1}  # the jobs went on without the broker
        broker.start()
        states = [wait_for_state(tesp.api, i, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=120)["state"] for i in ids]
        assert states == ["COMPLETE"] * 3, states
        assert set(puts(root, prefix).values()) == {1}
        assert "Lost the connection to the broker" in tesp.log() or "Cannot connect to the broker" in tesp.log()
    finally:
        tesp.stop()
        queue_pulsar.stop()
        broker.stop_all()


def test_pulsar_restarted_mid_run_ends_the_task_clearly(tmp_path, mongodb_uri, pulsar, broker, http_files):
    root, base = http_files
    queue_pulsar, tesp = queue_stack(tmp_path, mongodb_uri, pulsar, broker, "restart")
    tesp.start()
    try:
        prefix = f"/restart-{uuid.uuid4().hex[:6]}/"
        task_id = create(tesp.api, sending_task(base, f"{prefix[1:]}0", "sleep 20"))
        wait_for_state(tesp.api, task_id, "RUNNING", timeout=60)
        time.sleep(1)
        queue_pulsar.stop()  # Pulsar's shutdown ends its jobs
        queue_pulsar.start()
        task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=90)
        # Pulsar 0.16 cannot recover a queued_python job whose process ended with it, and publishes "lost".
        assert task["state"] == "SYSTEM_ERROR", task
        assert task["logs"][0]["system_logs"] == ["Pulsar 'mq-restart' lost the job"], task
        assert puts(root, prefix) == {}  # it never ran to its end, and was not started again
    finally:
        tesp.stop()
        queue_pulsar.stop()


def test_one_rest_and_one_queue_backend_share_the_tasks(tmp_path, mongodb_uri, pulsar, broker, http_files):
    root, base = http_files
    queue_pulsar = PulsarQueueMode(tmp_path / "pulsar", broker.url, manager="mixed").start()
    backends = [{"name": "rest", "url": pulsar.url, "token": pulsar.token},
                {"name": "queue", "transport": "amqp", "url": broker.url, "manager": "mixed"}]
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_mix_" + uuid.uuid4().hex[:8],
                TESP_BACKENDS=json.dumps(backends), TESP_ENGINE__PLACEMENT="least-loaded").start()
    try:
        prefix = f"/mixed-{uuid.uuid4().hex[:6]}/"
        ids = [create(tesp.api, sending_task(base, f"{prefix[1:]}{i}", "sleep 3")) for i in range(6)]
        tasks = [wait_for_state(tesp.api, i, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=120) for i in ids]
        assert [t["state"] for t in tasks] == ["COMPLETE"] * 6, tasks
        placed = [t["logs"][0]["metadata"]["tesp_backend"] for t in tasks]
        # Least-loaded: with 6 tasks at once, each backend has some (3 and 3 when they start at the same pace).
        assert placed.count("rest") >= 2 and placed.count("queue") >= 2, placed
        assert set(puts(root, prefix).values()) == {1}
        ready = requests.get(tesp.url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        text = requests.get(tesp.url + "/metrics", timeout=10).text
        assert re.search(r'^tesp_amqp_connected\{broker="127.0.0.1:%d"\} 1' % broker.port, text, re.M), text
        assert re.search(r'^tesp_queue_unanswered_seconds\{backend="queue"\} 0', text, re.M), text
    finally:
        tesp.stop()
        queue_pulsar.stop()


def test_a_malformed_or_unknown_status_message_is_dropped_and_the_next_task_runs(queue_tesp):
    import kombu
    tesp = queue_tesp
    with kombu.Connection(tesp.env["TESP_BACKENDS"] and json.loads(tesp.env["TESP_BACKENDS"])[0]["url"].replace(
            "guest@", "guest:guest@")) as connection:
        producer = connection.Producer()
        exchange = kombu.Exchange("pulsar", "direct", durable=True)
        for body in ["not json", {"status": "running"}, {"job_id": "tesp-unknown", "status": "complete", "complete": "true"}]:
            producer.publish(body, exchange=exchange, routing_key="pulsar__status_update", serializer="json")
    task_id = create(tesp.api, {"executors": [executor(["echo", "still fine"])]})
    task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=60)
    assert task["state"] == "COMPLETE" and task["logs"][0]["logs"][0]["stdout"] == "still fine\n", task
    assert tesp.log().count("Dropped a status message that is not a Pulsar status") >= 2


def job_processes(marker: str) -> list:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if marker in line and "ps -eo" not in line]


def test_a_cancel_kills_the_job_through_the_queue(queue_tesp):
    tesp = queue_tesp
    marker = "mq-cancel-" + uuid.uuid4().hex[:8]
    task_id = create(tesp.api, {"executors": [executor(["sh", "-c", f"sleep 300; echo {marker}"])]})
    wait_for_state(tesp.api, task_id, "RUNNING", timeout=60)
    deadline = time.monotonic() + 30
    while not job_processes(marker):
        assert time.monotonic() < deadline, "the executor never started"
        time.sleep(0.2)
    assert requests.post(f"{tesp.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
    task = wait_for_state(tesp.api, task_id, "CANCELED", timeout=60)
    # Pulsar said the job ended: no line saying it may still run, and its processes are gone.
    assert not any("may still be running" in line for line in task["logs"][0].get("system_logs", [])), task
    deadline = time.monotonic() + 20
    while job_processes(marker):
        assert time.monotonic() < deadline, job_processes(marker)
        time.sleep(0.2)


def make_tls_files(directory) -> dict:
    """A CA of the test's own and a server certificate for `localhost`, signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    run = lambda *args: subprocess.run(args, cwd=directory, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tesp test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (directory / "san.ext").write_text("subjectAltName = DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    for name in ("server.key", "server.pem", "ca.pem"):
        os.chmod(directory / name, 0o644)
    return {"cacertfile": str(directory / "ca.pem"), "certfile": str(directory / "server.pem"),
            "keyfile": str(directory / "server.key")}


def test_amqps_with_a_private_ca(tmp_path, mongodb_uri, pulsar):
    tls = make_tls_files(tmp_path / "tls")
    broker = RabbitMQ(tmp_path / "rabbitmq", tls=tls).start()
    queue_pulsar = PulsarQueueMode(tmp_path / "pulsar", broker.url, manager="tls").start()
    url = f"amqps://guest@localhost:{broker.tls_port}//"
    backends = [{"name": "tls", "transport": "amqp", "url": url, "password": "guest", "manager": "tls",
                 "amqp_ca_file": tls["cacertfile"]},
                {"name": "tls-unknown-ca", "transport": "amqp", "url": url, "password": "guest", "manager": "tls-other"}]
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_tls_" + uuid.uuid4().hex[:8],
                TESP_BACKENDS=json.dumps(backends), TESP_ENGINE__HEALTH_INTERVAL_SECONDS="1").start()
    try:
        task_id = create(tesp.api, {"executors": [executor(["echo", "over tls"])],
                                    "resources": {"backend_parameters": {"tesp_backend": "tls"}}})
        task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=60)
        assert task["state"] == "COMPLETE" and task["logs"][0]["logs"][0]["stdout"] == "over tls\n", task
        # Without the CA, the broker's certificate is refused: that backend goes down (a backend counts as up until
        # its first check has failed, and each check waits a little for a connection), and the log says why.
        deadline = time.monotonic() + 30
        while (ready := requests.get(tesp.url + "/readyz", timeout=10)).status_code != 503:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.5)
        assert ready.json()["checks"]["backend tls-unknown-ca"] == "unavailable", ready.text
        assert ready.json()["checks"]["backend tls"] == "ok", ready.text
        assert "SSL peer cert verification failed" in tesp.log()
    finally:
        tesp.stop()
        queue_pulsar.stop()
        broker.stop_all()
