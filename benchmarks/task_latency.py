"""Task latency through the whole stack: POST /tasks → COMPLETE, for a trivial task (`true` under bubblewrap).

Measures, against a running TESP (URL as the first argument):
  - sequential: N tasks one after another; per task the client-observed time from POST to COMPLETE (the client
    polls every 5 ms) and the server-recorded time (logs[0].end_time - creation_time);
  - burst: M tasks submitted at once; the time until all are COMPLETE.
Prints the numbers; it asserts nothing (benchmarks are not tests).
"""
import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

TERMINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}
TASK = {"name": "bench", "executors": [{"image": "alpine", "command": ["true"]}]}


def parse(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def run_one(session: requests.Session, api: str) -> tuple:
    start = time.perf_counter()
    task_id = session.post(api + "/tasks", json=TASK).json()["id"]
    while True:
        state = session.get(f"{api}/tasks/{task_id}").json()["state"]
        if state in TERMINAL:
            break
        time.sleep(0.005)
    client = time.perf_counter() - start
    full = session.get(f"{api}/tasks/{task_id}", params={"view": "FULL"}).json()
    assert full["state"] == "COMPLETE", full
    server = parse(full["logs"][0]["end_time"]) - parse(full["creation_time"])
    return client, server


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    api = args.url.rstrip("/") + "/ga4gh/tes/v1"
    session = requests.Session()
    run_one(session, api)  # warm-up: connections, first job directory
    results = [run_one(session, api) for _ in range(args.count)]
    client = [c * 1000 for c, _ in results]
    server = [s * 1000 for _, s in results]
    print(f"POST -> COMPLETE, {args.count} trivial tasks one after another:")
    print(f"  client-observed: median {statistics.median(client):.0f} ms, p95 {percentile(client, 0.95):.0f} ms, "
          f"min {min(client):.0f} ms, max {max(client):.0f} ms")
    print(f"  server-recorded: median {statistics.median(server):.0f} ms, p95 {percentile(server, 0.95):.0f} ms")

    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda _: requests.post(api + "/tasks", json=TASK).json()["id"], range(args.burst)))
    submitted = time.perf_counter() - start
    pending = set(ids)
    while pending:
        for task_id in list(pending):
            if session.get(f"{api}/tasks/{task_id}").json()["state"] in TERMINAL:
                pending.discard(task_id)
        time.sleep(0.05)
    total = time.perf_counter() - start
    states = [session.get(f"{api}/tasks/{i}").json()["state"] for i in ids]
    print(f"burst: {args.burst} tasks submitted in {submitted:.2f} s; all terminal after {total:.2f} s "
          f"({states.count('COMPLETE')} COMPLETE)")


if __name__ == "__main__":
    main()
