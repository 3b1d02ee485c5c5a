"""What a user meets first: the Swagger UI page in a real (headless) browser, and the docker-compose stack's files.

No Docker engine runs here: the compose file is validated with `docker-compose config` and the Dockerfiles are
linted with hadolint; building and running the images is left to machines with Docker.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from servers import REPO


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise AssertionError("no headless browser installed: scripts/test installs Debian's chromium")


def test_swagger_ui_lists_the_operations_in_a_browser(tesp_server, tmp_path):
    # Swagger UI renders in JavaScript after fetching the OpenAPI document: give it virtual time, then read the DOM.
    common = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(common + ["--dump-dom", tesp_server.url + "/ui"], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for operation in ("/service-info", "/tasks", "/tasks/{id}", "/tasks/{id}:cancel"):
        assert f'data-path="{operation}"' in html, f"operation {operation} not rendered"
    for summary in ("ListTasks", "CreateTask", "GetTask", "CancelTask"):
        assert summary in html
    # A screenshot for people (kept with the test run's files).
    screenshot = tmp_path / "swagger-ui.png"
    shot = subprocess.run(common + ["--window-size=1280,1600", f"--screenshot={screenshot}", tesp_server.url + "/ui"],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000
    # The page's script and styles came from this server, not from the internet.
    assert '/ui/assets/swagger-ui-bundle.js' in html


def test_the_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yaml"), "config"],
                            capture_output=True, text=True,
                            env={**os.environ, "PULSAR_TOKEN": "test-token", "MINIO_PASSWORD": "test-minio",
                                 "RABBITMQ_PASSWORD": "test-rabbit"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"tesp", "mongodb", "pulsar", "rabbitmq", "pulsar-amqp", "ftp", "minio", "minio-setup"}
    assert services["mongodb"]["image"].startswith("mongo")
    assert services["tesp"]["environment"]["TESP_PROFILE"] == "dev-docker"
    assert all(services["tesp"]["depends_on"][name]["condition"] == "service_healthy"
               for name in ("mongodb", "pulsar", "rabbitmq", "ftp", "minio"))
    # Two backends: REST, and message-queue through the broker with the password RabbitMQ was given; the queue-mode
    # Pulsar publishes no port, and reaches the same broker.
    backends = json.loads(services["tesp"]["environment"]["TESP_BACKENDS"])
    assert [b.get("transport", "rest") for b in backends] == ["rest", "amqp"]
    assert backends[1]["url"].startswith("amqp://tesp@rabbitmq:5672")
    assert backends[1]["password"] == services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"] == "test-rabbit"
    assert "ports" not in services["pulsar-amqp"]
    assert services["pulsar-amqp"]["environment"]["PULSAR_MESSAGE_QUEUE_URL"] == "amqp://tesp:test-rabbit@rabbitmq:5672//"
    # TESP reaches MinIO by its service name, with the same secret MinIO was given.
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["tesp"]["environment"]["TESP_S3__ENDPOINT"] == "http://minio:9000"
    assert services["tesp"]["environment"]["TESP_S3__SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    # Docker-outside-of-Docker: the staging directory has the same path inside Pulsar and on the host.
    staging = [v for v in services["pulsar"]["volumes"] if "staging" in str(v)]
    assert staging and all(v["source"] == v["target"] if isinstance(v, dict) else v.split(":")[0] == v.split(":")[1]
                           for v in staging)


def test_the_dockerfiles_pass_hadolint_and_run_as_non_root():
    hadolint = Path(sys.executable).parent / "hadolint"
    for dockerfile in sorted((REPO / "docker").glob("*.Dockerfile")):
        result = subprocess.run([str(hadolint), "--config", str(REPO / ".hadolint.yaml"), str(dockerfile)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        text = dockerfile.read_text()
        assert "HEALTHCHECK" in text, dockerfile.name
    tesp = (REPO / "docker" / "tesp.Dockerfile").read_text()
    assert re.search(r"^USER 10001$", tesp, re.M)
    assert "swift build -c release" in tesp and "debian:bookworm-slim" in tesp


def test_the_md5sum_task_can_be_created_from_swagger_ui(tesp_server, ftp, tmp_path):
    """A person's path: open /ui, POST /tasks → Try it out → paste the task → Execute; the task then completes."""
    import json
    import time

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    from helpers import wait_for_state

    (ftp.root / "ui_holy_file").write_text("hello from the browser\n")
    task = {
        "name": "md5sum from Swagger UI",
        "inputs": [{"url": ftp.url("ui_holy_file"), "path": "/data/file1"}],
        "outputs": [{"url": ftp.url("ui_outfile"), "path": "/data/outfile"}],
        "executors": [{"image": "ubuntu", "command": ["md5sum"], "stdin": "/data/file1", "stdout": "/data/outfile"}],
    }
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    options.binary_location = chromium()
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(tesp_server.url + "/ui")
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#operations-TaskService-CreateTask button"))).click()
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#operations-TaskService-CreateTask .try-out__btn"))).click()
        body = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#operations-TaskService-CreateTask textarea")))
        body.clear()
        body.send_keys(json.dumps(task))
        driver.find_element(By.CSS_SELECTOR, "#operations-TaskService-CreateTask .execute").click()
        status = wait.until(ready.presence_of_element_located(
            (By.CSS_SELECTOR, "#operations-TaskService-CreateTask .live-responses-table tr.response .response-col_status")))
        assert status.text.strip().startswith("200"), status.text
        response = driver.find_element(
            By.CSS_SELECTOR, "#operations-TaskService-CreateTask .live-responses-table tr.response pre").text
        driver.save_screenshot(str(tmp_path / "swagger-ui-create.png"))
    finally:
        driver.quit()
    task_id = json.loads(response)["id"]
    wait_for_state(tesp_server.api, task_id, "COMPLETE")
    expected = hashlib.md5(b"hello from the browser\n").hexdigest()
    assert (ftp.root / "ui_outfile").read_text() == f"{expected}  -\n"
