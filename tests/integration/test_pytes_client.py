"""The reference client, py-tes, against a running TESP backed by MongoDB: every response must parse."""
import uuid

import pytest
import tes
from tes.utils import unmarshal

from helpers import TERMINAL, wait_for_state


def md5sum_task(name: str, **tags) -> tes.Task:
    return tes.Task(
        name=name,
        inputs=[tes.Input(path="/data/file1", content="hello\n")],
        executors=[tes.Executor(image="ubuntu", command=["md5sum"], stdin="/data/file1", stdout="/data/outfile")],
        resources=tes.Resources(cpu_cores=1, ram_gb=0.5),
        tags=tags or None,
    )


def test_service_info_parses(client):
    info = client.get_service_info()
    service_type = info.type if isinstance(info.type, dict) else info.type.__dict__
    assert service_type["artifact"] == "tes"
    assert service_type["group"] == "org.ga4gh"
    assert service_type["version"] == "1.1.0"
    organization = info.organization if isinstance(info.organization, dict) else info.organization.__dict__
    assert organization["name"]
    assert info.id and info.name and info.version


def test_create_then_get_in_every_view(client):
    task_id = client.create_task(md5sum_task("pytes-views"))
    minimal = client.get_task(task_id, view="MINIMAL")
    assert minimal.id == task_id and minimal.state in TERMINAL | {"QUEUED", "INITIALIZING", "RUNNING"}
    assert minimal.name is None and minimal.executors is None

    basic = client.get_task(task_id, view="BASIC")
    assert basic.name == "pytes-views"
    assert basic.executors[0].stdin == "/data/file1"
    assert basic.inputs[0].content is None
    assert basic.creation_time is not None

    wait_for_state(client.urls[0], task_id, "COMPLETE")
    full = client.get_task(task_id, view="FULL")
    assert full.inputs[0].content == "hello\n"
    assert full.executors[0].command == ["md5sum"]
    assert full.logs[0].logs[0].exit_code == 0
    assert full.logs[0].logs[0].stdout == "b1946ac92492d2347c6235b4d2611184  -\n"
    assert client.get_task(task_id, view="BASIC").logs[0].logs[0].stdout is None


def test_list_pages_with_tokens_until_the_end(client):
    created = [client.create_task(md5sum_task(f"pytes-page-{i}")) for i in range(5)]
    seen, token = [], None
    while True:
        page = client.list_tasks(view="BASIC", page_size=2, page_token=token)
        seen.extend(t.id for t in page.tasks)
        token = page.next_page_token
        if not token:
            break
        assert token != "None"
    # Newest first: our five appear in reverse creation order, once each.
    ours = [i for i in seen if i in created]
    assert ours == list(reversed(created))
    assert len(seen) == len(set(seen))


def test_list_filters_parse_with_pytes_models(api, client, http):
    marker = uuid.uuid4().hex[:8]
    wanted = client.create_task(md5sum_task(f"filter-{marker}-a", project=marker, stage="1"))
    other = client.create_task(md5sum_task(f"filter-{marker}-b", project="other"))
    response = http.get(api + "/tasks", params={"name_prefix": f"filter-{marker}", "tag_key": ["project"],
                                                "tag_value": [marker], "view": "BASIC"})
    assert response.status_code == 200
    listed = unmarshal(response.json(), tes.ListTasksResponse)
    assert [t.id for t in listed.tasks] == [wanted]
    assert listed.tasks[0].tags == {"project": marker, "stage": "1"}

    for task_id in (wanted, other):
        wait_for_state(api, task_id, "COMPLETE")
    response = http.get(api + "/tasks", params={"name_prefix": f"filter-{marker}", "state": "COMPLETE"})
    assert len(unmarshal(response.json(), tes.ListTasksResponse).tasks) == 2
    response = http.get(api + "/tasks", params={"name_prefix": f"filter-{marker}", "state": "RUNNING"})
    assert unmarshal(response.json(), tes.ListTasksResponse).tasks == []


def test_cancel_a_running_task_and_unknown_ids(client):
    task = tes.Task(name="pytes-cancel", executors=[tes.Executor(image="ubuntu", command=["sleep", "300"])])
    task_id = client.create_task(task)
    wait_for_state(client.urls[0], task_id, "RUNNING")
    client.cancel_task(task_id)
    wait_for_state(client.urls[0], task_id, "CANCELED", timeout=10)
    client.cancel_task(task_id)  # terminal: still fine, still canceled
    assert client.get_task(task_id, view="MINIMAL").state == "CANCELED"
    with pytest.raises(Exception):
        client.cancel_task("no-such-task")
    with pytest.raises(Exception):
        client.get_task("no-such-task")
