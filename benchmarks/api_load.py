"""API load through a real TESP (engine off: tasks stay QUEUED) and MongoDB-compatible store.

Measures POST /tasks throughput and latency at concurrency 16 (wrk), GET one task in each view, listing at 10,000
and 100,000 stored tasks, TESP's RSS idle and under load, and how request time splits between the store and TESP
(from TESP's own /metrics). Prints numbers; asserts nothing.
Usage: api_load.py URL TESP_PID
"""
import argparse
import json
import re
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

TASK = {"name": "load", "tags": {"bench": "yes"},
        "inputs": [{"path": "/data/in", "content": "x" * 200}],
        "executors": [{"image": "alpine", "command": ["md5sum", "/data/in"]}]}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rollup_mb(pid: int) -> dict:
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return values


def memory(pid: int) -> str:
    """RSS, and what it is made of: anonymous memory (heap, stacks: RssAnon) and mapped files (the binary and shared
    libraries, clean pages the kernel can drop and other processes share); then PSS (shared pages divided among
    the processes that map them) and USS (the pages only TESP maps: what its exit would free)."""
    rollup = rollup_mb(pid)
    uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    return (f"{rss_mb(pid):.1f} MB (anonymous {rss_mb(pid, 'RssAnon'):.1f} MB, "
            f"mapped files {rss_mb(pid, 'RssFile'):.1f} MB); PSS {rollup.get('Pss', 0):.1f} MB, USS {uss:.1f} MB")


def wrk(url: str, seconds: int, script: str = None) -> dict:
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": latency.get("50"), "p99": latency.get("99"), "errors": int(errors.group(1)) if errors else 0}


def metric_sum_count(text: str, name: str) -> tuple:
    # Label values can hold braces (the route "/tasks/{id}"), so the label set is matched greedily up to the value.
    total = sum(float(v) for v in re.findall(rf"^{name}_sum(?:\{{.*\}})? (\S+)$", text, re.M))
    count = sum(float(v) for v in re.findall(rf"^{name}_count(?:\{{.*\}})? (\S+)$", text, re.M))
    return total, count


def timed(session, url, params=None, repeat=50) -> tuple:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = session.get(url, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def fill(api: str, target: int) -> None:
    """POSTs tasks until the store holds `target` of them."""
    have = count_tasks(api)
    def post(_):
        with requests.Session() as session:
            for _ in range(250):
                session.post(api + "/tasks", json=TASK)
    missing = max(0, target - have)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post, range((missing + 249) // 250)))


def count_tasks(api: str) -> int:
    total, token = 0, None
    with requests.Session() as session:
        while True:
            page = session.get(api + "/tasks", params={"page_size": 2048, **({"page_token": token} if token else {})}).json()
            total += len(page["tasks"])
            token = page.get("next_page_token")
            if not token:
                return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("pid", type=int)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--sizes", default="10000",
                        help="comma-separated task counts to list at (100000 takes long on SecantusDB, see BENCHMARKS.md)")
    args = parser.parse_args()
    api = args.url.rstrip("/") + "/ga4gh/tes/v1"
    session = requests.Session()
    print(f"TESP RSS idle: {memory(args.pid)}")

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                  f"wrk.body = [[{json.dumps(TASK)}]]\n")
    peak = {"rss": 0.0}
    done = threading.Event()
    def watch():
        while not done.is_set():
            peak["rss"] = max(peak["rss"], rss_mb(args.pid))
            time.sleep(0.1)
    watcher = threading.Thread(target=watch)
    watcher.start()
    before = session.get(args.url + "/metrics").text
    post = wrk(api + "/tasks", args.seconds, lua.name)
    after = session.get(args.url + "/metrics").text
    done.set()
    watcher.join()
    print(f"POST /tasks, 16 connections, {args.seconds} s: {post['rps']:.0f} req/s, p50 {post['p50']}, "
          f"p99 {post['p99']}, non-2xx {post['errors']}; TESP peak RSS {peak['rss']:.1f} MB")
    store_sum, store_count = (a - b for a, b in zip(metric_sum_count(after, "tesp_store_call_duration_seconds"),
                                                     metric_sum_count(before, "tesp_store_call_duration_seconds")))
    http_sum, http_count = (a - b for a, b in zip(metric_sum_count(after, "http_server_request_duration"),
                                                   metric_sum_count(before, "http_server_request_duration")))
    if http_count and store_count:
        per_request = http_sum / http_count * 1000
        in_store = store_sum / http_count * 1000
        print(f"  time per request: {per_request:.2f} ms, of which in store calls {in_store:.2f} ms "
              f"({100 * in_store / per_request:.0f}%), in TESP {per_request - in_store:.2f} ms")

    task_id = session.post(api + "/tasks", json=TASK).json()["id"]
    for view in ("MINIMAL", "BASIC", "FULL"):
        result = wrk(f"{api}/tasks/{task_id}?view={view}", 5)
        print(f"GET /tasks/{{id}}?view={view}: {result['rps']:.0f} req/s, p50 {result['p50']}, p99 {result['p99']}")

    for target in (int(size) for size in args.sizes.split(",")):
        fill(api, target)
        stored = count_tasks(api)
        repeat = 50 if target <= 10_000 else 5
        first = timed(session, api + "/tasks", {"page_size": 256, "view": "BASIC"}, repeat)
        # A later page: the one after the first 2,048 tasks (the largest page the API gives).
        later = session.get(api + "/tasks", params={"page_size": 2048}).json()
        deep = timed(session, api + "/tasks", {"page_size": 256, "view": "BASIC", "page_token": later["next_page_token"]}, repeat)
        filtered = timed(session, api + "/tasks", {"page_size": 256, "tag_key": "bench", "tag_value": "yes", "name_prefix": "lo"}, repeat)
        print(f"list at {stored} tasks (page of 256, BASIC): first page median {first[0]:.1f} ms / p95 {first[1]:.1f} ms; "
              f"page after 2,048 tasks {deep[0]:.1f} / {deep[1]:.1f} ms; with tag+name filters {filtered[0]:.1f} / {filtered[1]:.1f} ms")
    print(f"TESP RSS after the load: {memory(args.pid)}")


if __name__ == "__main__":
    main()
