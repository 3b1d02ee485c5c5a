"""Several TESP replicas over one store (one SecantusDB), each serving the API and running an engine: every task
is driven by the replica that holds its lease; a replica killed with kill -9 has its tasks taken over once its
leases expire, and a replica frozen (SIGSTOP) past its leases writes nothing when it resumes."""
import json
import os
import re
import signal
import time
import uuid

import pytest
import requests
from pymongo import MongoClient

from helpers import TERMINAL, create, executor, get, wait_for_state
from servers import Pulsar, Tesp

LEASE_SECONDS = 4.0
SCAN_SECONDS = 1.0
# Each run appends a line to a file in its job's directory: a job that ran twice prints two lines.
RUN_ONCE = "echo run >> /data/runs; sleep {seconds}; cat /data/runs"


def start_replicas(directory, mongodb_uri, pulsar, count: int = 3, **settings) -> tuple:
    database = "tesp_replicas_" + uuid.uuid4().hex[:8]
    tesps = []
    for index in range(count):
        (directory / f"tesp{index}").mkdir()
        tesps.append(Tesp(directory / f"tesp{index}", mongodb_uri, pulsar, database,
                          TESP_ENGINE__LEASE_SECONDS=str(LEASE_SECONDS),
                          TESP_ENGINE__SCAN_INTERVAL_SECONDS=str(SCAN_SECONDS), **settings).start())
    return tesps, MongoClient(mongodb_uri)[database]["tasks"]


def stop_replicas(tesps) -> None:
    for tesp in tesps:
        if tesp.process and tesp.process.poll() is None:
            os.kill(tesp.process.pid, signal.SIGCONT)  # a test that failed while one was frozen
        tesp.stop()


@pytest.fixture
def replicas(tmp_path, mongodb_uri):
    pulsar = Pulsar(tmp_path / "pulsar", concurrent_jobs=12).start()
    tesps, tasks = start_replicas(tmp_path, mongodb_uri, pulsar)
    yield pulsar, tesps, tasks
    stop_replicas(tesps)
    pulsar.stop()


def holder_pid(document) -> int | None:
    """The process id in a stored lease (holders are `host:pid:random`)."""
    lease = document.get("_lease")
    return int(lease["holder"].split(":")[-2]) if lease else None


def held_by(tasks, pid: int, ids) -> list:
    return [d["id"] for d in tasks.find({"id": {"$in": list(ids)}}) if holder_pid(d) == pid
            and d["state"] not in TERMINAL]


def metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    values = re.findall(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.M)
    return sum(float(v) for v in values)


def job(seconds: float) -> dict:
    return {"executors": [executor(["sh", "-c", RUN_ONCE.format(seconds=seconds)])], "volumes": ["/data"]}


def test_replicas_share_the_tasks_and_a_killed_ones_are_taken_over_and_run_once(replicas):
    pulsar, tesps, tasks = replicas
    # Round-robin over the three APIs, as a load balancer would.
    ids = [create(tesps[i % 3].api, job(2)) for i in range(60)]
    pids = {tesp.process.pid for tesp in tesps}
    holders = set()
    victim = tesps[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        holders |= {holder_pid(d) for d in tasks.find({"id": {"$in": ids}, "_lease": {"$exists": True}})}
        if len(held_by(tasks, victim.process.pid, ids)) >= 3:
            break
        time.sleep(0.1)
    orphans = held_by(tasks, victim.process.pid, ids)
    assert len(orphans) >= 3, "the first replica never drove three tasks at once"
    victim.kill()
    killed = time.monotonic()
    while held_by(tasks, victim.process.pid, orphans):
        assert time.monotonic() - killed < 60, "the killed replica's tasks were never taken over"
        holders |= {holder_pid(d) for d in tasks.find({"id": {"$in": ids}, "_lease": {"$exists": True}})}
        time.sleep(0.1)
    takeover = time.monotonic() - killed
    print(f"takeover of {len(orphans)} tasks after kill -9: {takeover:.1f} s "
          f"(lease {LEASE_SECONDS} s, scan {SCAN_SECONDS} s)")
    # Not before the lease could have expired (renewals come every fifth of it), and not long after it.
    assert LEASE_SECONDS * 0.8 - 0.5 <= takeover <= LEASE_SECONDS + SCAN_SECONDS + 10

    survivor = tesps[1]
    for task_id in ids:
        task = wait_for_state(survivor.api, task_id, TERMINAL, timeout=180)
        assert task["state"] == "COMPLETE", task
        assert task["logs"][0]["logs"][0]["stdout"] == "run\n", task  # each job ran once
    # Every replica drove tasks; the two left give every lease up just after each task's end.
    assert pids <= holders
    deadline = time.monotonic() + 30
    while tasks.count_documents({"id": {"$in": ids}, "_lease": {"$exists": True}}):
        assert time.monotonic() < deadline, "leases of ended tasks were not given up"
        time.sleep(0.1)
    # The survivors say so in /metrics: leases taken (resumed or taken over), none held once all ended.
    taken = sum(metric(t.url, "tesp_task_leases_taken_total") for t in tesps[1:])
    assert taken >= len(orphans), taken
    assert all(metric(t.url, "tesp_task_leases_held") == 0 for t in tesps[1:])


def test_a_replica_frozen_past_its_lease_writes_nothing_when_it_resumes(replicas):
    pulsar, tesps, tasks = replicas
    frozen, other = tesps[0], tesps[1]
    tesps[2].stop()  # two are enough
    ids = [create(frozen.api, job(8)) for _ in range(4)]
    for task_id in ids:
        wait_for_state(frozen.api, task_id, "RUNNING", timeout=60)
    mine = held_by(tasks, frozen.process.pid, ids)
    assert mine, "the replica the tasks were created on drives none of them"
    os.kill(frozen.process.pid, signal.SIGSTOP)
    try:
        # The other replica takes them over once the leases expire, and ends them.
        for task_id in ids:
            task = wait_for_state(other.api, task_id, TERMINAL, timeout=60)
            assert task["state"] == "COMPLETE", task
            assert task["logs"][0]["logs"][0]["stdout"] == "run\n", task
        # The other replica gives each lease up just after the task's end: wait for that, then take the snapshot.
        deadline = time.monotonic() + 30
        while tasks.count_documents({"id": {"$in": ids}, "_lease": {"$exists": True}}):
            assert time.monotonic() < deadline, "the leases of the ended tasks were not given up"
            time.sleep(0.1)
        before = {d["id"]: d for d in tasks.find({"id": {"$in": ids}})}
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
    # Resumed, its runners wake to jobs that ended and were cleaned on Pulsar: with its leases lapsed, they stop
    # without a write (without the fence they would record SYSTEM_ERROR "the job is gone").
    deadline = time.monotonic() + 3 * LEASE_SECONDS
    while time.monotonic() < deadline:
        assert {d["id"]: d for d in tasks.find({"id": {"$in": ids}})} == before
        time.sleep(0.2)
    assert "Task leases lapsed" in frozen.log()
    assert metric(frozen.url, "tesp_task_lease_lapses_total") >= 1
    assert get(frozen.api, ids[0])["state"] == "COMPLETE"  # and it serves the API as before


def test_replicas_placing_at_once_never_give_a_backend_more_than_max_jobs(tmp_path, mongodb_uri):
    pulsar = Pulsar(tmp_path / "pulsar", concurrent_jobs=8).start()
    backends = json.dumps([{"name": "site", "url": pulsar.url, "token": pulsar.token, "max_jobs": 2}])
    tesps, tasks = start_replicas(tmp_path, mongodb_uri, pulsar, TESP_BACKENDS=backends)
    try:
        # Every replica is told of its own tasks at once, and places them at the same moment as the others.
        ids = [create(tesps[i % 3].api, {"executors": [executor(["sleep", "0.5"])]}) for i in range(12)]
        in_flight = {"$in": ["INITIALIZING", "RUNNING", "PAUSED", "CANCELING"]}
        most = 0
        deadline = time.monotonic() + 120
        while tasks.count_documents({"id": {"$in": ids}, "state": {"$nin": list(TERMINAL)}}):
            assert time.monotonic() < deadline, "the tasks did not end"
            most = max(most, tasks.count_documents({"_backend": "site", "state": in_flight}))
            time.sleep(0.02)
        print(f"most jobs in flight on a backend with max_jobs 2, three replicas placing: {most}")
        assert most == 2
        assert [get(tesps[0].api, i)["state"] for i in ids] == ["COMPLETE"] * 12
        assert tasks.count_documents({"_slot": {"$exists": True}}) == 0  # every slot given back
    finally:
        stop_replicas(tesps)
        pulsar.stop()
