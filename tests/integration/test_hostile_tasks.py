"""The security review's findings, each tried for real against TESP, Pulsar, bubblewrap and the storage servers:
a task submitter must not run commands on the Pulsar host, read or write its files, reach its services, or take
TESP down. Each test failed before its fix."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from helpers import create, executor, get, wait_for_state
from servers import free_port, stop_session, wait_for

HERE = Path(__file__).resolve().parent


def test_a_quote_with_a_combining_mark_is_one_argument_not_shell_syntax(api):
    marker = Path(f"/var/tmp/tesp-injected-{uuid.uuid4().hex}")
    argument = f"a'\u0301; touch {marker}; : '\u0301"
    task = wait_for_state(api, create(api, {"executors": [executor(["printf", "%s", argument])]}), "COMPLETE")
    assert task["logs"][0]["logs"][0]["stdout"] == argument
    assert not marker.exists()


def test_an_image_that_reads_as_an_option_is_refused(api):
    for image in ["--privileged", "--volume=/:/host", "-v"]:
        response = requests.post(api + "/tasks", json={"executors": [{"image": image, "command": ["true"]}]}, timeout=10)
        assert response.status_code == 400 and "executors[0].image" in response.json()["message"], response.text


def test_a_planted_link_never_makes_the_host_script_read_or_write_outside_the_job(api, pulsar):
    app_yml = pulsar.directory / "app.yml"
    token = pulsar.token
    before = app_yml.read_text()
    task_id = create(api, {
        "outputs": [{"url": "ftp://127.0.0.1:1/never", "path": "/data/leak"}],
        "executors": [
            # The first executor plants links to Pulsar's configuration (with its private token) as its own
            # stdout, as a later executor's stdout, and as an output.
            executor(["sh", "-c", f"rm -f /data/out; ln -s {app_yml} /data/out; ln -s {app_yml} /data/next; "
                                  f"ln -s {app_yml} /data/leak"], stdout="/data/out"),
            executor(["echo", "overwritten"], stdout="/data/next"),
        ],
        "volumes": ["/data"],
    })
    task = wait_for_state(api, task_id, "SYSTEM_ERROR")
    text = str(task)
    assert token not in text
    assert "executor 1's stdout" in text, text
    assert app_yml.read_text() == before


def test_a_planted_output_link_is_refused_naming_the_output(api, pulsar):
    app_yml = pulsar.directory / "app.yml"
    task = wait_for_state(api, create(api, {
        "outputs": [{"url": "ftp://127.0.0.1:1/never", "path": "/data/leak"}],
        "executors": [executor(["ln", "-s", str(app_yml), "/data/leak"])],
    }), "SYSTEM_ERROR")
    logs = " ".join(task["logs"][0]["system_logs"])
    assert "outputs[0]" in logs and "symbolic link" in logs, logs
    assert pulsar.token not in str(task)


def test_the_sandbox_has_no_capabilities_no_host_services_and_no_view_of_pulsar(api, pulsar, mongodb_uri):
    from urllib.parse import urlparse
    mongo_port = urlparse(mongodb_uri).port
    staging = pulsar.directory / "staging"
    probe = ("grep -E '^Cap(Eff|Prm|Amb):' /proc/self/status; "
             f"(exec 3<>/dev/tcp/127.0.0.1/{mongo_port}) 2>/dev/null && echo MONGODB-REACHABLE; "
             f"(exec 3<>/dev/tcp/127.0.0.1/{pulsar.port}) 2>/dev/null && echo PULSAR-REACHABLE; "
             f"ls -A {staging} 2>&1 | head -3; cat {pulsar.directory / 'app.yml'} 2>&1 | head -1; "
             "touch /usr/tesp-escape 2>/dev/null && echo WROTE-HOST; true")
    task = wait_for_state(api, create(api, {"executors": [executor(["bash", "-c", probe])]}), "COMPLETE")
    out = task["logs"][0]["logs"][0]["stdout"]
    caps = [line for line in out.splitlines() if line.startswith("Cap")]
    assert len(caps) == 3 and all(line.endswith("0000000000000000") for line in caps), out
    assert "REACHABLE" not in out and "WROTE-HOST" not in out, out
    assert pulsar.token not in out, out
    assert not any(name.startswith("tesp-") for name in out.split()), out  # other jobs' directories are hidden
    assert not Path("/usr/tesp-escape").exists()


def test_a_listing_with_names_that_climb_out_is_refused(api, tmp_path):
    target = Path(f"/var/tmp/tesp-listed-{uuid.uuid4().hex}")
    root = tmp_path / "root"
    (root / "evil").mkdir(parents=True)
    (root / "evil" / "real.txt").write_text("real\n")
    port = free_port()
    log = open(tmp_path / "ftp.log", "ab")
    names = ["../../../../../../../.." + str(target), "a/b"]
    server = subprocess.Popen([sys.executable, str(HERE / "hostile_ftp.py"), str(root), str(port), "u", "p", *names],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        import socket

        def ready():
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                return conn.recv(3) == b"220"
        wait_for(ready, "hostile FTP server", server)
        task = wait_for_state(api, create(api, {
            "inputs": [{"url": f"ftp://u:p@127.0.0.1:{port}/evil/", "path": "/data/in", "type": "DIRECTORY"}],
            "executors": [executor(["ls", "-R", "/data/in"])],
        }), "SYSTEM_ERROR", timeout=60)
        logs = " ".join(task["logs"][0]["system_logs"])
        assert "inputs[0]" in logs and "listing" in logs, logs
        assert not target.exists()
    finally:
        stop_session(server)


def test_a_poison_file_url_is_refused_and_the_server_stays_up(api, base_url, local_files):
    for url in [f"file://{local_files}/%C0%AE", f"file://{local_files}/%2e%2e/%2e%2e/etc/passwd"]:
        response = requests.post(api + "/tasks", json={"inputs": [{"url": url, "path": "/in"}],
                                                       "executors": [executor(["true"])]}, timeout=10)
        assert response.status_code == 400 and "inputs[0].url" in response.json()["message"], response.text
    assert requests.get(base_url + "/healthz", timeout=5).ok


def test_a_file_url_through_a_link_out_of_the_allowed_directory_fails(api, local_files, tmp_path):
    outside = tmp_path / "outside-secret"
    outside.write_text("secret\n")
    link = local_files / f"link-{uuid.uuid4().hex}"
    link.symlink_to(outside)
    task = wait_for_state(api, create(api, {
        "inputs": [{"url": f"file://{link}", "path": "/data/in"}],
        "executors": [executor(["cat", "/data/in"])],
    }), "SYSTEM_ERROR")
    assert "outside the directories" in " ".join(task["logs"][0]["system_logs"])


def test_form_and_text_bodies_and_foreign_origins_cannot_create_tasks(api):
    task = '{"executors": [{"image": "alpine", "command": ["true"]}]}'
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]:
        response = requests.post(api + "/tasks", data=task, headers={"Content-Type": content_type}, timeout=10)
        assert response.status_code == 415, response.text
    foreign = requests.post(api + "/tasks", data=task, timeout=10,
                            headers={"Content-Type": "application/json", "Origin": "https://evil.example"})
    assert foreign.status_code == 403, foreign.text
    preflight = requests.options(api + "/tasks", timeout=10, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight.headers


def test_urls_whose_password_would_show_are_refused_and_queries_are_kept_but_redacted(api, http_files, tesp_server):
    for url in ["ftp://bob:pa#ss@127.0.0.1/x", "ftp://bob:12/ss@127.0.0.1/x"]:
        response = requests.post(api + "/tasks", json={"inputs": [{"url": url, "path": "/in"}],
                                                       "executors": [executor(["true"])]}, timeout=10)
        assert response.status_code == 400 and "inputs[0].url" in response.json()["message"], response.text
    root, base = http_files
    (root / "signed.txt").write_text("signed content\n")
    url = f"{base}/signed.txt?X-Amz-Signature=s3cr3tsig&X-Amz-Date=20261202"
    task = wait_for_state(api, create(api, {"inputs": [{"url": url, "path": "/data/in"}],
                                            "executors": [executor(["cat", "/data/in"])]}), "COMPLETE")
    assert task["logs"][0]["logs"][0]["stdout"] == "signed content\n"
    assert task["inputs"][0]["url"] == f"{base}/signed.txt?X-Amz-Signature=***&X-Amz-Date=20261202"
    assert "s3cr3tsig" not in str(task) and "s3cr3tsig" not in tesp_server.log()


def test_many_large_executor_logs_fit_the_store_and_the_task_completes(api):
    # 120 executors × 64 KiB of stdout would be 15 MiB of tails (the review: 167 MB of records, RUNNING forever).
    count = 120
    spew = executor(["sh", "-c", "head -c 70000 /dev/zero | tr '\\0' x"])
    task = wait_for_state(api, create(api, {"executors": [spew] * count}), "COMPLETE", timeout=240)
    tails = [len(entry["stdout"]) for entry in task["logs"][0]["logs"]]
    assert len(tails) == count
    assert all(0 < size <= (6 * 1024 * 1024) // (2 * count) for size in tails), tails[:3]


def test_idle_connections_are_closed_and_connections_are_capped(tmp_path, mongodb_uri, pulsar):
    import socket
    from servers import Tesp
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_conn_" + uuid.uuid4().hex[:8],
                TESP_SERVER__IDLE_TIMEOUT_SECONDS="2", TESP_SERVER__MAX_CONNECTIONS="4").start()
    sockets = []
    try:
        # A client that connects and says nothing is cut off (recv returns b"" once the server closes).
        idle = socket.create_connection(("127.0.0.1", tesp.port), timeout=30)
        assert idle.recv(1) == b""
        idle.close()
        # Four silent connections fill the cap: a fifth request waits (it times out here)…
        time.sleep(0.5)
        sockets = [socket.create_connection(("127.0.0.1", tesp.port), timeout=30) for _ in range(4)]
        time.sleep(0.5)
        try:
            requests.get(tesp.api + "/service-info", timeout=1)
            raise AssertionError("a connection over the cap was served")
        except requests.exceptions.ReadTimeout:
            pass
        # …and is served once a place is free.
        for s in sockets:
            s.close()
        sockets = []
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(tesp.api + "/service-info", timeout=5).ok
                break
            except requests.exceptions.RequestException:
                assert time.monotonic() < deadline, "the server never took connections again"
    finally:
        for s in sockets:
            s.close()
        tesp.stop()


def test_denied_networks_are_never_fetched_from(tmp_path, mongodb_uri, pulsar, http_files):
    from servers import Tesp
    root, base = http_files
    (root / "internal.txt").write_text("internal\n")
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_ssrf_" + uuid.uuid4().hex[:8],
                TESP_TRANSFER__DENIED_NETWORKS='["127.0.0.0/8", "::1/128"]').start()
    try:
        for url in [f"{base}/internal.txt", base.replace("127.0.0.1", "localhost") + "/internal.txt"]:
            task = wait_for_state(tesp.api, create(tesp.api, {"inputs": [{"url": url, "path": "/data/in"}],
                                                              "executors": [executor(["cat", "/data/in"])]}), "SYSTEM_ERROR")
            logs = " ".join(task["logs"][0]["system_logs"])
            assert "inputs[0]" in logs and "transfer.denied_networks" in logs, logs
    finally:
        tesp.stop()


def test_pulsar_never_logs_its_token_for_tasks_that_run_normally(tmp_path, mongodb_uri):
    from servers import Pulsar, Tesp
    pulsar = Pulsar(tmp_path / "pulsar").start()
    # Heartbeats every 2 s, tasks of 5 s: each is checked while it runs, never before its script could write it.
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_tok_" + uuid.uuid4().hex[:8],
                TESP_ENGINE__HEARTBEAT_SECONDS="2", TESP_ENGINE__HEARTBEAT_TIMEOUT_SECONDS="10").start()
    try:
        ids = [create(tesp.api, {"executors": [executor(["sh", "-c", "sleep 5; echo done"])]}) for _ in range(3)]
        for task_id in ids:
            wait_for_state(tesp.api, task_id, "COMPLETE", timeout=60)
    finally:
        tesp.stop()
        pulsar.stop()
    assert pulsar.token not in (tmp_path / "pulsar" / "pulsar.log").read_text(errors="replace")


def test_credentials_reach_neither_the_pulsar_job_directory_nor_metrics(tmp_path, mongodb_uri, ftp, http_files):
    from servers import Pulsar, Tesp
    (ftp.root / "secret-in.txt").write_text("in\n")
    root, base = http_files
    (root / "signed-in.txt").write_text("signed\n")
    pulsar = Pulsar(tmp_path / "pulsar").start()
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_dir_" + uuid.uuid4().hex[:8],
                TESP_ENGINE__KEEP_FAILED_JOBS="true").start()
    signature = "sig" + uuid.uuid4().hex
    try:
        # The executor fails, so the job directory is kept for inspection, inputs and script included.
        task = wait_for_state(tesp.api, create(tesp.api, {
            "inputs": [{"url": ftp.url("secret-in.txt"), "path": "/data/a"},
                       {"url": f"{base}/signed-in.txt?X-Amz-Signature={signature}", "path": "/data/b"}],
            "executors": [executor(["sh", "-c", "cat /data/a /data/b; exit 3"])],
        }), "EXECUTOR_ERROR")
        assert task["logs"][0]["logs"][0]["stdout"] == "in\nsigned\n"
        metrics = requests.get(tesp.url + "/metrics", timeout=10).text
    finally:
        tesp.stop()
        pulsar.stop()
    staged = [p for p in (tmp_path / "pulsar" / "staging").rglob("*") if p.is_file()]
    assert staged, "the failed job's directory was not kept"
    for path in staged:
        data = path.read_bytes()
        assert ftp.password.encode() not in data and signature.encode() not in data, path
    assert ftp.password not in metrics and signature not in metrics


def test_connections_the_client_aborts_are_not_logged_as_errors(tmp_path, mongodb_uri, pulsar):
    import socket
    from servers import Tesp
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_abort_" + uuid.uuid4().hex[:8], TESP_LOG__LEVEL="info").start()
    try:
        for sent in [b"POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"exec",
                     b"GET /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\n", b"\x16\x03\x01not http\r\n\r\n"]:
            with socket.create_connection(("127.0.0.1", tesp.port), timeout=10) as conn:
                conn.sendall(sent)
                time.sleep(0.3)
        assert requests.get(tesp.api + "/service-info", timeout=10).ok
    finally:
        tesp.stop()
    assert not [line for line in tesp.log().splitlines() if " error " in line or " critical " in line], tesp.log()[-2000:]


def test_two_gigabytes_of_stdout_keep_tesp_memory_flat(api, tesp_server):
    def rss() -> int:
        with open(f"/proc/{tesp_server.process.pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    before = rss()
    # 2 GiB to the executor's own stdout (and 2 GiB to a task path): only the 64 KiB tails reach TESP.
    task = wait_for_state(api, create(api, {"executors": [
        executor(["sh", "-c", "head -c 2147483648 /dev/zero | tr '\\0' y"]),
        executor(["sh", "-c", "head -c 2147483648 /dev/zero | tr '\\0' z"], stdout="/data/big"),
    ]}), "COMPLETE", timeout=300)
    logs = task["logs"][0]["logs"]
    assert logs[0]["stdout"] == "y" * 65536
    assert logs[1]["stdout"] == "z" * 65536
    assert rss() - before < 64 * 1024 * 1024, f"RSS grew by {(rss() - before) / 1e6:.0f} MB"



def test_a_cancel_stops_input_staging_from_a_trickling_server(api):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            for _ in range(120):  # at most two minutes of one byte a second
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(1)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slow.bin"
        task_id = create(api, {"inputs": [{"url": url, "path": "/data/slow"}], "executors": [executor(["true"])]})
        wait_for_state(api, task_id, "INITIALIZING", timeout=30)
        time.sleep(1)
        assert requests.post(f"{api}/tasks/{task_id}:cancel", timeout=10).status_code == 200
        # Without the abort the download would go on until the low-speed limit (60 s) and its retries.
        wait_for_state(api, task_id, "CANCELED", timeout=20)
    finally:
        server.shutdown()
