"""Cancels that must reach the task wherever it is (output publishing, another TESP process), and transfer slots
that one user cannot take from the others. Real TESP, Pulsar, MongoDB and HTTP servers."""
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from helpers import create, executor, get, wait_for_state
from servers import Tesp
from test_auth import hash_password


class _Trickle:
    """An HTTP server that answers GET with one byte a second and reads a PUT body one byte a second: a transfer
    through it never ends by itself within a test. `requests` counts the transfers that have begun."""

    def __init__(self):
        self.requests = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 1024 * 1024))
                self.end_headers()
                for _ in range(120):
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(1)

            def do_PUT(self):
                with outer.lock:
                    outer.requests += 1
                for _ in range(120):
                    try:
                        if not self.rfile.read(1):
                            return
                    except OSError:
                        return
                    time.sleep(1)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_requests(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.requests < count:
            assert time.monotonic() < deadline, f"only {self.requests} of {count} transfers began"
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()


def test_a_cancel_stops_output_publishing(api):
    trickle = _Trickle()
    try:
        task_id = create(api, {
            "outputs": [{"url": trickle.url + "/out.bin", "path": "/data/out.bin"}],
            "executors": [executor(["sh", "-c", "head -c 1048576 /dev/zero > /data/out.bin"])],
        })
        trickle.wait_for_requests(1, timeout=60)  # the executor ran; the upload has begun
        assert get(api, task_id, "MINIMAL")["state"] == "RUNNING"
        assert requests.post(f"{api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        # Without the abort the upload goes on until the low-speed limit (60 s), and is then retried.
        task = wait_for_state(api, task_id, "CANCELED", timeout=20)
        assert task["logs"][0].get("outputs") in (None, [])
    finally:
        trickle.close()


def test_a_shutdown_mid_publishing_ends_soon_and_the_next_start_resumes_the_task(tmp_path, mongodb_uri, pulsar):
    """SIGTERM while an output trickles out: the runner stops where it is (its upload aborts) and the process
    exits, well within engine.shutdown_seconds; the task stays RUNNING in the store and the next start publishes
    again (without the abort the upload would hold the process past the low-speed limit, 60 s)."""
    trickle = _Trickle()
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_shutdown_" + uuid.uuid4().hex[:8],
                TESP_ENGINE__SHUTDOWN_SECONDS="20", TESP_LOG__LEVEL="info")
    tesp.start()
    try:
        task_id = create(tesp.api, {
            "outputs": [{"url": trickle.url + "/out.bin", "path": "/data/out.bin"}],
            "executors": [executor(["sh", "-c", "head -c 1048576 /dev/zero > /data/out.bin"])],
        })
        trickle.wait_for_requests(1, timeout=60)
        started = time.monotonic()
        tesp.process.send_signal(signal.SIGTERM)
        assert tesp.process.wait(timeout=50) == 0
        print(f"TESP stopped {time.monotonic() - started:.1f} s after SIGTERM, mid-publishing")
        assert "Engine stopped" in tesp.log()
        tesp.start()
        assert get(tesp.api, task_id, "MINIMAL")["state"] == "RUNNING"
        trickle.wait_for_requests(2, timeout=60)  # resumed: the job's outputs are published again
        assert requests.post(f"{tesp.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        wait_for_state(tesp.api, task_id, "CANCELED", timeout=30)
    finally:
        trickle.close()
        tesp.stop()


def test_a_cancel_through_an_api_only_process_stops_the_running_task(tmp_path, mongodb_uri, pulsar):
    database = "tesp_split_" + uuid.uuid4().hex[:8]
    (tmp_path / "engine").mkdir()
    (tmp_path / "api").mkdir()
    engine = Tesp(tmp_path / "engine", mongodb_uri, pulsar, database=database, TESP_ENGINE__SCAN_INTERVAL_SECONDS="1.0")
    front = Tesp(tmp_path / "api", mongodb_uri, pulsar, database=database, TESP_ENGINE__ENABLED="false")
    engine.start()
    front.start()
    try:
        marker = "split-" + uuid.uuid4().hex[:8]
        # Created through the API-only process: the engine finds it by its scan.
        task_id = create(front.api, {"executors": [executor(["sh", "-c", f"sleep 300; echo {marker}"])]})
        wait_for_state(front.api, task_id, "RUNNING", timeout=60)
        deadline = time.monotonic() + 30
        while not pulsar.job_processes(marker):
            assert time.monotonic() < deadline, "the executor never started"
            time.sleep(0.1)
        assert requests.post(f"{front.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        started = time.monotonic()
        wait_for_state(front.api, task_id, "CANCELED", timeout=20)
        took = time.monotonic() - started
        assert not pulsar.job_processes(marker), "the job's processes outlived the cancel"
        # The engine hears of the cancel at its next scan (1 s here); the bound leaves room for a loaded machine.
        assert took < 10, f"CANCELED {took:.1f} s after the cancel"
    finally:
        front.stop()
        engine.stop()


def test_one_owner_cannot_hold_every_transfer_slot(tmp_path, mongodb_uri, pulsar, http_files):
    root, base = http_files
    (root / "fair.txt").write_text("bob's input\n")
    passwords = {"alice": "alice-pw", "bob": "bob-pw"}
    users = ",".join(hash_password(user, password) for user, password in passwords.items())
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_fair_" + uuid.uuid4().hex[:8],
                TESP_AUTH__MODE="basic", TESP_AUTH__BASIC__USERS=users,
                TESP_TRANSFER__MAX_CONCURRENT="2", TESP_TRANSFER__MAX_PER_OWNER="1").start()
    trickle = _Trickle()
    alice = requests.Session()
    alice.auth = ("alice", passwords["alice"])
    bob = requests.Session()
    bob.auth = ("bob", passwords["bob"])
    try:
        def create_as(session, task):
            response = session.post(tesp.api + "/tasks", json=task, timeout=10)
            assert response.status_code == 200, response.text
            return response.json()["id"]

        # Alice's four inputs from a server that never finishes would take both transfer threads.
        slow = [create_as(alice, {
            "inputs": [{"url": f"{trickle.url}/slow-{n}-{i}", "path": f"/data/slow-{i}"} for i in range(2)],
            "executors": [executor(["true"])],
        }) for n in range(2)]
        trickle.wait_for_requests(1)
        time.sleep(1)
        assert trickle.requests == 1, "alice has more than her one transfer slot"
        fair = create_as(bob, {
            "inputs": [{"url": base + "/fair.txt", "path": "/data/fair.txt"}],
            "executors": [executor(["cat", "/data/fair.txt"])],
        })
        deadline = time.monotonic() + 60
        while (task := bob.get(f"{tesp.api}/tasks/{fair}?view=FULL", timeout=10).json())["state"] != "COMPLETE":
            assert task["state"] not in ("EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED"), task
            assert time.monotonic() < deadline, f"bob's task waited behind alice's transfers: {task['state']}"
            time.sleep(0.2)
        assert task["logs"][0]["logs"][0]["stdout"] == "bob's input\n"
        for task_id in slow:
            assert alice.get(f"{tesp.api}/tasks/{task_id}", timeout=10).json()["state"] == "INITIALIZING"
            # A task waiting for a slot is canceled at once, not when the slot frees.
            assert alice.post(f"{tesp.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        for task_id in slow:
            deadline = time.monotonic() + 20
            while alice.get(f"{tesp.api}/tasks/{task_id}", timeout=10).json()["state"] != "CANCELED":
                assert time.monotonic() < deadline, "alice's task did not cancel"
                time.sleep(0.2)
    finally:
        trickle.close()
        tesp.stop()
