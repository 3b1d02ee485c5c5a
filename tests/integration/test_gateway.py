"""Gateway mode: a TESP whose backend is another TESP (kind = "tes"), each with its own database, real Pulsar."""
import json
import time
import uuid

import requests

from helpers import create, executor, get, wait_for_state
from servers import Tesp


def test_a_gateway_runs_the_md5sum_task_on_a_remote_tes_and_forwards_cancel(tmp_path, mongodb_uri, pulsar, tesp_server, http_files):
    root, base = http_files
    (root / "gateway-in.txt").write_text("gateway\n")
    output = f"out-{uuid.uuid4().hex[:8]}.txt"
    gateway = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_gw_" + uuid.uuid4().hex[:8],
                   TESP_BACKENDS=json.dumps([{"name": "remote", "kind": "tes", "url": tesp_server.url}])).start()
    try:
        task_id = create(gateway.api, {
            "name": "md5 through a gateway",
            "inputs": [{"url": f"{base}/gateway-in.txt", "path": "/data/in"}],
            "outputs": [{"url": f"{base}/{output}", "path": "/data/md5"}],
            "executors": [executor(["md5sum", "/data/in"], stdout="/data/md5")],
        })
        task = wait_for_state(gateway.api, task_id, "COMPLETE", timeout=120)
        log = task["logs"][0]
        remote_id = log["metadata"]["tesp_remote_id"]
        assert log["metadata"]["tesp_backend"] == "remote"
        assert [e["exit_code"] for e in log["logs"]] == [0]
        assert log["logs"][0]["stdout"] == "6381cdd5b8701a8a50f5efa56daa573b  /data/in\n"  # md5 of "gateway\n"
        assert [o["url"] for o in log["outputs"]] == [f"{base}/{output}"]
        # The remote server ran it, tagged with where it came from; the published file is the executor's output.
        remote = get(tesp_server.api, remote_id)
        assert remote["state"] == "COMPLETE" and remote["tags"]["tesp_task_id"] == task_id
        assert (root / output).read_text() == log["logs"][0]["stdout"]

        # Cancel goes through: the remote task is canceled too.
        sleeper = create(gateway.api, {"executors": [executor(["sleep", "300"])]})
        wait_for_state(gateway.api, sleeper, "RUNNING", timeout=60)
        remote_sleeper = get(gateway.api, sleeper)["logs"][0]["metadata"]["tesp_remote_id"]
        assert requests.post(f"{gateway.api}/tasks/{sleeper}:cancel", timeout=10).status_code == 200
        wait_for_state(gateway.api, sleeper, "CANCELED", timeout=30)
        wait_for_state(tesp_server.api, remote_sleeper, "CANCELED", timeout=30)
    finally:
        gateway.stop()
