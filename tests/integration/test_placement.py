"""Placement over two real Pulsar servers: least-loaded spreads the tasks, a server that stops gets no new ones, and
the settings' [[backends]] tables (from TESP_BACKENDS) name them."""
import json
import time
import uuid
from collections import Counter

import requests

from helpers import TERMINAL, create, executor, get, wait_for_state
from servers import Pulsar, Tesp


def backends_json(*servers) -> str:
    return json.dumps([{"name": name, "url": pulsar.url, "token": pulsar.token} for name, pulsar in servers])


def wait_all(api: str, ids, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    done = {}
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tasks not done after {timeout}s"
        for task_id in list(pending):
            task = get(api, task_id, "FULL")
            if task["state"] in TERMINAL:
                done[task_id] = task
                pending.discard(task_id)
        time.sleep(0.2)
    return done


def test_two_pulsars_share_tasks_and_a_stopped_one_gets_none(tmp_path, mongodb_uri):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "tesp").mkdir()
    a = Pulsar(tmp_path / "a").start()
    b = Pulsar(tmp_path / "b").start()
    tesp = Tesp(tmp_path / "tesp", mongodb_uri, a, database="tesp_place_" + uuid.uuid4().hex[:8],
                TESP_BACKENDS=backends_json(("site-a", a), ("site-b", b)),
                TESP_ENGINE__HEALTH_INTERVAL_SECONDS="0.5", TESP_ENGINE__HEALTH_TIMEOUT_SECONDS="2.0").start()
    try:
        info = requests.get(tesp.api + "/service-info", timeout=10).json()
        assert "tesp_backend" in info["tesResources_backend_parameters"]

        ids = [create(tesp.api, {"executors": [executor(["true"])]}) for _ in range(100)]
        done = wait_all(tesp.api, ids, timeout=600)
        assert Counter(task["state"] for task in done.values()) == {"COMPLETE": 100}
        placed = Counter(task["logs"][0]["metadata"]["tesp_backend"] for task in done.values())
        assert set(placed) == {"site-a", "site-b"} and 40 <= placed["site-a"] <= 60, placed

        # A task can be pinned to one of them.
        pinned = create(tesp.api, {"resources": {"backend_parameters": {"tesp_backend": "site-b"}},
                                   "executors": [executor(["true"])]})
        assert wait_for_state(tesp.api, pinned, "COMPLETE", timeout=60)["logs"][0]["metadata"]["tesp_backend"] == "site-b"
        unknown = requests.post(tesp.api + "/tasks", json={"resources": {"backend_parameters": {"tesp_backend": "site-c"}},
                                                           "executors": [executor(["true"])]}, timeout=10)
        assert unknown.status_code == 400 and "tesp_backend" in unknown.text

        # site-a stops: once its health check fails, every new task goes to site-b, and none fails.
        a.stop()
        deadline = time.monotonic() + 30
        while requests.get(tesp.url + "/readyz", timeout=10).status_code != 503:
            assert time.monotonic() < deadline, "readyz never noticed that site-a stopped"
            time.sleep(0.2)
        assert requests.get(tesp.url + "/readyz", timeout=10).json()["checks"]["backend site-a"] == "unavailable"
        later = [create(tesp.api, {"executors": [executor(["true"])]}) for _ in range(10)]
        done = wait_all(tesp.api, later, timeout=300)
        assert Counter(task["state"] for task in done.values()) == {"COMPLETE": 10}
        assert {task["logs"][0]["metadata"]["tesp_backend"] for task in done.values()} == {"site-b"}
    finally:
        tesp.stop()
        a.stop()
        b.stop()


def test_data_locality_places_tasks_near_their_inputs(tmp_path, mongodb_uri, http_files):
    root, base = http_files  # http://127.0.0.1:PORT; the same server is also "localhost"
    (root / "near.txt").write_text("near\n" * 1000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "tesp").mkdir()
    a = Pulsar(tmp_path / "a").start()
    b = Pulsar(tmp_path / "b").start()
    backends = [{"name": "site-a", "url": a.url, "token": a.token, "near": ["localhost"]},
                {"name": "site-b", "url": b.url, "token": b.token, "near": ["127.0.0.1"]}]
    tesp = Tesp(tmp_path / "tesp", mongodb_uri, a, database="tesp_near_" + uuid.uuid4().hex[:8],
                TESP_BACKENDS=json.dumps(backends), TESP_ENGINE__PLACEMENT="data-locality").start()
    try:
        by_host = {"localhost": base.replace("127.0.0.1", "localhost"), "127.0.0.1": base}
        ids = {host: [create(tesp.api, {"inputs": [{"url": f"{prefix}/near.txt", "path": "/data/in"}],
                                        "executors": [executor(["wc", "-c", "/data/in"])]}) for _ in range(4)]
               for host, prefix in by_host.items()}
        done = wait_all(tesp.api, [i for group in ids.values() for i in group], timeout=300)
        assert Counter(task["state"] for task in done.values()) == {"COMPLETE": 8}
        for host, expected in (("localhost", "site-a"), ("127.0.0.1", "site-b")):
            assert {done[i]["logs"][0]["metadata"]["tesp_backend"] for i in ids[host]} == {expected}
    finally:
        tesp.stop()
        a.stop()
        b.stop()
