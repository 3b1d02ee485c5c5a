"""Faults against the real servers: the task store going away while tasks run."""
import time
import uuid

import requests

from helpers import TERMINAL, create, executor, wait_for_state
from servers import MongoServer, Pulsar, Tesp


def test_a_store_outage_gives_quick_503s_and_the_engine_resumes(tmp_path):
    mongo = MongoServer(tmp_path / "mongo").start()
    pulsar = Pulsar(tmp_path / "pulsar").start()
    tesp = Tesp(tmp_path, mongo.uri, pulsar, database="tesp_fault_" + uuid.uuid4().hex[:8]).start()
    try:
        task_id = create(tesp.api, {"executors": [executor(["sh", "-c", "sleep 3; echo survived"])]})
        wait_for_state(tesp.api, task_id, "RUNNING")
        mongo.stop()

        # The API answers 503, quickly, and creates nothing.
        for method, path, body in (("GET", f"/tasks/{task_id}", None), ("GET", "/tasks", None),
                                   ("POST", "/tasks", {"executors": [executor(["true"])]})):
            started = time.monotonic()
            response = requests.request(method, tesp.api + path, json=body, timeout=10)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == 503 and "unavailable" in response.json()["message"]
            assert time.monotonic() - started < 3
        ready = requests.get(tesp.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["mongodb"] == "unavailable"

        time.sleep(4)  # the job ends while the store is down: the engine must hold on to it
        mongo.start()
        task = wait_for_state(tesp.api, task_id, "COMPLETE", timeout=60)
        assert task["logs"][0]["logs"][0]["stdout"] == "survived\n"
        assert len(requests.get(tesp.api + "/tasks", timeout=10).json()["tasks"]) == 1  # nothing half-written
    finally:
        tesp.stop()
        pulsar.stop()
        mongo.stop()


def test_kill_9_with_many_tasks_in_flight_runs_each_job_once(tmp_path, mongodb_uri):
    pulsar = Pulsar(tmp_path / "pulsar", concurrent_jobs=4).start()
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_kill_" + uuid.uuid4().hex[:8]).start()
    try:
        # Each run appends to a file in the job's own directory: a second submission would show a second line.
        # Every fifth task fails (EXECUTOR_ERROR), and two are canceled just before the crash (CANCELED).
        script = "echo run >> /data/runs; sleep 1; cat /data/runs"
        expected = {}
        for index in range(20):
            failing = index % 5 == 4
            command = ["sh", "-c", script + ("; exit 3" if failing else "")]
            task_id = create(tesp.api, {"executors": [executor(command)], "volumes": ["/data"]})
            expected[task_id] = "EXECUTOR_ERROR" if failing else "COMPLETE"
        time.sleep(0.3)  # some queued, some initializing, some running
        for task_id in [i for i, state in expected.items() if state == "COMPLETE"][:2]:
            assert requests.post(f"{tesp.api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
            expected[task_id] = "CANCELED"
        states = {requests.get(f"{tesp.api}/tasks/{i}", timeout=10).json()["state"] for i in expected}
        tesp.kill()
        tesp.start()
        for task_id, state in expected.items():
            task = wait_for_state(tesp.api, task_id, TERMINAL, timeout=120)
            assert task["state"] == state, task
            if state != "CANCELED":
                assert task["logs"][0]["logs"][0]["stdout"] == "run\n", task
        print(f"states when killed: {sorted(states)}")
    finally:
        tesp.stop()
        pulsar.stop()


def test_ftp_gone_mid_upload_is_retried_then_fails_naming_the_output(tmp_path, api):
    from servers import FtpServer

    ftp = FtpServer(tmp_path / "ftp").start()
    try:
        task_id = create(api, {
            "outputs": [{"url": ftp.url("results/big.bin"), "path": "/out/big.bin"}],
            "executors": [executor(["sh", "-c", "head -c 400000000 /dev/zero > /out/big.bin"])],
        })
        target = ftp.root / "results" / "big.bin"
        deadline = time.monotonic() + 120
        while not (target.exists() and target.stat().st_size > 0):
            assert time.monotonic() < deadline, "the upload never started"
            assert requests.get(f"{api}/tasks/{task_id}", timeout=10).json()["state"] not in ("SYSTEM_ERROR", "COMPLETE")
            time.sleep(0.01)
        ftp.stop()  # the server goes away in the middle of the upload and stays away
        task = wait_for_state(api, task_id, "SYSTEM_ERROR", timeout=120)
        message = " ".join(task["logs"][0]["system_logs"])
        assert "outputs[0]" in message and "results/big.bin" in message, message
        assert ftp.password not in message
    finally:
        ftp.stop()
