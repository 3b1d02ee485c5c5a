"""Small helpers shared by the integration tests."""
import time

import requests

TERMINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}


def create(api: str, task: dict) -> str:
    response = requests.post(api + "/tasks", json=task, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def get(api: str, task_id: str, view: str = "FULL") -> dict:
    response = requests.get(f"{api}/tasks/{task_id}", params={"view": view}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_state(api: str, task_id: str, states, timeout: float = 30) -> dict:
    """Polls until the task is in one of `states` and returns it (FULL view); fails on timeout."""
    states = {states} if isinstance(states, str) else set(states)
    deadline = time.monotonic() + timeout
    task = {}
    while time.monotonic() < deadline:
        task = get(api, task_id)
        if task["state"] in states:
            return task
        if task["state"] in TERMINAL:
            raise AssertionError(f"task {task_id} ended {task['state']}, wanted {states}: {task}")
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} still {task.get('state')} after {timeout}s, wanted {states}: {task}")


def executor(command, **fields) -> dict:
    return {"image": "ubuntu:24.04", "command": command, **fields}
