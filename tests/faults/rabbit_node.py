"""A RabbitMQ node of a fault test's own, so the test can stop and crash it.

The machine's RabbitMQ (5672) serves every other test run and must never be touched. This node
is a second one of the same Debian server: its own node name, AMQP and distribution ports, data
and log directories, Erlang cookie (a HOME of its own) and even its own epmd port, all under a
temporary directory. The server script is run directly (not the Debian wrapper, which would
`su` to the rabbitmq user and lose this environment), in a process group of its own.
"""

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.processes import ProcessGroup, free_port, is_listening

LOOPBACK = "127.0.0.1"
SERVER_DIR = Path("/usr/lib/rabbitmq/bin")
START_SECONDS = 60.0
PROCESS = "rabbitmq"


def unavailable_reason() -> str | None:
    """Why a second node cannot be started here, or None when it can."""
    if not (SERVER_DIR / "rabbitmq-server").exists():
        return f"no RabbitMQ server scripts in {SERVER_DIR} (Debian package rabbitmq-server)"
    if os.geteuid() != 0:
        return "a second RabbitMQ node needs root here (the Debian install is root-owned)"
    if shutil.which("epmd") is None and not Path("/usr/lib/erlang/bin/epmd").exists():
        return "no epmd (Erlang) to run a second RabbitMQ node"
    return None


@dataclass
class RabbitNode:
    """One private RabbitMQ node; `stop` shuts it down, `kill` crashes it, `start` restarts it
    on the same data (durable queues and the guest user survive)."""

    base: Path
    group: ProcessGroup
    name: str = field(default_factory=lambda: f"faults{uuid.uuid4().hex[:8]}@localhost")
    amqp_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    epmd_port: int = field(default_factory=free_port)

    @property
    def amqp_url(self) -> str:
        """The URL of the node's default vhost as its default user (loopback only)."""
        return f"amqp://guest:guest@{LOOPBACK}:{self.amqp_port}/"

    def environment(self) -> dict[str, str]:
        """The server's and rabbitmqctl's environment: everything points into `base`."""
        (self.base / "home").mkdir(parents=True, exist_ok=True)
        cookie = self.base / "home" / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(uuid.uuid4().hex)
            cookie.chmod(0o400)
        (self.base / "rabbitmq.conf").touch()
        (self.base / "rabbitmq-env.conf").touch()  # not /etc's, which names the machine's node
        (self.base / "enabled_plugins").write_text("[].\n")  # no plugins: a quicker start
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.base / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
        }

    def start(self) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        self.group.start(PROCESS, [str(SERVER_DIR / "rabbitmq-server")],
                         env=self.environment(), cwd=self.base)
        self.group.wait_until(PROCESS, self._answers_amqp, timeout=START_SECONDS,
                              what="accepting AMQP connections")

    def stop(self) -> None:
        """Shut the node down as an operator would (SIGTERM): clients are told to disconnect."""
        self.group.stop(PROCESS)
        self._wait_closed()

    def kill(self) -> None:
        """Crash the node (SIGKILL): clients only see their sockets die."""
        self.group.kill(PROCESS)
        self._wait_closed()

    def stop_epmd(self) -> None:
        """Stop the node's own epmd (the Erlang VM starts it detached, outside the group)."""
        epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"],
                       env=self.environment(), capture_output=True, timeout=10, check=False)

    def _wait_closed(self) -> None:
        deadline = time.monotonic() + 10
        while is_listening(LOOPBACK, self.amqp_port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _answers_amqp(self) -> bool:
        # The port opens before the node is ready for logins; the AMQP greeting says it is.
        try:
            with socket.create_connection((LOOPBACK, self.amqp_port), timeout=1.0) as probe:
                probe.sendall(b"AMQP\x00\x00\x09\x01")
                return probe.recv(8)[:1] == b"\x01"  # a Connection.Start method frame
        except OSError:
            return False
