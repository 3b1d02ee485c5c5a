"""Many long tasks in flight on one Pulsar: how fast TESP places them, what it costs while they run (CPU, status
calls a second, the periodic scan of the store), and whether any fails though nothing is wrong. (Pulsar 0.16's
queued_python manager does not hold jobs back: its workers pass `montior=` for `monitor=`, so every job runs at once
whatever `num_concurrent_jobs` says.)

usage: engine_scale.py TESP_URL TESP_PID COUNT MEASURE_SECONDS PULSAR_STAGING_DIRECTORY

Prints: placement time and rate, TESP's CPU (% of one core), the status calls a second to the backend and the cost of
a scan (store calls, milliseconds) while all are in flight, the state counts, then cancels every task and prints how long that took. A benchmark, not a test."""
import glob
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

url, pid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
measure = float(sys.argv[4])
# Submitted as Pulsar sees it: a job directory with Pulsar's `submitted` marker (the job may wait in its queue).
pulsar_staging = sys.argv[5]
api = url + "/ga4gh/tes/v1"
session = requests.Session()
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_calls() -> float:
    """Status calls made so far (the engine's poll timer count in /metrics)."""
    text = session.get(url + "/metrics", timeout=30).text
    match = re.search(r"^tesp_pulsar_poll_duration_seconds_count(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else float("nan")


def scan_totals() -> dict:
    """Per kind of scan (full, queued_and_canceling): scans, seconds spent and store calls made so far."""
    text = session.get(url + "/metrics", timeout=30).text
    totals = {}
    for kind in ("full", "queued_and_canceling"):
        def value(name: str) -> float:
            match = re.search(rf'^{name}\{{kind="{kind}"\}} ([0-9.e+-]+)$', text, re.M)
            return float(match.group(1)) if match else 0.0
        totals[kind] = (value("tesp_scan_duration_seconds_count"), value("tesp_scan_duration_seconds_sum"),
                        value("tesp_scan_store_calls_total"))
    return totals


def states() -> dict:
    counts = {}
    for state in ("QUEUED", "INITIALIZING", "RUNNING", "COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELING", "CANCELED"):
        total, token = 0, None
        while True:
            params = {"state": state, "page_size": 2048}
            if token:
                params["page_token"] = token
            page = session.get(api + "/tasks", params=params, timeout=60).json()
            total += len(page.get("tasks", []))
            token = page.get("next_page_token")
            if not token:
                break
        if total:
            counts[state] = total
    return counts


task = {"executors": [{"image": "ubuntu:24.04", "command": ["sleep", "900"]}]}
started = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    ids = list(pool.map(lambda _: session.post(api + "/tasks", json=task, timeout=60).json()["id"], range(count)))
created = time.monotonic() - started
print(f"{count} tasks created in {created:.1f} s ({count / created:.0f}/s)")

def submitted() -> int:
    return len(glob.glob(os.path.join(pulsar_staging, "tesp-*", "submitted")))


# Listing every task's state costs the store as much as placing them at 10,000: count Pulsar's markers every 2 s
# and read the states only every 30 s (and print the progress then).
counts, read_at, ended = {}, 0.0, 0
while True:
    if time.monotonic() - read_at > 30:
        counts, read_at = states(), time.monotonic()
        # Placed: every task submitted to Pulsar or already ended (a task that failed counts as placed).
        ended = sum(counts.get(state, 0) for state in ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED"))
        print(f"  {time.monotonic() - started:.0f} s: {submitted()} submitted, {counts}", flush=True)
    if submitted() + ended >= count:
        counts = states()
        break
    if time.monotonic() - started > float(os.environ.get("TESP_SCALE_PLACEMENT_LIMIT_SECONDS", "3600")):
        print("not all placed within the limit:", counts)
        break
    time.sleep(2)
placed = time.monotonic() - started
print(f"all {count} placed and submitted to Pulsar in {placed:.0f} s ({count / placed:.1f}/s): {counts}")

cpu0, calls0, scans0, t0 = cpu_seconds(), status_calls(), scan_totals(), time.monotonic()
time.sleep(measure)
cpu1, calls1, scans1, t1 = cpu_seconds(), status_calls(), scan_totals(), time.monotonic()
print(f"in flight for {t1 - t0:.0f} s: TESP CPU {100 * (cpu1 - cpu0) / (t1 - t0):.1f} % of one core, "
      f"{(calls1 - calls0) / (t1 - t0):.1f} status calls/s to the backend")
for kind in scans1:
    scans = scans1[kind][0] - scans0[kind][0]
    if scans:
        seconds, calls = scans1[kind][1] - scans0[kind][1], scans1[kind][2] - scans0[kind][2]
        print(f"  scans ({kind}): {scans:.0f}, {calls / scans:.1f} store calls and {1000 * seconds / scans:.1f} ms each")
counts = states()
print("states:", counts)
print(f"failed though nothing was wrong: {counts.get('SYSTEM_ERROR', 0) + counts.get('EXECUTOR_ERROR', 0)}")

started = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda task_id: session.post(f"{api}/tasks/{task_id}:cancel", json={}, timeout=60), ids))
while True:
    counts = states()
    if set(counts) <= {"CANCELED", "COMPLETE", "SYSTEM_ERROR", "EXECUTOR_ERROR"} or time.monotonic() - started > 1800:
        break
    time.sleep(5)
print(f"all canceled in {time.monotonic() - started:.0f} s: {counts}")
