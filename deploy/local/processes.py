"""Child processes of the local stack: each in a session of its own, stopped together.

Every child runs in its own process group, so a Ctrl-C in the terminal reaches only the command
that started them, which then stops exactly its children (SIGTERM to each group, SIGKILL after a
grace period) and nothing else on the machine. A child also gets SIGTERM when its parent dies
(Linux's parent-death signal), so a killed test run does not leave servers behind.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

STOP_GRACE_SECONDS = 20.0  # weed mini may take over 10 s to stop its filer


class StartupError(RuntimeError):
    """A process of the stack did not become ready; the message holds the tail of its log."""


# util-linux's setpriv (Debian: essential) sets the parent-death signal and execs the command;
# unlike a preexec_fn it is safe when the parent runs threads (Playwright, asyncio executors).
SETPRIV = shutil.which("setpriv")


def _dying_with_parent(argv: Sequence[str]) -> list[str]:
    if SETPRIV is None:
        return list(argv)
    return [SETPRIV, "--pdeathsig", "TERM", "--", *argv]


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def is_listening(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    """True when GET url answers 200."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ProcessGroup:
    """The processes one command started, by name, with their logs in `log_dir`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, name: str) -> Path:
        """Where the output of process `name` goes."""
        return self.log_dir / f"{name}.log"

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start `argv` in a new session, output appended to its log file."""
        if name in self.processes and self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is already running")
        with self.log_path(name).open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - argv is built by this package, no shell
                _dying_with_parent(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def wait_until(
        self, name: str, check: Callable[[], bool], *, timeout: float = 60.0, what: str = ""
    ) -> None:
        """Poll `check` until it holds; fail early, with the log, if the process exits."""
        deadline = time.monotonic() + timeout
        process = self.processes.get(name)
        while not check():
            if process is not None and process.poll() is not None:
                raise StartupError(
                    f"{name} exited with {process.returncode} before {what or 'being ready'}; "
                    f"log {self.log_path(name)}:\n{log_tail(self.log_path(name))}"
                )
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{name} not {what or 'ready'} after {timeout:.0f} s; "
                    f"log {self.log_path(name)}:\n{log_tail(self.log_path(name))}"
                )
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL one process group at once (fault tests: a crash, not a shutdown)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, name: str) -> None:
        """Stop one process group: SIGTERM, then SIGKILL after the grace period."""
        self._stop([self.processes[name]])

    def stop_all(self) -> None:
        """Stop every process this group started, the last started first."""
        self._stop(list(reversed(self.processes.values())))

    @staticmethod
    def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
        running = [process for process in processes if process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
