"""The HTTP API as any client sees it: error shapes, limits, the /v1 alias and the served OpenAPI document."""
import json
import re

import yaml
from openapi_spec_validator import validate

JSON = {"Content-Type": "application/json"}


def assert_error(response, status, needle):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == status
    assert needle in body["message"], body["message"]


def test_validation_errors_name_the_field(api, http):
    bad = {"executors": [{"image": "alpine", "command": ["cat"], "stdin": "/data/../../etc/passwd"}]}
    assert_error(http.post(api + "/tasks", json=bad), 400, "executors[0].stdin")
    assert_error(http.post(api + "/tasks", data="{oops", headers=JSON), 400, "request body")
    assert_error(http.post(api + "/tasks", json={"executors": [{"image": "a", "command": ["b"]}],
                                                "resources": {"cpu_cores": -1}}), 400, "resources.cpu_cores")
    assert_error(http.get(api + "/tasks", params={"view": "HUGE"}), 400, "view")
    assert_error(http.get(api + "/tasks/none-such"), 404, "none-such")
    assert_error(http.post(api + "/tasks/none-such:cancel", json={}), 404, "none-such")


def test_huge_bodies_are_413_and_128k_content_is_accepted(api, http):
    content = "x" * (128 * 1024)
    ok = http.post(api + "/tasks", json={"inputs": [{"path": "/in", "content": content}],
                                         "executors": [{"image": "a", "command": ["b"]}]})
    assert ok.status_code == 200, ok.text
    stored = http.get(f"{api}/tasks/{ok.json()['id']}", params={"view": "FULL"}).json()
    assert stored["inputs"][0]["content"] == content
    assert_error(http.post(api + "/tasks", data=" " * (8 * 1024 * 1024), headers=JSON), 413, "larger")


def test_argv_is_stored_exactly(api, http):
    argv = ["printf", "%s|", "a b", "it's", '"q"', "$HOME", "*", ";", "http://x", "./a", "", "\\n", "é"]
    created = http.post(api + "/tasks", json={"executors": [{"image": "a", "command": argv}]})
    task = http.get(f"{api}/tasks/{created.json()['id']}", params={"view": "FULL"}).json()
    assert task["executors"][0]["command"] == argv


def test_the_v1_alias_serves_the_same_tasks(base_url, http):
    created = http.post(base_url + "/v1/tasks", json={"executors": [{"image": "a", "command": ["b"]}]})
    assert created.status_code == 200
    task_id = created.json()["id"]
    minimal = http.get(f"{base_url}/ga4gh/tes/v1/tasks/{task_id}").json()
    assert set(minimal) == {"id", "state"} and minimal["id"] == task_id


def test_the_served_openapi_document_is_valid(api, http):
    response = http.get(api + "/openapi.yaml")
    assert response.status_code == 200
    document = yaml.safe_load(response.text)
    validate(document)
    assert "/tasks/{id}:cancel" in document["paths"]
    assert "ErrorResponse" in document["components"]["schemas"]


def test_swagger_ui_page_loads_the_document(base_url, http):
    page = http.get(base_url + "/ui")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text and "/ga4gh/tes/v1/openapi.yaml" in page.text


def test_responses_never_contain_null(api, http):
    created = http.post(api + "/tasks", json={"name": None, "executors": [{"image": "a", "command": ["b"],
                                                                           "workdir": None}]})
    assert created.status_code == 200, created.text
    for view in ("MINIMAL", "BASIC", "FULL"):
        text = http.get(f"{api}/tasks/{created.json()['id']}", params={"view": view}).text
        assert "null" not in text
        json.loads(text)


def test_health_and_readiness(base_url, http):
    assert http.get(base_url + "/healthz").json() == {"status": "ok"}
    ready = http.get(base_url + "/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["mongodb"] == "ok"
    assert any(name.startswith("backend ") and state == "ok" for name, state in body["checks"].items())


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path, mongodb_uri):
    """Property-based requests from the served OpenAPI document: no 5xx, and every answer matches the document.

    The server here has no reachable Pulsar, so the random tasks it accepts end in SYSTEM_ERROR instead of running.
    """
    import subprocess
    import sys
    import types
    import uuid
    from pathlib import Path

    from servers import Tesp

    nowhere = types.SimpleNamespace(url="http://127.0.0.1:9", token="none")
    server = Tesp(tmp_path, mongodb_uri, nowhere, database="tesp_fuzz_" + uuid.uuid4().hex[:8]).start()
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", server.api + "/openapi.yaml", "--url", server.api,
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
             "--max-examples", "25", "--seed", "20261122", "--no-color"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-6000:]
    finally:
        server.stop()


def test_prometheus_metrics(api, base_url, http):
    from helpers import create, executor, wait_for_state

    task_id = create(api, {"executors": [executor(["true"])]})
    wait_for_state(api, task_id, "COMPLETE")
    metrics = http.get(base_url + "/metrics")
    assert metrics.status_code == 200 and metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.text
    assert 'tesp_task_transitions_total{to="COMPLETE"}' in text
    assert "tesp_pulsar_poll_duration_seconds" in text
    # The scan's cost: at least the start-up scan, which reads every non-terminal state (five store calls or more).
    full_calls = re.search(r'^tesp_scan_store_calls_total\{kind="full"\} ([0-9.]+)$', text, re.M)
    assert full_calls and float(full_calls.group(1)) >= 5, text
    assert 'tesp_scan_duration_seconds_count{kind="full"}' in text
    assert "hb_requests" in text and 'http_response_status_code="200"' in text
