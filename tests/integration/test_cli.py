"""The `tesp` command-line client against a running server: create → wait → get, list, cancel, service-info."""
import json
import os
import subprocess

from servers import REPO


def tesp(server, *args, stdin=None):
    binary = os.environ.get("TESP_BINARY", str(REPO / ".build" / "debug" / "tesp"))
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TESP_SERVER": server.url})


def test_create_wait_get_list(tesp_server, tmp_path):
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps({
        "name": "cli-md5", "tags": {"via": "cli"},
        "inputs": [{"path": "/data/in", "content": "hello TES\n"}],
        "executors": [{"image": "ubuntu", "command": ["md5sum", "/data/in"]}],
    }))
    created = tesp(tesp_server, "task", "create", str(task_file))
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.strip()

    waited = tesp(tesp_server, "task", "wait", task_id)
    assert waited.returncode == 0, waited.stderr
    assert f"{task_id} COMPLETE" in waited.stderr  # progress goes to stderr
    assert "COMPLETE" in waited.stdout

    got = tesp(tesp_server, "task", "get", task_id, "--view", "FULL", "--json")
    task = json.loads(got.stdout)
    assert task["state"] == "COMPLETE"
    assert task["logs"][0]["logs"][0]["stdout"] == "30b9a48f44cd61cde329225bf1f647f2  /data/in\n"

    listed = tesp(tesp_server, "task", "list", "--tag", "via=cli", "--state", "COMPLETE", "--all", "--json")
    assert task_id in [t["id"] for t in json.loads(listed.stdout)["tasks"]]
    table = tesp(tesp_server, "task", "list", "--name-prefix", "cli-md5")
    assert table.stdout.splitlines()[0].split() == ["ID", "STATE", "CREATED", "NAME"]
    assert task_id in table.stdout


def test_wait_fails_for_a_failed_task_and_cancel_works(tesp_server):
    failing = tesp(tesp_server, "task", "create", "-", stdin='{"executors": [{"image": "x", "command": ["false"]}]}')
    assert tesp(tesp_server, "task", "wait", failing.stdout.strip()).returncode == 1
    sleeping = tesp(tesp_server, "task", "create", "-", stdin='{"executors": [{"image": "x", "command": ["sleep", "60"]}]}')
    task_id = sleeping.stdout.strip()
    assert tesp(tesp_server, "task", "cancel", task_id).returncode == 0
    waited = tesp(tesp_server, "task", "wait", task_id, "--json")
    assert waited.returncode == 1 and json.loads(waited.stdout)[0]["state"] in ("CANCELED", "CANCELING")


def test_errors_and_service_info(tesp_server):
    missing = tesp(tesp_server, "task", "get", "no-such-task")
    assert missing.returncode != 0 and "404" in missing.stderr and "no-such-task" in missing.stderr
    info = json.loads(tesp(tesp_server, "service-info", "--json").stdout)
    assert info["type"] == {"group": "org.ga4gh", "artifact": "tes", "version": "1.1.0"}
    bad = tesp(tesp_server, "task", "create", "-", stdin='{"executors": []}')
    assert bad.returncode != 0 and "executors" in bad.stderr
