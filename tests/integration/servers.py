"""Start, stop, kill and restart the real servers the integration tests drive: Pulsar and TESP itself.

MongoDB (SecantusDB) is started once by scripts/test, because the Swift tests use it too; everything else is
started here, so that a test can kill or stop a server in the middle of a task.
"""
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up (code {process.returncode})")
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout}s")


def stop_session(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 10) -> None:
    """Stops a process started with start_new_session, and everything left in its session."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    leftovers = subprocess.run(["ps", "-o", "pid=", "--sid", str(process.pid)], capture_output=True, text=True)
    for pid in leftovers.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def allow_traversal(directory: Path) -> None:
    """Creates `directory` and lets every user pass through it and its parents (o+x), as executors that run as
    an unprivileged user must, to reach their job's directory. pytest's temporary directories are 0700."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in [directory, *directory.parents]:
        mode = path.stat().st_mode
        if not mode & 0o001:
            os.chmod(path, (mode & 0o7777) | 0o001)


class Pulsar:
    """A Pulsar server (REST, private token) with its own staging directory."""

    def __init__(self, directory: Path, concurrent_jobs: int = 8):
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = "t-" + secrets.token_hex(8)
        self.process = None
        (directory / "xdg").mkdir(parents=True, exist_ok=True)
        (directory / "server.ini").write_text(
            f"[server:main]\nhost = 127.0.0.1\nport = {self.port}\n[app:main]\napp_config = %(here)s/app.yml\n")
        (directory / "app.yml").write_text(
            f"private_token: {self.token}\nstaging_directory: {directory}/staging\n"
            f"persistence_directory: {directory}/persisted\nconda_auto_init: false\nconda_auto_install: false\n"
            f"managers:\n  _default_:\n    type: queued_python\n    num_concurrent_jobs: {concurrent_jobs}\n")
        # As the README's security model asks: the token only for Pulsar's user; the staging directory
        # traversable (not listable) by the sandbox user that bwrap drops root to.
        os.chmod(directory / "app.yml", 0o600)
        allow_traversal(directory / "staging")

    def start(self) -> "Pulsar":
        log = open(self.directory / "pulsar.log", "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "pulsar-serve"), str(self.directory / "server.ini")], cwd=self.directory,
            env={**os.environ, "XDG_RUNTIME_DIR": str(self.directory / "xdg")},
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        wait_for(lambda: requests.get(f"{self.url}/healthz", params={"private_token": self.token}, timeout=1).ok,
                 "Pulsar", self.process)
        return self

    def stop(self) -> None:
        """Stops Pulsar and every job process it started."""
        if self.process:
            stop_session(self.process)

    def job_processes(self, marker: str) -> list:
        """Processes whose command line contains `marker`, anywhere on this machine: executors run in a session of
        their own (bwrap --new-session), so they are not in Pulsar's. Markers are unique to a test."""
        out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True)
        return [line for line in out.stdout.splitlines() if marker in line and "ps -eo" not in line]


class PulsarQueueMode:
    """A Pulsar server in message-queue mode (`pulsar-main`, no web server: nothing can connect to it), taking jobs
    from a broker's queues under a manager name."""

    def __init__(self, directory: Path, broker_url: str, manager: str = "_default_", concurrent_jobs: int = 8):
        self.directory = directory
        self.manager = manager
        self.process = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "xdg").mkdir(exist_ok=True)
        (directory / "app.yml").write_text(
            f"staging_directory: {directory}/staging\npersistence_directory: {directory}/persisted\n"
            f"conda_auto_init: false\nconda_auto_install: false\nmessage_queue_url: {broker_url}\n"
            f"managers:\n  {manager}:\n    type: queued_python\n    num_concurrent_jobs: {concurrent_jobs}\n")
        os.chmod(directory / "app.yml", 0o600)
        allow_traversal(directory / "staging")

    def start(self) -> "PulsarQueueMode":
        log = open(self.directory / "pulsar.log", "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "pulsar-main"), "-c", str(self.directory)], cwd=self.directory,
            env={**os.environ, "XDG_RUNTIME_DIR": str(self.directory / "xdg")},
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        wait_for(lambda: "Finished consuming" not in self.log() and self._consuming(), "Pulsar (queue mode)", self.process)
        return self

    def _consuming(self) -> bool:
        # Pulsar logs nothing when its consumers are up; its persistence directory appears once its managers exist.
        return (self.directory / "persisted").exists()

    def stop(self) -> None:
        if self.process:
            stop_session(self.process)

    def log(self) -> str:
        path = self.directory / "pulsar.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def job_directories(self) -> list:
        staging = self.directory / "staging"
        return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


class RabbitMQ:
    """A private RabbitMQ node (Debian's rabbitmq-server) on 127.0.0.1, with its own epmd, ports and data folder,
    started and stopped as a session, so that a test can stop the broker mid-run and start it again."""

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, directory: Path, tls: dict = None):
        """`tls`: {"cacertfile", "certfile", "keyfile"} for an amqps listener on `tls_port` beside the plain one."""
        self.directory = directory
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.epmd_port = free_port()
        self.dist_port = free_port()
        self.node = f"tesp{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.process = None
        self.epmd = None
        directory.mkdir(parents=True, exist_ok=True)
        conf = f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users.guest = true\n"
        if tls:
            conf += (f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\nssl_options.cacertfile = {tls['cacertfile']}\n"
                     f"ssl_options.certfile = {tls['certfile']}\nssl_options.keyfile = {tls['keyfile']}\n"
                     "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n")
        (directory / "rabbitmq.conf").write_text(conf)
        (directory / "enabled_plugins").write_text("[].\n")

    def _env(self) -> dict:
        d = self.directory
        return {**os.environ, "HOME": str(d), "ERL_EPMD_PORT": str(self.epmd_port), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
                "RABBITMQ_LOG_BASE": str(d / "log"), "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"), "RABBITMQ_PID_FILE": str(d / "rabbit.pid")}

    def start(self, timeout: float = 90) -> "RabbitMQ":
        log = open(self.directory / "rabbitmq.out", "ab")
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.process = subprocess.Popen([self.SERVER], env=self._env(), cwd=self.directory,
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

        def ready():
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_for(ready, "RabbitMQ", self.process, timeout=timeout)
        return self

    def stop(self) -> None:
        """Stops the broker (its messages are durable: persistent messages in durable queues survive)."""
        if self.process:
            stop_session(self.process, timeout=30)

    def stop_all(self) -> None:
        self.stop()
        if self.epmd:
            stop_session(self.epmd)


class Tesp:
    """A `tesp serve` process on its own port and database, with the bwrap runtime."""

    def __init__(self, directory: Path, mongodb_uri: str, pulsar: Pulsar, database: str, **settings: str):
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/ga4gh/tes/v1"
        self.env = {
            **os.environ,
            "TESP_PROFILE": "test",
            "TESP_SERVER__PORT": str(self.port),
            "TESP_DB__MONGODB_URI": mongodb_uri,
            "TESP_DB__DATABASE": database,
            "TESP_PULSAR__URLS": pulsar.url,
            "TESP_PULSAR__TOKEN": pulsar.token,
            **settings,
        }
        self.process = None

    def start(self) -> "Tesp":
        binary = os.environ.get("TESP_BINARY", str(REPO / ".build" / "debug" / "tesp"))
        log = open(self.directory / "tesp.log", "ab")
        self.process = subprocess.Popen(
            [binary, "serve", "--config", str(REPO / "settings.toml")], env=self.env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        wait_for(lambda: requests.get(self.api + "/service-info", timeout=1).ok, "TESP", self.process)
        return self

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process:
            stop_session(self.process)

    def log(self) -> str:
        return (self.directory / "tesp.log").read_text(errors="replace")


class FtpServer:
    """pyftpdlib with one user who may read and write its root directory (`anonymous`: anyone may, no user)."""

    def __init__(self, directory: Path, user: str = "tesuser", password: str = "tes-Pa55:word", anonymous: bool = False):
        self.anonymous = anonymous
        self.root = directory / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = user
        self.password = password
        self.log = directory / "ftp.log"
        self.process = None

    def start(self) -> "FtpServer":
        log = open(self.log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(self.port), "-w", "-d", str(self.root)]
            + ([] if self.anonymous else ["-u", self.user, "-P", self.password]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

        def ready():
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                return conn.recv(3) == b"220"
        wait_for(ready, "FTP server", self.process)
        return self

    def url(self, path: str, with_password: bool = True) -> str:
        from urllib.parse import quote
        if self.anonymous:
            return f"ftp://127.0.0.1:{self.port}/{path.lstrip('/')}"
        password = ":" + quote(self.password, safe="") if with_password else ""
        return f"ftp://{self.user}{password}@127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        if self.process:
            stop_session(self.process)


class MongoServer:
    """A SecantusDB (MongoDB wire protocol) of a test's own, keeping its data on disk across restarts."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000"
        self.process = None

    def start(self) -> "MongoServer":
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "mongodb.log", "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", str(self.directory / "data"), "--standalone"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

        def ready():
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_for(ready, "MongoDB (SecantusDB)", self.process)
        return self

    def stop(self) -> None:
        if self.process:
            stop_session(self.process, timeout=20)


class S3Server:
    """moto's S3 server with authentication on: requests must be signed (AWS Signature V4) with a key of a user
    it knows, so a wrong secret gets SignatureDoesNotMatch as from AWS. The first three calls (unsigned) make that
    user, its key and a policy that lets it use S3."""

    def __init__(self, directory: Path, region: str = "us-east-1", auth: bool = True):
        self.directory = directory
        self.auth = auth
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.region = region
        self.process = None
        self.key_id = self.secret = None

    def start(self) -> "S3Server":
        log = open(self.directory / "moto.log", "ab")
        # Without auth, moto takes any request, signed or not: it stands in for a public bucket (with auth on,
        # moto 5.2 cannot answer an unsigned request at all).
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"} if self.auth else dict(os.environ)
        self.process = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)], env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close() or True,
                 "S3 server (moto)", self.process)
        if not self.auth:
            self.key_id, self.secret = "unused", "unused"
            return self
        import json
        iam = self._boto("iam", "unused", "unused")
        iam.create_user(UserName="tesp")
        key = iam.create_access_key(UserName="tesp")["AccessKey"]
        iam.put_user_policy(UserName="tesp", PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        return self

    def _boto(self, service: str, key_id: str, secret: str):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def client(self):
        """A boto3 S3 client signed with the user's key."""
        return self._boto("s3", self.key_id, self.secret)

    def stop(self) -> None:
        if self.process:
            stop_session(self.process)
