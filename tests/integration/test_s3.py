"""S3 staging against a real S3 server (moto, signatures checked): FILE and DIRECTORY inputs (listings over more
than one page), FILE, DIRECTORY and wildcard outputs, multipart uploads, and the errors a user must be able to
read: a bucket that does not exist, a wrong secret. The secret reaches TESP through a `_FILE` variable or a
`transfer.credentials` entry, and is in no view and no log line."""
import hashlib
import uuid

import pytest
import requests

from helpers import create, executor, get, wait_for_state
from servers import S3Server, Tesp

PART_MIB = 5


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    name = "tesp-" + uuid.uuid4().hex[:8]
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def s3_tesp(tmp_path_factory, mongodb_uri, pulsar, s3):
    """A TESP whose S3 secret comes from a file (TESP_S3__SECRET_ACCESS_KEY_FILE), parts of 5 MiB."""
    directory = tmp_path_factory.mktemp("tesp-s3")
    secret_file = directory / "s3-secret"
    secret_file.write_text(s3.secret + "\n")
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_s3_" + uuid.uuid4().hex[:8],
                  TESP_S3__ENDPOINT=s3.endpoint,
                  TESP_S3__ACCESS_KEY_ID=s3.key_id,
                  TESP_S3__SECRET_ACCESS_KEY_FILE=str(secret_file),
                  TESP_S3__MULTIPART_PART_MIB=str(PART_MIB),
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-s3")))
    server.start()
    yield server
    server.stop()


def test_files_and_directories_go_both_ways_through_s3(s3_tesp, s3, bucket):
    client = s3.client()
    client.put_object(Bucket=bucket, Key="in/a.txt", Body=b"hello s3\n")
    client.put_object(Bucket=bucket, Key="in/set/one.txt", Body=b"1\n")
    client.put_object(Bucket=bucket, Key="in/set/sub dir/two+2.txt", Body=b"2\n")
    client.put_object(Bucket=bucket, Key="in/set/marker/", Body=b"")  # a console's folder marker: not a file
    api = s3_tesp.api
    task_id = create(api, {
        "inputs": [
            {"url": f"s3://{bucket}/in/a.txt", "path": "/data/a.txt"},
            {"url": f"s3://{bucket}/in/set", "path": "/data/set", "type": "DIRECTORY"},
        ],
        "outputs": [
            {"url": f"s3://{bucket}/out/listing.txt", "path": "/data/listing.txt"},
            {"url": f"s3://{bucket}/out/copy", "path": "/data/set", "type": "DIRECTORY"},
            {"url": f"s3://{bucket}/out/logs", "path": "/data/logs/*.log", "path_prefix": "/data/logs"},
        ],
        "executors": [executor(["sh", "-c",
                                "cd /data && cat a.txt > listing.txt && find set -type f | sort >> listing.txt && "
                                "mkdir -p logs && echo x > logs/first.log && echo y > logs/second.log"])],
    })
    task = wait_for_state(api, task_id, "COMPLETE", timeout=60)
    listing = client.get_object(Bucket=bucket, Key="out/listing.txt")["Body"].read().decode()
    assert listing == "hello s3\nset/one.txt\nset/sub dir/two+2.txt\n"
    assert client.get_object(Bucket=bucket, Key="out/copy/sub dir/two+2.txt")["Body"].read() == b"2\n"
    assert client.get_object(Bucket=bucket, Key="out/logs/second.log")["Body"].read() == b"y\n"
    urls = {output["url"] for output in task["logs"][0]["outputs"]}
    assert f"s3://{bucket}/out/copy/one.txt" in urls and f"s3://{bucket}/out/logs/first.log" in urls
    # The keys are in no view and no log line.
    for view in ("MINIMAL", "BASIC", "FULL"):
        assert s3.secret not in requests.get(f"{api}/tasks/{task_id}", params={"view": view}).text
    assert s3.secret not in s3_tesp.log()


def test_a_large_output_goes_up_in_parts_and_a_large_listing_is_read_page_by_page(s3_tesp, s3, bucket):
    client = s3.client()
    # 1,005 objects: ListObjectsV2 answers at most 1,000 a page.
    for index in range(1005):
        client.put_object(Bucket=bucket, Key=f"many/{index:04d}", Body=b"")
    size = (2 * PART_MIB + 1) * 1024 * 1024  # three parts
    api = s3_tesp.api
    task_id = create(api, {
        "inputs": [{"url": f"s3://{bucket}/many", "path": "/data/many", "type": "DIRECTORY"}],
        "outputs": [
            {"url": f"s3://{bucket}/big.bin", "path": "/data/big.bin"},
            {"url": f"s3://{bucket}/count.txt", "path": "/data/count.txt"},
        ],
        "executors": [executor(["sh", "-c",
                                f"ls /data/many | wc -l > /data/count.txt && yes tesp | head -c {size} > /data/big.bin"])],
    })
    wait_for_state(api, task_id, "COMPLETE", timeout=180)
    assert client.get_object(Bucket=bucket, Key="count.txt")["Body"].read().strip() == b"1005"
    big = client.get_object(Bucket=bucket, Key="big.bin")
    expected = (b"tesp\n" * (size // 5 + 1))[:size]
    assert big["ContentLength"] == size
    assert hashlib.md5(big["Body"].read()).hexdigest() == hashlib.md5(expected).hexdigest()
    # A multipart upload's ETag is the hash of its parts' hashes, with their number after a dash.
    assert big["ETag"].strip('"').endswith("-3")
    # Nothing was left half-uploaded.
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_listed_key_that_would_leave_the_input_directory_fails_the_task(s3_tesp, s3, bucket):
    s3.client().put_object(Bucket=bucket, Key="tricky/ok.txt", Body=b"ok\n")
    s3.client().put_object(Bucket=bucket, Key="tricky/../escape.txt", Body=b"out\n")
    task_id = create(s3_tesp.api, {
        "inputs": [{"url": f"s3://{bucket}/tricky", "path": "/data/tricky", "type": "DIRECTORY"}],
        "executors": [executor(["true"])],
    })
    task = wait_for_state(s3_tesp.api, task_id, "SYSTEM_ERROR", timeout=60)
    lines = task["logs"][0]["system_logs"]
    assert any("inputs[0]" in line and "has a key whose name" in line for line in lines), lines


def test_a_bucket_that_does_not_exist_ends_the_task_saying_so(s3_tesp):
    api = s3_tesp.api
    task_id = create(api, {
        "inputs": [{"url": "s3://no-such-bucket-tesp/in.txt", "path": "/data/in.txt"}],
        "executors": [executor(["true"])],
    })
    task = wait_for_state(api, task_id, "SYSTEM_ERROR", timeout=60)
    lines = task["logs"][0]["system_logs"]
    assert any("inputs[0]" in line and "the bucket 'no-such-bucket-tesp' does not exist" in line for line in lines), lines


def test_a_wrong_secret_for_one_bucket_is_refused_by_s3_and_never_shown(tmp_path, mongodb_uri, pulsar, s3, bucket):
    """`transfer.credentials` gives one bucket keys of its own; here a wrong secret, which S3 refuses."""
    wrong = "Wr0ng-" + uuid.uuid4().hex
    server = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_s3w_" + uuid.uuid4().hex[:8],
                  TESP_S3__ENDPOINT=s3.endpoint,
                  TESP_TRANSFER__CREDENTIALS=f"s3://{s3.key_id}:{wrong}@{bucket}",
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path / "staging")).start()
    try:
        s3.client().put_object(Bucket=bucket, Key="locked.txt", Body=b"x")
        task_id = create(server.api, {
            "inputs": [{"url": f"s3://{bucket}/locked.txt", "path": "/data/in.txt"}],
            "executors": [executor(["true"])],
        })
        task = wait_for_state(server.api, task_id, "SYSTEM_ERROR", timeout=60)
        lines = " ".join(task["logs"][0]["system_logs"])
        assert "SignatureDoesNotMatch" in lines and f"s3://{bucket}/locked.txt" in lines
        assert wrong not in requests.get(f"{server.api}/tasks/{task_id}", params={"view": "FULL"}).text
        assert wrong not in server.log()
        info = requests.get(server.api + "/service-info").json()
        assert "s3://" in info["storage"]
        assert wrong not in str(info)
    finally:
        server.stop()


def test_outputs_cannot_be_written_to_a_scheme_that_is_only_read(api):
    refused = requests.post(api + "/tasks", json={"outputs": [{"url": "drs://drs.example.org/obj", "path": "/data/x"}],
                                                  "executors": [executor(["true"])]})
    assert refused.status_code == 400
    assert "outputs[0].url" in refused.json()["message"] and "cannot be written" in refused.json()["message"]


def test_without_keys_requests_go_unsigned_as_for_a_public_bucket(tmp_path, mongodb_uri, pulsar):
    public = S3Server(tmp_path / "public", auth=False)
    (tmp_path / "public").mkdir()
    public.start()
    server = None
    try:
        public.client().create_bucket(Bucket="public-data")
        public.client().put_object(Bucket="public-data", Key="p/a.txt", Body=b"open to all\n", ACL="public-read")
        public.client().put_object(Bucket="public-data", Key="private.txt", Body=b"mine\n")
        server = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_s3a_" + uuid.uuid4().hex[:8],
                      TESP_S3__ENDPOINT=public.endpoint,
                      TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path / "staging")).start()
        task_id = create(server.api, {
            "inputs": [{"url": "s3://public-data/p", "path": "/data/p", "type": "DIRECTORY"}],
            "outputs": [{"url": "s3://public-data/copy.txt", "path": "/data/p/a.txt"}],
            "executors": [executor(["cat", "/data/p/a.txt"])],
        })
        task = wait_for_state(server.api, task_id, "COMPLETE", timeout=60)
        assert task["logs"][0]["logs"][0]["stdout"] == "open to all\n"
        assert public.client().get_object(Bucket="public-data", Key="copy.txt")["Body"].read() == b"open to all\n"
        # moto answers an unsigned read of an object that is not public-read with 403 (a signed one it takes):
        # so TESP's requests carried no signature.
        private = create(server.api, {"inputs": [{"url": "s3://public-data/private.txt", "path": "/data/x"}],
                                      "executors": [executor(["true"])]})
        lines = wait_for_state(server.api, private, "SYSTEM_ERROR", timeout=60)["logs"][0]["system_logs"]
        assert any("s3://public-data/private.txt" in line and "403" in line for line in lines), lines
    finally:
        if server:
            server.stop()
        public.stop()


@pytest.fixture(scope="module")
def gs_tesp(tmp_path_factory, mongodb_uri, pulsar, s3):
    """gs:// with an HMAC key, against moto standing in for Cloud Storage's XML API (which speaks S3: the same
    requests, signed for region `auto`). Nothing here reaches Google."""
    directory = tmp_path_factory.mktemp("tesp-gs")
    (directory / "hmac-secret").write_text(s3.secret)
    server = Tesp(directory, mongodb_uri, pulsar, database="tesp_gs_" + uuid.uuid4().hex[:8],
                  TESP_GS__ENDPOINT=s3.endpoint,
                  TESP_GS__HMAC_ACCESS_ID=s3.key_id,
                  TESP_GS__HMAC_SECRET_FILE=str(directory / "hmac-secret"),
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging-gs")))
    server.start()
    yield server
    server.stop()


def test_gs_urls_go_through_the_s3_code_path_signed_with_an_hmac_key(gs_tesp, s3, bucket):
    client = s3.client()
    client.put_object(Bucket=bucket, Key="gs/in.txt", Body=b"from gs\n")
    task_id = create(gs_tesp.api, {
        "inputs": [{"url": f"gs://{bucket}/gs/in.txt", "path": "/data/in.txt"}],
        "outputs": [{"url": f"gs://{bucket}/gs/out.txt", "path": "/data/out.txt"}],
        "executors": [executor(["sh", "-c", "tr a-z A-Z < /data/in.txt > /data/out.txt"])],
    })
    task = wait_for_state(gs_tesp.api, task_id, "COMPLETE", timeout=90)
    assert client.get_object(Bucket=bucket, Key="gs/out.txt")["Body"].read() == b"FROM GS\n"
    assert task["logs"][0]["outputs"][0]["url"] == f"gs://{bucket}/gs/out.txt"
    # Signed, and checked: a request without the key is refused by the same server.
    assert requests.get(f"{s3.endpoint}/{bucket}/gs/in.txt", timeout=10).status_code == 403
    # service-info's storage lists the scheme with the others.
    assert "gs://" in requests.get(gs_tesp.api + "/service-info", timeout=10).json()["storage"]
    assert s3.secret not in gs_tesp.log()
