"""Fixtures for the HTTP API tests: the URL of a running TESP (started by scripts/test) and clients for it."""
import os

import pytest
import requests
import tes


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("TESP_URL")
    if not url:
        pytest.fail("TESP_URL is not set: run these tests through scripts/test")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def api(base_url) -> str:
    return base_url + "/ga4gh/tes/v1"


@pytest.fixture(scope="session")
def client(base_url) -> tes.HTTPClient:
    return tes.HTTPClient(base_url, timeout=10)


@pytest.fixture()
def http() -> requests.Session:
    with requests.Session() as session:
        yield session
