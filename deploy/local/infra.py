"""The infrastructure of the local stack without a container engine (DESIGN.md §4).

MongoDB wire protocol: nx-27017 (in memory); S3: SeaweedFS `weed mini`; SMTP: aiosmtpd writing
a Maildir; RabbitMQ: the machine's own server, isolated per run by a virtual host.
"""

import contextlib
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from deploy.local.processes import ProcessGroup, StartupError, http_ok, is_listening

LOOPBACK = "127.0.0.1"
AMQP_PORT = 5672
RABBITMQ_START_SECONDS = 60.0
# `weed mini` opens five servers, each with a gRPC twin; gRPC = HTTP port + 10000 (weed's rule).
WEED_SERVERS = ("s3", "master", "volume", "filer", "admin")
UNIX_SOCKET_PATH_MAX = 100
# Below Linux's ephemeral range (32768-60999) so the gRPC twins (+10000) stay valid ports.
WEED_PORT_RANGE = (20000, 22000)


@dataclass(frozen=True)
class ObjectStorage:
    """An S3 endpoint and the keys that sign requests to it."""

    endpoint: str
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class MailSink:
    """An SMTP server that stores every message it receives in a Maildir."""

    host: str
    port: int
    maildir: Path


def _tool(name: str) -> str:
    """A console script of the virtualenv running this code, else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StartupError(f"{name} is not installed: run `make install`")
    return found


def start_mongo(group: ProcessGroup, port: int) -> str:
    """nx-27017 in memory on `port`; returns its URL once it accepts connections."""
    if is_listening(LOOPBACK, port):
        raise StartupError(f"port {port} (MongoDB) is taken; choose another or reuse it by URL")
    argv = [
        _tool("nx-27017"), "--data-dir", "memory", "--host", LOOPBACK, "-p", str(port),
        "--log-file", str(group.log_path("mongo")),
        "--pid-file", str(group.log_dir / "mongo.pid"),
    ]
    group.start("mongo", argv)
    group.wait_until("mongo", lambda: is_listening(LOOPBACK, port), what="listening")
    return f"mongodb://{LOOPBACK}:{port}"


def weed_ports(s3_port: int) -> dict[str, int]:
    """The HTTP port of each weed server: S3 on `s3_port`, the others just above it."""
    return {server: s3_port + offset for offset, server in enumerate(WEED_SERVERS)}


def free_s3_port() -> int:
    """An S3 port whose nine weed companions are free too, all below 65536."""
    for _ in range(200):
        candidate = secrets.randbelow(WEED_PORT_RANGE[1] - WEED_PORT_RANGE[0]) + WEED_PORT_RANGE[0]
        wanted = [port + grpc for port in weed_ports(candidate).values() for grpc in (0, 10000)]
        if not any(is_listening(LOOPBACK, port) for port in wanted):
            return candidate
    raise StartupError("found no free ports for weed mini")


def start_object_storage(
    group: ProcessGroup, data_dir: Path, s3_port: int, access_key: str, secret_key: str
) -> ObjectStorage:
    """SeaweedFS `weed mini` with S3 on `s3_port`, every other port moved beside it."""
    ports = weed_ports(s3_port)
    for server, port in ports.items():
        for taken in (port, port + 10000):
            if is_listening(LOOPBACK, taken):
                raise StartupError(f"port {taken} (weed {server}) is taken; choose another S3 port")
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        _tool("weed"), "mini", f"-dir={data_dir}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false",
    ]
    for server, port in ports.items():
        argv += [f"-{server}.port={port}", f"-{server}.port.grpc={port + 10000}"]
    # weed's default sockets live in /tmp and can outlive it; keep them in the run dir.
    if len(str(data_dir / "filer.sock")) < UNIX_SOCKET_PATH_MAX:
        argv += [f"-s3.localSocket={data_dir / 's3.sock'}",
                 f"-filer.localSocket={data_dir / 'filer.sock'}"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data_dir),
           "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    group.start("s3", argv, env=env, cwd=data_dir)
    endpoint = f"http://{LOOPBACK}:{s3_port}"
    group.wait_until("s3", lambda: http_ok(f"{endpoint}/healthz"), what="healthy")
    return ObjectStorage(endpoint=endpoint, access_key=access_key, secret_key=secret_key)


def start_mail_sink(group: ProcessGroup, port: int, maildir: Path) -> MailSink:
    """aiosmtpd on `port`, storing every message in `maildir` (read with `mailbox.Maildir`)."""
    if is_listening(LOOPBACK, port):
        raise StartupError(f"port {port} (SMTP) is taken; choose another")
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{LOOPBACK}:{port}",
            "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    group.start("smtp", argv)
    group.wait_until("smtp", lambda: is_listening(LOOPBACK, port), what="listening")
    return MailSink(host=LOOPBACK, port=port, maildir=maildir)


def ensure_rabbitmq() -> bool:
    """Reuse the RabbitMQ listening on 5672, else start the Debian server; True if started."""
    if is_listening(LOOPBACK, AMQP_PORT):
        return False
    server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    if not Path(server).exists():
        raise StartupError("RabbitMQ is neither running nor installed: run `make install` as root")
    subprocess.run([server, "-detached"], check=True)  # noqa: S603 - fixed argv
    deadline = time.monotonic() + RABBITMQ_START_SECONDS
    while not is_listening(LOOPBACK, AMQP_PORT):
        if time.monotonic() > deadline:
            raise StartupError("rabbitmq-server started but 5672 does not answer")
        time.sleep(0.5)
    return True


def stop_rabbitmq() -> None:
    """Stop the RabbitMQ server this stack started (never one it found running)."""
    _rabbitmqctl("stop")


def _rabbitmqctl(*args: str) -> bool:
    tool = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    try:
        subprocess.run([tool, "-q", *args], check=True, capture_output=True, timeout=60)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def create_vhost(vhost: str) -> bool:
    """Create a RabbitMQ virtual host for one run (needs root); False when that is impossible."""
    return _rabbitmqctl("add_vhost", vhost) and _rabbitmqctl(
        "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"
    )


def delete_vhost(vhost: str) -> None:
    """Delete a run's virtual host with its queues and exchanges."""
    with contextlib.suppress(Exception):
        _rabbitmqctl("delete_vhost", vhost)


def amqp_url(vhost: str) -> str:
    """The URL of `vhost` on the local RabbitMQ as its default user ("/" is the default vhost)."""
    path = "" if vhost == "/" else quote(vhost, safe="")
    return f"amqp://guest:guest@{LOOPBACK}:{AMQP_PORT}/{path}"


def drop_databases(mongo_url: str, names: list[str]) -> None:
    """Drop a run's databases from a MongoDB it did not start (best effort)."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url, serverSelectionTimeoutMS=3000)
    with contextlib.suppress(PyMongoError), client:
        for name in names:
            client.drop_database(name)
