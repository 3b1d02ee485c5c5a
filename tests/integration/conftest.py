"""Fixtures for the integration tests: a real Pulsar and a real `tesp serve` backed by the MongoDB (SecantusDB)
that scripts/test started, and clients for them."""
import os
import uuid

import pytest
import requests
import tes

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from servers import FtpServer, Pulsar, S3Server, Tesp


@pytest.fixture(scope="session")
def mongodb_uri() -> str:
    uri = os.environ.get("TESP_TEST_MONGODB_URI")
    if not uri:
        pytest.fail("TESP_TEST_MONGODB_URI is not set: run these tests through scripts/test")
    return uri


@pytest.fixture(scope="session")
def pulsar(tmp_path_factory):
    server = Pulsar(tmp_path_factory.mktemp("pulsar")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ftp(tmp_path_factory):
    server = FtpServer(tmp_path_factory.mktemp("ftp")).start()
    yield server
    server.stop()


class _UploadHandler(SimpleHTTPRequestHandler):
    """GET serves files; PUT stores the body (what TESP does to publish outputs over HTTP) and appends the path to
    `.puts` in the served directory, so that a test can tell how many times a job sent its output."""

    puts_lock = threading.Lock()

    def do_PUT(self):
        with self.puts_lock, open(Path(self.directory) / ".puts", "a") as puts:
            puts.write(self.path + "\n")
        target = Path(self.directory) / self.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        remaining = int(self.headers.get("Content-Length", "0"))
        with open(target, "wb") as out:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def http_files(tmp_path_factory):
    """A local HTTP server over a directory: (root directory, base URL)."""
    root = tmp_path_factory.mktemp("http")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_UploadHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def local_files(tmp_path_factory) -> Path:
    """The directory TESP may use for file:// URLs."""
    return tmp_path_factory.mktemp("local-files")


@pytest.fixture(scope="session")
def tesp_server(tmp_path_factory, mongodb_uri, pulsar, local_files, swagger_ui_dir):
    server = Tesp(tmp_path_factory.mktemp("tesp"), mongodb_uri, pulsar, database="tesp_it_" + uuid.uuid4().hex[:8],
                  TESP_TRANSFER__FILE_ALLOWED_DIRECTORIES=str(local_files),
                  TESP_SERVER__SWAGGER_UI_DIR=swagger_ui_dir,
                  TESP_TRANSFER__STAGING_DIRECTORY=str(tmp_path_factory.mktemp("staging")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(tesp_server) -> str:
    return tesp_server.url


@pytest.fixture(scope="session")
def api(tesp_server) -> str:
    return tesp_server.api


@pytest.fixture(scope="session")
def client(base_url) -> tes.HTTPClient:
    return tes.HTTPClient(base_url, timeout=10)


@pytest.fixture()
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def swagger_ui_dir() -> str:
    """Swagger UI's files from the swagger-ui-bundle package (no internet here, so no CDN)."""
    import swagger_ui_bundle
    return str(swagger_ui_bundle.swagger_ui_path)
