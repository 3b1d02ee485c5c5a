"""The HTTP API as any client sees it: error shapes, limits, the /v1 alias and the served OpenAPI document."""
import json

import yaml
from openapi_spec_validator import validate


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
    assert_error(http.post(api + "/tasks", data="{oops"), 400, "request body")
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
    assert_error(http.post(api + "/tasks", data=" " * (8 * 1024 * 1024)), 413, "larger")


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
