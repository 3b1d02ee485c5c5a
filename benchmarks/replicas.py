"""TESP replicas on one store (benchmark, not a test).

1. Throughput of the whole: 500 trivial tasks POSTed at once (round-robin over the replicas' APIs) until every one
   is COMPLETE, with 1 and with 3 replicas on one store and two Pulsar servers; with the CPU each part used
   (the replicas together, the Pulsar servers with their jobs, which are their waited-for children, and the
   store), to say where the time goes.
2. Takeover after kill -9 of a replica holding running tasks: from the kill until every task it held is held by
   another replica (read from the store), 5 times, with the default lease (30 s) and scan interval (5 s).

Usage: replicas.py MONGODB_URI STORE_PID [TASKS]   (TESP_BINARY: the tesp binary; TASKS defaults to 500)
It starts its own Pulsar servers and TESP replicas with tests/integration/servers.py, and stops them.
"""
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from servers import Pulsar, Tesp  # noqa: E402
from queue_backend import CLOCK_TICKS, TERMINAL, cpu_seconds  # noqa: E402

IN_FLIGHT = ["INITIALIZING", "RUNNING", "PAUSED", "CANCELING"]


def session_cpu(pid: int) -> float:
    """CPU of `pid`'s session, counting what its live processes used and what their ended children used (a Pulsar
    server's ended job scripts, and through them their executors, which run in sessions of their own)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == pid:
                    total += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
            except (OSError, IndexError, ValueError):
                continue
    return total


def replicas(root: Path, mongodb_uri: str, pulsars, count: int, database: str, **settings) -> list:
    backends = [{"name": f"pulsar-{i}", "url": p.url, "token": p.token} for i, p in enumerate(pulsars)]
    started = []
    for index in range(count):
        directory = root / f"{database}-tesp{index}"
        directory.mkdir()
        started.append(Tesp(directory, mongodb_uri, pulsars[0], database, TESP_BACKENDS=json.dumps(backends),
                            TESP_LOG__LEVEL="warning", TESP_ENGINE__LEASE_SECONDS="30",
                            TESP_ENGINE__SCAN_INTERVAL_SECONDS="5", **settings).start())
    return started


def throughput(root: Path, mongodb_uri: str, store_pid: int, pulsars, count: int, tasks: int) -> dict:
    database = f"tesp_bench_replicas{count}_" + uuid.uuid4().hex[:6]
    tesps = replicas(root, mongodb_uri, pulsars, count, database)
    try:
        apis = [t.api for t in tesps]
        before = (time.monotonic(), sum(cpu_seconds(t.process.pid) for t in tesps),
                  sum(session_cpu(p.process.pid) for p in pulsars), cpu_seconds(store_pid))
        body = {"executors": [{"image": "alpine", "command": ["true"]}]}
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(
                lambda i: requests.post(apis[i % count] + "/tasks", json=body, timeout=60).json()["id"], range(tasks)))
        posted = time.monotonic() - before[0]
        collection = MongoClient(mongodb_uri)[database]["tasks"]
        while collection.count_documents({"state": {"$nin": sorted(TERMINAL)}}):
            time.sleep(0.5)
        after = (time.monotonic(), sum(cpu_seconds(t.process.pid) for t in tesps),
                 sum(session_cpu(p.process.pid) for p in pulsars), cpu_seconds(store_pid))
        elapsed = after[0] - before[0]
        states = collection.distinct("state")
        return {
            "replicas": count, "tasks": tasks, "states": states,
            "post_seconds": round(posted, 1), "all_complete_seconds": round(elapsed, 1),
            "tasks_per_second": round(tasks / elapsed, 2),
            "cpu_seconds": {"tesp_replicas": round(after[1] - before[1], 1),
                            "pulsar_and_jobs": round(after[2] - before[2], 1),
                            "store": round(after[3] - before[3], 1)},
        }
    finally:
        for tesp in tesps:
            tesp.stop()


def holder_pid(document):
    lease = document.get("_lease")
    return int(lease["holder"].split(":")[-2]) if lease else None


def takeovers(root: Path, mongodb_uri: str, pulsars, rounds: int = 5) -> list:
    database = "tesp_bench_takeover_" + uuid.uuid4().hex[:6]
    tesps = replicas(root, mongodb_uri, pulsars, 3, database)
    collection = MongoClient(mongodb_uri)[database]["tasks"]
    body = {"executors": [{"image": "alpine", "command": ["sleep", "600"]}]}
    times = []
    try:
        for round_ in range(rounds):
            victim = tesps[round_ % 3]
            ids = [requests.post(tesps[i % 3].api + "/tasks", json=body, timeout=60).json()["id"] for i in range(9)]
            while True:
                held = [d["id"] for d in collection.find({"id": {"$in": ids}, "state": "RUNNING"})
                        if holder_pid(d) == victim.process.pid]
                if held:
                    break
                time.sleep(0.2)
            time.sleep(1)
            held = [d["id"] for d in collection.find({"id": {"$in": ids}}) if holder_pid(d) == victim.process.pid]
            victim.kill()
            killed = time.monotonic()
            while any(holder_pid(d) in (victim.process.pid, None) for d in collection.find({"id": {"$in": held}})):
                time.sleep(0.1)
            times.append(time.monotonic() - killed)
            print(f"takeover {round_ + 1}: {len(held)} tasks in {times[-1]:.1f} s")
            victim.start()
            survivor = next(t for t in tesps if t is not victim)
            for task_id in ids:
                requests.post(f"{survivor.api}/tasks/{task_id}:cancel", timeout=60)
            while collection.count_documents({"id": {"$in": ids}, "state": {"$nin": sorted(TERMINAL)}}):
                time.sleep(0.5)
        return times
    finally:
        for tesp in tesps:
            tesp.stop()


def main() -> None:
    mongodb_uri, store_pid = sys.argv[1], int(sys.argv[2])
    tasks = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    root = Path(tempfile.mkdtemp(prefix="tesp-bench-replicas."))
    pulsars = [Pulsar(root / f"pulsar{i}", concurrent_jobs=8).start() for i in range(2)]
    try:
        for count in (1, 3):
            print(json.dumps(throughput(root, mongodb_uri, store_pid, pulsars, count, tasks)))
        if os.environ.get("TESP_REPLICA_TAKEOVERS", "1") == "0":
            return
        times = takeovers(root, mongodb_uri, pulsars)
        print(f"takeover after kill -9 (lease 30 s, scan 5 s), 5 runs: median {statistics.median(times):.1f} s, "
              f"min {min(times):.1f} s, max {max(times):.1f} s")
    finally:
        for pulsar in pulsars:
            pulsar.stop()


if __name__ == "__main__":
    main()
