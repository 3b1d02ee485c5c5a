"""Who may call TESP, and who sees which task: HTTP Basic users, and OIDC bearer tokens checked against keys an
identity provider started by the test publishes. Tokens are signed here with PyJWT."""
import json
import os
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
import tes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from helpers import executor
from servers import REPO, Tesp, free_port

TESP_BINARY = os.environ.get("TESP_BINARY", str(REPO / ".build" / "debug" / "tesp"))


def hash_password(user: str, password: str) -> str:
    """An auth.basic.users entry, made by `tesp hash-password` (cost 4: quick; the check is the same at any cost)."""
    result = subprocess.run([TESP_BINARY, "hash-password", "--user", user, "--cost", "4"], input=password + "\n",
                            capture_output=True, text=True, check=True, timeout=30)
    entry = result.stdout.strip()
    assert entry.startswith(f"{user}:$2") and password not in entry, entry
    return entry


def wait_until_done(client: tes.HTTPClient, task_id: str, timeout: float = 60) -> tes.Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get_task(task_id, view="FULL")
        if task.state in ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED"):
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} not done after {timeout}s")


def echo_task(text: str) -> tes.Task:
    return tes.Task(executors=[tes.Executor(image="ubuntu:24.04", command=["echo", text])])


def status_of(call) -> int:
    with pytest.raises(requests.HTTPError) as raised:
        call()
    return raised.value.response.status_code


def test_basic_users_see_only_their_own_tasks(tmp_path, mongodb_uri, pulsar):
    passwords = {"alice": "alice: pw with spaces", "bob": "b0b-pw", "root": "r00t-pw"}
    users = ",".join(hash_password(user, password) for user, password in passwords.items())
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_basic_" + uuid.uuid4().hex[:8],
                TESP_AUTH__MODE="basic", TESP_AUTH__BASIC__USERS=users, TESP_AUTH__ADMINS="root",
                TESP_LOG__LEVEL="debug").start()
    try:
        alice, bob, root = (tes.HTTPClient(tesp.url, user=user, password=passwords[user]) for user in passwords)
        task_id = alice.create_task(echo_task("hello alice"))
        done = wait_until_done(alice, task_id)
        assert done.state == "COMPLETE" and done.logs[0].logs[0].stdout == "hello alice\n"

        # Someone else's task does not exist for bob: 404 for get and cancel, absent from his list.
        assert status_of(lambda: bob.get_task(task_id)) == 404
        assert status_of(lambda: bob.cancel_task(task_id)) == 404
        assert bob.list_tasks().tasks in (None, [])
        bobs = bob.create_task(echo_task("hello bob"))
        assert [t.id for t in bob.list_tasks().tasks] == [bobs]
        # The admin sees every task; alice still sees only hers.
        assert {t.id for t in root.list_tasks().tasks} == {task_id, bobs}
        assert [t.id for t in alice.list_tasks().tasks] == [task_id]

        # No credentials, or wrong ones: 401 with a challenge; what describes the service stays public.
        anonymous = requests.get(tesp.api + "/tasks", timeout=10)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="TESP", charset="UTF-8"'
        wrong = requests.get(tesp.api + "/tasks", auth=("alice", passwords["bob"]), timeout=10)
        assert wrong.status_code == 401
        assert requests.get(tesp.api + "/service-info", timeout=10).status_code == 200

        # The tesp command-line client authenticates the same way (password from the environment, not argv).
        cli = subprocess.run([TESP_BINARY, "task", "list", "--server", tesp.url, "--user", "bob", "--json"],
                             env={**os.environ, "TESP_PASSWORD": passwords["bob"]}, capture_output=True, text=True,
                             timeout=60)
        assert cli.returncode == 0 and bobs in cli.stdout and task_id not in cli.stdout, cli
        refused = subprocess.run([TESP_BINARY, "task", "get", task_id, "--server", tesp.url, "--user", "bob"],
                                 env={**os.environ, "TESP_PASSWORD": "wrong"}, capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode != 0 and "401" in refused.stderr, refused

        # The owner is never shown, and no password or hash reaches the log.
        full = requests.get(f"{tesp.api}/tasks/{task_id}?view=FULL", auth=("alice", passwords["alice"]), timeout=10)
        assert "alice" not in full.text.replace("hello alice", "")
        log = tesp.log()
        assert all(password not in log for password in passwords.values())
        assert "$2b$" not in log
    finally:
        tesp.stop()


class Issuer:
    """An OpenID Connect provider in the test: a discovery document and a JWK set over HTTP, keys made here."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/realms/tes"
        self.keys = {"rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                     "ec-1": ec.generate_private_key(ec.SECP256R1())}
        self.published = ["rsa-1", "ec-1"]
        self.fetches = {"discovery": 0, "jwks": 0}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/realms/tes/.well-known/openid-configuration":
                    issuer.fetches["discovery"] += 1
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/protocol/openid-connect/certs"}
                elif self.path == "/realms/tes/protocol/openid-connect/certs":
                    issuer.fetches["jwks"] += 1
                    body = {"keys": [issuer.jwk(kid) for kid in issuer.published]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwk(self, kid: str) -> dict:
        key = self.keys[kid].public_key()
        algorithm = RSAAlgorithm if kid.startswith("rsa") else ECAlgorithm
        return {**json.loads(algorithm.to_jwk(key)), "kid": kid, "use": "sig"}

    def token(self, subject: str, kid: str = "rsa-1", audience="tesp", expires_in: float = 300, issuer=None,
              **claims) -> str:
        now = int(time.time())
        payload = {"iss": issuer or self.url, "aud": audience, "sub": subject, "iat": now, "exp": now + expires_in,
                   **claims}
        algorithm = "RS256" if kid.startswith("rsa") else "ES256"
        return jwt.encode(payload, self.keys[kid], algorithm=algorithm, headers={"kid": kid})

    def stop(self):
        self.server.shutdown()


@pytest.fixture()
def oidc_tesp(tmp_path, mongodb_uri, pulsar):
    issuer = Issuer()
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_oidc_" + uuid.uuid4().hex[:8],
                TESP_AUTH__MODE="oidc", TESP_AUTH__OIDC__ISSUER=issuer.url, TESP_AUTH__OIDC__AUDIENCES="tesp",
                TESP_AUTH__OIDC__ADMIN_GROUPS="tes-admins", TESP_LOG__LEVEL="debug").start()
    yield issuer, tesp
    tesp.stop()
    issuer.stop()


def test_oidc_keys_from_a_configured_jwks_url_skip_discovery(tmp_path, mongodb_uri, pulsar):
    issuer = Issuer()
    tesp = Tesp(tmp_path, mongodb_uri, pulsar, database="tesp_jwks_" + uuid.uuid4().hex[:8],
                TESP_AUTH__MODE="oidc", TESP_AUTH__OIDC__ISSUER=issuer.url, TESP_AUTH__OIDC__AUDIENCES="other,tesp",
                TESP_AUTH__OIDC__JWKS_URL=issuer.url + "/protocol/openid-connect/certs",
                TESP_AUTH__OIDC__SUBJECT_CLAIM="preferred_username").start()
    try:
        client = tes.HTTPClient(tesp.url, token=issuer.token("f81d4fae-uuid", kid="ec-1", preferred_username="alice"))
        task_id = client.create_task(echo_task("by name"))
        assert client.get_task(task_id).id == task_id
        other = tes.HTTPClient(tesp.url, token=issuer.token("f81d4fae-uuid", preferred_username="bob"))
        assert status_of(lambda: other.get_task(task_id)) == 404  # the owner is the name, not the shared sub
        assert issuer.fetches == {"discovery": 0, "jwks": 1}
    finally:
        tesp.stop()
        issuer.stop()


def test_oidc_bearer_tokens_identify_callers_and_their_tasks(oidc_tesp):
    issuer, tesp = oidc_tesp
    alice = tes.HTTPClient(tesp.url, token=issuer.token("alice"))
    bob = tes.HTTPClient(tesp.url, token=issuer.token("bob", kid="ec-1"))  # ES256
    admin = tes.HTTPClient(tesp.url, token=issuer.token("carol", groups=["staff", "tes-admins"]))

    task_id = alice.create_task(echo_task("hello"))
    assert wait_until_done(alice, task_id).state == "COMPLETE"
    assert status_of(lambda: bob.get_task(task_id)) == 404
    assert status_of(lambda: bob.cancel_task(task_id)) == 404
    assert bob.list_tasks().tasks in (None, [])
    assert [t.id for t in admin.list_tasks().tasks] == [task_id]
    # The keys came through the issuer's discovery document, fetched once for all these calls.
    assert issuer.fetches == {"discovery": 1, "jwks": 1}


def test_oidc_refuses_expired_foreign_forged_and_unsigned_tokens(oidc_tesp):
    issuer, tesp = oidc_tesp
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": "tesp", "sub": "mallory", "exp": now + 300}
    public_pem = issuer.keys["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    refused = {
        "expired": (issuer.token("alice", expires_in=-120), "expired"),
        "wrong audience": (issuer.token("alice", audience="another-service"), "aud"),
        "wrong issuer": (issuer.token("alice", issuer="https://evil.example.org"), "not issued by"),
        "wrong key": (jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "rsa-1"}), "signature"),
        "alg none": (jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"}), "'none'"),
        "HMAC with the public key": (_hs256(claims, public_pem), "'HS256'"),
        "garbage": ("not.a.jwt", "not a JWT"),
    }
    for case, (token, reason) in refused.items():
        response = requests.get(tesp.api + "/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401, (case, response.text)
        assert reason in response.json()["message"], (case, response.text)
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="TESP", error="invalid_token"'), (case, challenge)
        assert token not in tesp.log(), case
    missing = requests.get(tesp.api + "/tasks", timeout=10)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="TESP"'
    # Nothing refused was created.
    admin = tes.HTTPClient(tesp.url, token=issuer.token("carol", groups=["tes-admins"]))
    assert admin.list_tasks().tasks in (None, [])


def _hs256(claims: dict, secret: bytes) -> str:
    """An HS256 token keyed with the RSA public key: the algorithm-confusion attack. PyJWT refuses to make one with
    a PEM key, so it is assembled by hand."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_oidc_picks_up_a_rotated_key(oidc_tesp):
    issuer, tesp = oidc_tesp
    first = tes.HTTPClient(tesp.url, token=issuer.token("alice"))
    assert first.list_tasks().tasks in (None, [])
    issuer.keys["rsa-2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.published = ["rsa-2", "ec-1"]  # the old key is retired
    time.sleep(10.5)  # TESP fetches keys for an unknown kid at most every 10 s
    rotated = tes.HTTPClient(tesp.url, token=issuer.token("alice", kid="rsa-2"))
    assert rotated.list_tasks().tasks in (None, [])
    assert issuer.fetches["jwks"] == 2
    # A token signed with the retired key names a key id the issuer no longer publishes.
    retired = requests.get(tesp.api + "/tasks", headers={"Authorization": f"Bearer {issuer.token('alice')}"},
                           timeout=10)
    assert retired.status_code == 401 and "key id" in retired.json()["message"], retired.text
