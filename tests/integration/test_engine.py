"""Tasks run for real: TESP → Pulsar (REST) → bash job script → bubblewrap containers, through the HTTP API."""
import os
import signal
import time
import uuid

import pytest
import requests

from helpers import create, executor, get, wait_for_state
from servers import Pulsar, Tesp


def test_md5sum_with_content_input_and_redirects(api):
    task_id = create(api, {
        "name": "md5sum",
        "inputs": [{"path": "/data/file1", "content": "hello TES\n"}],
        "executors": [
            executor(["md5sum"], stdin="/data/file1", stdout="/data/outfile"),
            executor(["cat", "/data/outfile"]),
        ],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    log = task["logs"][0]
    assert [e["exit_code"] for e in log["logs"]] == [0, 0]
    assert log["logs"][0]["stdout"] == "30b9a48f44cd61cde329225bf1f647f2  -\n"  # the stdout file's tail
    assert log["logs"][1]["stdout"] == "30b9a48f44cd61cde329225bf1f647f2  -\n"
    for entry in log["logs"]:
        assert entry["start_time"] <= entry["end_time"]
    assert task["creation_time"] <= log["start_time"] <= log["logs"][0]["start_time"]
    assert log["logs"][1]["end_time"] <= log["end_time"]
    assert log["metadata"]["tesp_job_id"] == "tesp-" + task_id
    assert log["metadata"]["tesp_backend"].startswith("127.0.0.1:")
    assert log["metadata"]["tesp_running_since"] >= log["start_time"]
    assert get(api, task_id, "BASIC")["logs"][0]["logs"][0].get("stdout") is None


def test_executors_share_volumes_env_and_workdir(api):
    task_id = create(api, {
        "volumes": ["/shared"],
        "executors": [
            executor(["sh", "-c", 'echo "$GREETING from $(pwd)" > /shared/note'], workdir="/shared/work",
                     env={"GREETING": "hello world"}),
            executor(["cat", "/shared/note"], stderr="/shared/err.log"),
        ],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    assert task["logs"][0]["logs"][1]["stdout"] == "hello world from /shared/work\n"


def test_every_argument_reaches_the_program_unchanged(api):
    argv = ["a b", "it's", '"q"', "$HOME", "*", ";", "http://x", "./a", "", "`id`", "<", ">", "|", "é"]
    task_id = create(api, {"executors": [executor(["printf", "[%s]\\n", *argv])]})
    task = wait_for_state(api, task_id, "COMPLETE")
    assert task["logs"][0]["logs"][0]["stdout"] == "".join(f"[{a}]\n" for a in argv)


def test_a_failing_executor_stops_the_task(api):
    task_id = create(api, {"executors": [
        executor(["sh", "-c", "echo bad >&2; exit 7"]),
        executor(["echo", "never"]),
    ]})
    task = wait_for_state(api, task_id, "EXECUTOR_ERROR")
    logs = task["logs"][0]["logs"]
    assert len(logs) == 1
    assert logs[0]["exit_code"] == 7
    assert logs[0]["stderr"] == "bad\n"
    image = executor(["true"])["image"]
    assert task["logs"][0]["system_logs"] == [f"executors[0] ({image}) exited with code 7; executors[1] did not run"]


def test_ignore_error_runs_the_next_executor(api):
    task_id = create(api, {"executors": [
        executor(["sh", "-c", "exit 3"], ignore_error=True),
        executor(["echo", "after"]),
    ]})
    task = wait_for_state(api, task_id, "COMPLETE")
    logs = task["logs"][0]["logs"]
    assert [e["exit_code"] for e in logs] == [3, 0]
    assert logs[1]["stdout"] == "after\n"


def test_cancel_stops_the_running_process(api, pulsar):
    marker = f"{300 + uuid.uuid4().int % 1000 / 1000:.3f}"  # a sleep duration no other test uses
    task_id = create(api, {"executors": [executor(["sleep", marker])]})
    wait_for_state(api, task_id, "RUNNING")
    deadline = time.monotonic() + 10
    while not pulsar.job_processes(f"sleep {marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pulsar.job_processes(f"sleep {marker}"), "the executor never started"
    started = time.monotonic()
    response = requests.post(f"{api}/tasks/{task_id}:cancel", json={}, timeout=10)
    assert response.status_code == 200 and response.json() == {}
    task = wait_for_state(api, task_id, "CANCELED", timeout=10)
    assert time.monotonic() - started < 5
    assert task["logs"][0]["end_time"]
    deadline = time.monotonic() + 5
    while pulsar.job_processes(f"sleep {marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pulsar.job_processes(f"sleep {marker}"), "the executor process survived the cancel"


def test_a_cancel_racing_completion_ends_in_one_terminal_state(api):
    ids = [create(api, {"executors": [executor(["sleep", "0.2"])]}) for _ in range(6)]
    for index, task_id in enumerate(ids):
        time.sleep(0.05 * index)
        requests.post(f"{api}/tasks/{task_id}:cancel", json={}, timeout=10)
    for task_id in ids:
        task = wait_for_state(api, task_id, {"COMPLETE", "CANCELED"}, timeout=20)
        time.sleep(0.3)
        assert get(api, task_id)["state"] == task["state"]


@pytest.fixture()
def own_stack(tmp_path, mongodb_uri):
    """A Pulsar and a TESP of the test's own, which it may kill and restart."""
    pulsar = Pulsar(tmp_path / "pulsar").start()
    # Calls to a frozen Pulsar time out after 1 s instead of 30, so that outages show as failed calls.
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_own_" + uuid.uuid4().hex[:8],
                TESP_PULSAR__TIMEOUT_SECONDS="1").start()
    yield pulsar, tesp
    tesp.stop()
    pulsar.stop()


def test_tasks_survive_a_tesp_crash_and_run_once(own_stack):
    pulsar, tesp = own_stack
    # Each run appends a line to a file in the job's directory: two lines would mean two submissions.
    script = "echo run >> /data/runs; sleep 2; cat /data/runs"
    running = create(tesp.api, {"executors": [executor(["sh", "-c", script])], "volumes": ["/data"]})
    wait_for_state(tesp.api, running, "RUNNING")
    queued = [create(tesp.api, {"executors": [executor(["echo", str(i)])]}) for i in range(3)]
    tesp.kill()
    tesp.start()
    task = wait_for_state(tesp.api, running, "COMPLETE", timeout=30)
    assert task["logs"][0]["logs"][0]["stdout"] == "run\n"
    for index, task_id in enumerate(queued):
        assert wait_for_state(tesp.api, task_id, "COMPLETE")["logs"][0]["logs"][0]["stdout"] == f"{index}\n"


def test_a_canceling_task_is_finished_after_a_restart(own_stack):
    pulsar, tesp = own_stack
    task_id = create(tesp.api, {"executors": [executor(["sleep", "301.5"])]})
    wait_for_state(tesp.api, task_id, "RUNNING")
    os.kill(tesp.process.pid, signal.SIGSTOP)  # the engine cannot act on the cancel before it dies
    try:
        # With the process stopped the API cannot answer either: cancel straight through the store's state.
        from pymongo import MongoClient
        client = MongoClient(tesp.env["TESP_DB__MONGODB_URI"])
        client[tesp.env["TESP_DB__DATABASE"]]["tasks"].update_one(
            {"id": task_id, "state": "RUNNING"}, {"$set": {"state": "CANCELING"}})
    finally:
        tesp.kill()
    tesp.start()
    # The dead process's lease on the task expires first (engine.lease_seconds, 8 s in the test profile).
    wait_for_state(tesp.api, task_id, "CANCELED", timeout=30)
    assert not pulsar.job_processes("sleep 301.5")


def test_pulsar_unreachable_for_a_while_does_not_fail_the_task(own_stack):
    pulsar, tesp = own_stack
    task_id = create(tesp.api, {"executors": [executor(["sh", "-c", "sleep 3; echo done"])]})
    wait_for_state(tesp.api, task_id, "RUNNING")
    # Freeze the Pulsar server (not its jobs): it accepts no calls for 4 s, then answers again.
    server_group = pulsar.process.pid
    os.killpg(server_group, signal.SIGSTOP)
    time.sleep(4)
    os.killpg(server_group, signal.SIGCONT)
    task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=60)
    assert task["state"] == "COMPLETE", task
    assert task["logs"][0]["logs"][0]["stdout"] == "done\n"


def test_pulsar_restarted_mid_run_fails_the_task_clearly(own_stack):
    pulsar, tesp = own_stack
    task_id = create(tesp.api, {"executors": [executor(["sleep", "30"])]})
    wait_for_state(tesp.api, task_id, "RUNNING")
    time.sleep(1)
    pulsar.stop()  # Pulsar's shutdown ends its jobs; after a restart Pulsar 0.16 calls them "running" forever
    pulsar.start()
    task = wait_for_state(tesp.api, task_id, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=40)
    assert task["state"] == "SYSTEM_ERROR", task
    assert any("without finishing" in line for line in task["logs"][0]["system_logs"]), task


def test_a_pulsar_outage_longer_than_the_grace_period_fails_the_task_clearly(tmp_path, mongodb_uri):
    pulsar = Pulsar(tmp_path / "pulsar").start()
    # A 3 s grace, 1 s call timeouts and polls at least every second, so that the outage is seen at once.
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_grace_" + uuid.uuid4().hex[:8],
                TESP_PULSAR__TIMEOUT_SECONDS="1", TESP_ENGINE__TRANSIENT_GRACE_SECONDS="3",
                TESP_ENGINE__POLL_MAX_SECONDS="1").start()
    server_group = pulsar.process.pid
    try:
        # Shorter than the grace: the task carries on.
        short = create(tesp.api, {"executors": [executor(["sh", "-c", "sleep 3; echo done"])]})
        wait_for_state(tesp.api, short, "RUNNING")
        os.killpg(server_group, signal.SIGSTOP)
        time.sleep(1.5)
        os.killpg(server_group, signal.SIGCONT)
        assert wait_for_state(tesp.api, short, {"COMPLETE", "SYSTEM_ERROR"}, timeout=30)["state"] == "COMPLETE"

        # Longer than the grace: SYSTEM_ERROR, saying which Pulsar and for how long, while Pulsar is still down.
        long = create(tesp.api, {"executors": [executor(["sleep", "60"])]})
        wait_for_state(tesp.api, long, "RUNNING")
        os.killpg(server_group, signal.SIGSTOP)
        try:
            task = wait_for_state(tesp.api, long, {"COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"}, timeout=20)
        finally:
            os.killpg(server_group, signal.SIGCONT)
        assert task["state"] == "SYSTEM_ERROR", task
        message = " ".join(task["logs"][0]["system_logs"])
        assert "did not answer for longer than 3.0 seconds" in message and f":{pulsar.port}" in message, message
        assert pulsar.token not in message
    finally:
        tesp.stop()
        pulsar.stop()


def test_paths_below_existing_host_directories_work_as_cwl_tes_uses_them(api):
    # cwltool stages inputs at /var/lib/cwl/stg<uuid>/<name>; bwrap must make mount points below /var/lib.
    task_id = create(api, {
        "inputs": [{"path": "/var/lib/cwl/stg1/in.txt", "content": "hello\n"}],
        "executors": [executor(["cat", "/var/lib/cwl/stg1/in.txt"], workdir="/opt/tesp-work")],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    assert task["logs"][0]["logs"][0]["stdout"] == "hello\n"


def test_an_executor_the_runtime_cannot_start_is_a_system_error(api):
    task = wait_for_state(api, create(api, {"volumes": ["/proc/tesp-impossible"], "executors": [executor(["true"])]}),
                          "SYSTEM_ERROR")
    assert "executor 0 could not be started by bwrap" in " ".join(task["logs"][0]["system_logs"])
