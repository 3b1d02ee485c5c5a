"""A Pulsar backend over REST beside one behind RabbitMQ, in one TESP (benchmark, not a test).

1. POST -> COMPLETE of a trivial task, 20 times on each backend (one at a time): median and p95.
2. N sleep jobs in flight on each backend in turn (Pulsar runs 4 at once, so most wait in its queue): over a
   60 s window in steady state, TESP's and Pulsar's CPU per second, TESP's status calls per second (REST) and
   messages per second (queue).

Usage: queue_backend.py MONGODB_URI [N]   (TESP_BINARY: the tesp binary; N defaults to 2000)
It starts its own RabbitMQ, Pulsar servers and TESP with tests/integration/servers.py, and stops them.
"""
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from servers import Pulsar, PulsarQueueMode, RabbitMQ, Tesp  # noqa: E402

TERMINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children (Pulsar's job scripts are its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def session_cpu(pid: int) -> float:
    """CPU of every process in `pid`'s session (Pulsar and what it started)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == pid:
                    total += sum(int(v) for v in fields[11:13]) / CLOCK_TICKS
            except (OSError, IndexError, ValueError):
                continue
    return total


def metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=30).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.M))


def task(backend: str, command: list) -> dict:
    return {"executors": [{"image": "alpine", "command": command}],
            "resources": {"backend_parameters": {"tesp_backend": backend}}}


def latency(api: str, backend: str, runs: int = 20) -> list:
    times = []
    for _ in range(runs):
        start = time.monotonic()
        task_id = requests.post(api + "/tasks", json=task(backend, ["true"]), timeout=30).json()["id"]
        while True:
            state = requests.get(f"{api}/tasks/{task_id}", params={"view": "MINIMAL"}, timeout=30).json()["state"]
            if state in TERMINAL:
                break
            time.sleep(0.02)
        assert state == "COMPLETE", state
        times.append(time.monotonic() - start)
    return times


def in_flight(tesp: Tesp, backend: str, pulsar_pid: int, n: int, window: float = 60.0) -> dict:
    api = tesp.api
    start = time.monotonic()
    ids = [requests.post(api + "/tasks", json=task(backend, ["sleep", "3600"]), timeout=60).json()["id"] for _ in range(n)]
    created = time.monotonic() - start
    # Every job submitted (INITIALIZING or RUNNING), then a settling pause.
    while True:
        page = requests.get(api + "/tasks", params={"state": "QUEUED", "page_size": 1}, timeout=60).json()
        if not page.get("tasks"):
            break
        time.sleep(1)
    submitted = time.monotonic() - start
    time.sleep(10)
    tesp_pid = tesp.process.pid
    before = (time.monotonic(), cpu_seconds(tesp_pid), session_cpu(pulsar_pid),
              metric(tesp.url, "tesp_pulsar_poll_duration_seconds_count"), metric(tesp.url, "tesp_amqp_published_total"))
    time.sleep(window)
    after = (time.monotonic(), cpu_seconds(tesp_pid), session_cpu(pulsar_pid),
             metric(tesp.url, "tesp_pulsar_poll_duration_seconds_count"), metric(tesp.url, "tesp_amqp_published_total"))
    elapsed = after[0] - before[0]
    result = {
        "tasks": n, "post_seconds": round(created, 1), "all_submitted_seconds": round(submitted, 1),
        "tesp_cpu_percent_of_a_core": round(100 * (after[1] - before[1]) / elapsed, 2),
        "pulsar_cpu_percent_of_a_core": round(100 * (after[2] - before[2]) / elapsed, 2),
        "status_calls_per_second": round((after[3] - before[3]) / elapsed, 2),
        "messages_published_per_second": round((after[4] - before[4]) / elapsed, 2),
    }
    for task_id in ids:
        requests.post(f"{api}/tasks/{task_id}:cancel", timeout=60)
    return result


def main() -> None:
    mongodb_uri = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    root = Path(tempfile.mkdtemp(prefix="tesp-bench-queue."))
    broker = RabbitMQ(root / "rabbitmq").start()
    rest = Pulsar(root / "rest", concurrent_jobs=4).start()
    queued = PulsarQueueMode(root / "queued", broker.url, concurrent_jobs=4).start()
    backends = [{"name": "rest", "url": rest.url, "token": rest.token},
                {"name": "queue", "transport": "amqp", "url": broker.url}]
    tesp = Tesp(root, mongodb_uri, rest, database="tesp_bench_queue_" + uuid.uuid4().hex[:6],
                TESP_BACKENDS=json.dumps(backends), TESP_LOG__LEVEL="warning",
                TESP_ENGINE__TRANSIENT_GRACE_SECONDS="600", TESP_ENGINE__HEARTBEAT_SECONDS="10",
                TESP_ENGINE__HEARTBEAT_TIMEOUT_SECONDS="120").start()
    try:
        for backend in ("rest", "queue"):
            times = latency(tesp.api, backend)
            print(f"{backend}: POST -> COMPLETE of a trivial task, 20 runs: median {statistics.median(times):.3f} s, "
                  f"p95 {sorted(times)[int(0.95 * len(times)) - 1]:.3f} s")
        for backend, pulsar in (("rest", rest), ("queue", queued)):
            result = in_flight(tesp, backend, pulsar.process.pid, n)
            print(f"{backend}: {json.dumps(result)}")
            # Let the cancels go through before the next backend is measured.
            while requests.get(tesp.api + "/tasks", params={"state": "CANCELING", "page_size": 1}, timeout=60).json().get("tasks"):
                time.sleep(2)
        print(f"TESP RSS at the end: {int(Path(f'/proc/{tesp.process.pid}/status').read_text().split('VmRSS:')[1].split()[0]) // 1024} MiB")
    finally:
        tesp.stop()
        queued.stop()
        rest.stop()
        broker.stop_all()


if __name__ == "__main__":
    main()
