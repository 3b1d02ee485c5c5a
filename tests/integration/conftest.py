"""Fixtures for the integration tests: a real Pulsar and a real `tesp serve` backed by the MongoDB (SecantusDB)
that scripts/test started, and clients for them."""
import os
import uuid

import pytest
import requests
import tes

from servers import Pulsar, Tesp


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
def tesp_server(tmp_path_factory, mongodb_uri, pulsar):
    server = Tesp(tmp_path_factory.mktemp("tesp"), mongodb_uri, pulsar, database="tesp_it_" + uuid.uuid4().hex[:8])
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
