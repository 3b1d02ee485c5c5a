"""Data staging through real servers: FTP (pyftpdlib, with a password), HTTP (GET and PUT) and file://."""
import hashlib
import os
import threading
import time

import requests
import tes

from helpers import create, executor, get, wait_for_state


def test_the_readme_md5sum_task_over_ftp_with_pytes(client, api, ftp, tesp_server):
    (ftp.root / "holy_file").write_bytes(b"the holy file\n" * 1000)
    task = tes.Task(
        name="md5sum over FTP",
        inputs=[tes.Input(url=ftp.url("holy_file"), path="/data/file1", type="FILE")],
        outputs=[tes.Output(url=ftp.url("results/outfile-1"), path="/data/outfile", type="FILE")],
        executors=[tes.Executor(image="ubuntu", command=["md5sum"], stdin="/data/file1", stdout="/data/outfile")],
    )
    task_id = client.create_task(task)
    full = wait_for_state(api, task_id, "COMPLETE")
    expected = hashlib.md5(b"the holy file\n" * 1000).hexdigest()
    assert (ftp.root / "results" / "outfile-1").read_text() == f"{expected}  -\n"
    outputs = full["logs"][0]["outputs"]
    assert outputs == [{"url": ftp.url("results/outfile-1", with_password=False), "path": "/data/outfile",
                        "size_bytes": str(len(expected) + 4)}]
    # The password is in no view and in no log line.
    for view in ("MINIMAL", "BASIC", "FULL"):
        assert ftp.password not in requests.get(f"{api}/tasks/{task_id}", params={"view": view}).text
    assert full["inputs"][0]["url"] == ftp.url("holy_file", with_password=False)
    assert ftp.password not in tesp_server.log()
    assert int(client.get_task(task_id, view="FULL").logs[0].outputs[0].size_bytes) == len(expected) + 4


def test_directory_input_and_output_over_ftp(api, ftp):
    source = ftp.root / "dataset"
    (source / "nested" / "deeper").mkdir(parents=True, exist_ok=True)
    (source / "a.txt").write_text("A\n")
    (source / "nested" / "b c.txt").write_text("B\n")
    (source / "nested" / "deeper" / "d.txt").write_text("D\n")
    task_id = create(api, {
        "inputs": [{"url": ftp.url("dataset"), "path": "/in/data", "type": "DIRECTORY"}],
        "outputs": [{"url": ftp.url("copies/run1"), "path": "/out/copy", "type": "DIRECTORY"}],
        "executors": [executor(["sh", "-c", "cp -r /in/data/. /out/copy/ && find /out/copy -type f | sort"])],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    assert task["logs"][0]["logs"][0]["stdout"] == \
        "/out/copy/a.txt\n/out/copy/nested/b c.txt\n/out/copy/nested/deeper/d.txt\n"
    copied = ftp.root / "copies" / "run1"
    assert (copied / "a.txt").read_text() == "A\n"
    assert (copied / "nested" / "b c.txt").read_text() == "B\n"
    assert (copied / "nested" / "deeper" / "d.txt").read_text() == "D\n"
    assert sorted(o["path"] for o in task["logs"][0]["outputs"]) == \
        ["/out/copy/a.txt", "/out/copy/nested/b c.txt", "/out/copy/nested/deeper/d.txt"]


def test_wildcard_outputs_use_the_path_prefix(api, ftp):
    task_id = create(api, {
        "outputs": [{"url": ftp.url("calls"), "path": "/work/*/calls.vcf", "path_prefix": "/work"},
                    {"url": ftp.url("none"), "path": "/work/*.nothing", "path_prefix": "/work"}],
        "executors": [executor(["sh", "-c", "for s in s1 s2; do mkdir -p /work/$s; echo $s > /work/$s/calls.vcf; done; "
                                            "echo skip > /work/s1/other.txt"])],
        "volumes": ["/work"],
    })
    task = wait_for_state(api, task_id, "COMPLETE")
    assert (ftp.root / "calls" / "s1" / "calls.vcf").read_text() == "s1\n"
    assert (ftp.root / "calls" / "s2" / "calls.vcf").read_text() == "s2\n"
    assert not (ftp.root / "calls" / "s1" / "other.txt").exists()
    assert len(task["logs"][0]["outputs"]) == 2  # a wildcard with no match is not an error


def test_a_missing_input_fails_clearly_and_publishes_nothing(api, ftp):
    task_id = create(api, {
        "inputs": [{"url": ftp.url("no/such/file"), "path": "/data/in"}],
        "outputs": [{"url": ftp.url("never/written"), "path": "/data/out"}],
        "executors": [executor(["cp", "/data/in", "/data/out"])],
    })
    task = wait_for_state(api, task_id, "SYSTEM_ERROR")
    message = " ".join(task["logs"][0]["system_logs"])
    assert "inputs[0]" in message and ftp.url("no/such/file", with_password=False) in message
    assert ftp.password not in message
    assert not (ftp.root / "never").exists()


def test_a_missing_output_fails_naming_it(api, ftp):
    task_id = create(api, {
        "outputs": [{"url": ftp.url("x/y"), "path": "/data/not-made"}],
        "executors": [executor(["true"])],
        "volumes": ["/data"],
    })
    task = wait_for_state(api, task_id, "SYSTEM_ERROR")
    assert any("outputs[0]" in line and "/data/not-made" in line for line in task["logs"][0]["system_logs"])


def test_a_wrong_ftp_password_is_redacted_everywhere(api, ftp, tesp_server):
    (ftp.root / "secret-input").write_text("x")
    wrong = f"ftp://{ftp.user}:WrongPass123@127.0.0.1:{ftp.port}/secret-input"
    task_id = create(api, {"inputs": [{"url": wrong, "path": "/data/in"}], "executors": [executor(["true"])]})
    task = wait_for_state(api, task_id, "SYSTEM_ERROR")
    assert any("inputs[0]" in line and "530" in line for line in task["logs"][0]["system_logs"]), task
    for view in ("MINIMAL", "BASIC", "FULL"):
        assert "WrongPass123" not in requests.get(f"{api}/tasks/{task_id}", params={"view": view}).text
    assert "WrongPass123" not in tesp_server.log()


def test_http_download_and_put_upload(api, http_files):
    root, base = http_files
    (root / "genome.fa").write_text(">chr1\nACGT\n")
    task_id = create(api, {
        "inputs": [{"url": base + "/genome.fa", "path": "/ref/genome.fa"}],
        "outputs": [{"url": base + "/uploads/count.txt", "path": "/out/count.txt"}],
        "executors": [executor(["sh", "-c", "grep -c '>' /ref/genome.fa > /out/count.txt"])],
    })
    wait_for_state(api, task_id, "COMPLETE")
    assert (root / "uploads" / "count.txt").read_text() == "1\n"


def test_file_urls_only_in_allowed_directories(api, local_files):
    (local_files / "in.txt").write_text("local\n")
    task_id = create(api, {
        "inputs": [{"url": f"file://{local_files}/in.txt", "path": "/data/in.txt"}],
        "outputs": [{"url": f"{local_files}/out/copy.txt", "path": "/data/copy.txt"}],
        "executors": [executor(["cp", "/data/in.txt", "/data/copy.txt"])],
    })
    wait_for_state(api, task_id, "COMPLETE")
    assert (local_files / "out" / "copy.txt").read_text() == "local\n"
    refused = requests.post(api + "/tasks", json={"inputs": [{"url": "file:///etc/passwd", "path": "/data/p"}],
                                                  "executors": [executor(["true"])]})
    assert refused.status_code == 400 and "inputs[0].url" in refused.json()["message"]
    unknown = requests.post(api + "/tasks", json={"inputs": [{"url": "hdfs://namenode/key", "path": "/data/p"}],
                                                  "executors": [executor(["true"])]})
    assert unknown.status_code == 400 and "hdfs://" in unknown.json()["message"]


def test_a_large_file_is_streamed_with_bounded_memory(api, ftp, tesp_server):
    size = 300 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    digest = hashlib.md5()
    with open(ftp.root / "big.bin", "wb") as out:
        for _ in range(size // len(block)):
            out.write(block)
            digest.update(block)
    def rss() -> int:
        with open(f"/proc/{tesp_server.process.pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    # Growth, not the absolute figure: earlier tests on the same server (2 GiB of stdout, large logs) leave its
    # allocator with more memory than at start.
    baseline = rss()
    peak = {"rss": baseline}
    done = threading.Event()

    def watch():
        while not done.is_set():
            try:
                with open(f"/proc/{tesp_server.process.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            peak["rss"] = max(peak["rss"], int(line.split()[1]) * 1024)
            except FileNotFoundError:
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        task_id = create(api, {
            "inputs": [{"url": ftp.url("big.bin"), "path": "/data/big.bin"}],
            "outputs": [{"url": ftp.url("big-copy.bin"), "path": "/data/big-copy.bin"}],
            "executors": [executor(["cp", "/data/big.bin", "/data/big-copy.bin"])],
        })
        task = wait_for_state(api, task_id, "COMPLETE", timeout=300)
    finally:
        done.set()
        watcher.join()
    copy = hashlib.md5()
    with open(ftp.root / "big-copy.bin", "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            copy.update(chunk)
    assert copy.hexdigest() == digest.hexdigest()
    assert task["logs"][0]["outputs"][0]["size_bytes"] == str(size)
    grown = peak["rss"] - baseline
    print(f"TESP peak RSS while moving 300 MB four times: {peak['rss'] / 1e6:.0f} MB ({grown / 1e6:+.0f} MB)")
    assert grown < 100 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB, to {peak['rss'] / 1e6:.0f} MB"
    (ftp.root / "big.bin").unlink()
    (ftp.root / "big-copy.bin").unlink()
