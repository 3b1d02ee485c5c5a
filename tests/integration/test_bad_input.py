"""Hostile and absurd input: each gets a clear 4xx or runs harmlessly, and nothing leaks or crashes the server."""
import json

import requests

from helpers import create, executor, wait_for_state


def post_raw(api, body: bytes):
    return requests.post(api + "/tasks", data=body, headers={"Content-Type": "application/json"}, timeout=30)


def assert_4xx(response, status, needle):
    assert response.status_code == status, response.text[:500]
    assert response.json()["code"] == status and needle in response.json()["message"], response.text[:500]


def test_path_traversal_is_refused_everywhere(api):
    traversal = "/data/../../etc/passwd"
    cases = {
        "inputs[0].path": {"inputs": [{"path": traversal, "content": "x"}]},
        "outputs[0].path": {"outputs": [{"path": traversal, "url": "ftp://h/x"}]},
        "volumes[0]": {"volumes": [traversal]},
        "executors[0].workdir": {"executors": [executor(["true"], workdir=traversal)]},
        "executors[0].stdin": {"executors": [executor(["true"], stdin=traversal)]},
        "executors[0].stdout": {"executors": [executor(["true"], stdout=traversal)]},
        "executors[0].stderr": {"executors": [executor(["true"], stderr=traversal)]},
        "outputs[0].path_prefix": {"outputs": [{"path": "/data/*.txt", "path_prefix": "/data/..", "url": "ftp://h/x"}]},
    }
    for field, task in cases.items():
        task.setdefault("executors", [executor(["true"])])
        assert_4xx(requests.post(api + "/tasks", json=task, timeout=10), 400, field)


def test_shell_metacharacters_run_harmlessly(api):
    hostile = "$(touch /tmp/pwned); `id`; rm -rf / & | > < ' \" \\ \n *"
    task_id = create(api, {
        "name": hostile, "description": hostile, "tags": {hostile: hostile},
        "inputs": [{"path": "/data/in", "content": hostile}],
        "executors": [executor(["printf", "%s", hostile], env={"X": hostile}, stdout="/data/out"),
                      executor(["sh", "-c", 'printf %s "$X"'], env={"X": hostile}),
                      executor(["cat", "/data/in"])],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    assert [log["stdout"] for log in task["logs"][0]["logs"]] == [hostile, hostile, hostile]
    assert task["name"] == hostile and task["tags"] == {hostile: hostile}


def test_huge_deep_and_malformed_bodies(api):
    assert_4xx(post_raw(api, b"{" * 1000 + b"}" * 1000), 400, "request body")
    assert_4xx(post_raw(api, b'{"name": "\xff\xfe", "executors": []}'), 400, "request body")
    assert_4xx(post_raw(api, b" " * (6 * 1024 * 1024)), 413, "larger")
    assert_4xx(post_raw(api, b'{"executors": [{"image": "a", "command": ["b"]}], "resources": {"cpu_cores": 1e400}}'),
               400, "")
    # The server still answers normally afterwards.
    assert requests.get(api + "/service-info", timeout=10).status_code == 200


def test_ten_thousand_executors_and_absurd_resources_are_refused(api):
    many = {"executors": [executor(["true"])] * 10_000}
    assert_4xx(requests.post(api + "/tasks", json=many, timeout=30), 400, "executors")
    for resources, field in (({"cpu_cores": 10**9}, "cpu_cores"), ({"ram_gb": 1e18}, "ram_gb"),
                             ({"disk_gb": -1}, "disk_gb"), ({"cpu_cores": 0}, "cpu_cores")):
        task = {"executors": [executor(["true"])], "resources": resources}
        assert_4xx(requests.post(api + "/tasks", json=task, timeout=10), 400, field)


def test_nothing_is_stored_for_rejected_requests(api):
    marker = "rejected-" + json.dumps(1)[0]
    before = requests.get(api + "/tasks", params={"name_prefix": marker}, timeout=10).json()["tasks"]
    requests.post(api + "/tasks", json={"name": marker, "executors": []}, timeout=10)
    requests.post(api + "/tasks", json={"name": marker, "executors": [executor(["true"], workdir="rel")]}, timeout=10)
    after = requests.get(api + "/tasks", params={"name_prefix": marker}, timeout=10).json()["tasks"]
    assert before == after == []
