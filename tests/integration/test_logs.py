"""TESP's own log as a log collector reads it: one JSON object per line, the task id on every line about a task,
and never a password."""
import json
import uuid

from helpers import create, executor, wait_for_state
from servers import Tesp


def test_json_logs_carry_the_task_id_on_every_task_line_and_no_password(tmp_path, mongodb_uri, pulsar, ftp):
    (ftp.root / "log-input").write_text("logged\n")
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_logs_" + uuid.uuid4().hex[:8],
                TESP_LOG__FORMAT="json", TESP_LOG__LEVEL="debug").start()
    try:
        task_id = create(tesp.api, {
            "inputs": [{"url": ftp.url("log-input"), "path": "/data/in"}],
            "outputs": [{"url": ftp.url(f"results/{unique_name()}"), "path": "/data/in"}],
            "executors": [executor(["cat", "/data/in"])],
        })
        wait_for_state(tesp.api, task_id, "COMPLETE")
    finally:
        tesp.stop()

    lines = [line for line in tesp.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "label", "message", "source"} <= record.keys() for record in records)
    about_task = [record for record in records if record.get("tes.task.id") == task_id]
    messages = [record["message"] for record in about_task]
    for expected in ("Task created", "Task placed", "Submitted to Pulsar", "Task running", "Task finished"):
        assert expected in messages, messages
    # Lines that name the task in their text name it in the field too.
    assert all(record.get("tes.task.id") == task_id for record in records if task_id in record["message"])
    assert ftp.password not in tesp.log()


def unique_name() -> str:
    return "log-" + uuid.uuid4().hex[:8]
