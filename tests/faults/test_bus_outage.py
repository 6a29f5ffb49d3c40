"""The message bus goes away under load: callers get 503 at once, and everything comes back alone.

A gateway and the auth service run on a RabbitMQ node of this test's own (tests/faults/
rabbit_node.py; the machine's node is never touched). While clients keep calling, the node is
shut down, then started again; later it is crashed (SIGKILL) and started again. Neither the
gateway nor auth is restarted: their robust connections must come back by themselves.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from deploy.local import infra
from deploy.local.applications import GATEWAY, SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, log_in
from tests.faults.rabbit_node import RabbitNode, unavailable_reason

pytestmark = pytest.mark.system

ANSWER_SECONDS = 2.0  # "at once": while the bus is away, no call may wait longer
# Once the node is back, the gateway may be reconnected a moment before auth is: a call sent
# then waits for auth, at worst until the RPC timeout (5 s) answers 503 (margin: a loaded
# 2-core machine). Never a hang.
SLOWEST_SECONDS = 8.0
RECOVERY_SECONDS = 20.0  # from the node accepting connections to calls answered again
DOWN_SECONDS = 3.0
CALLERS = 4
UNAVAILABLE_NL = "MyBroker is tijdelijk niet beschikbaar. Probeer het zo dadelijk opnieuw."
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Outage:
    """A private node, and the gateway and auth service that use it."""

    node: RabbitNode
    group: ProcessGroup
    config: ApplicationConfig
    staff_token: str


@dataclass(frozen=True)
class Answer:
    """One call made during the run, as the caller saw it."""

    kind: str  # api | page
    sent_at: float
    seconds: float
    status: int | None  # None: no HTTP answer at all (dropped connection, read timeout)
    error: str
    content_type: str
    retry_after: str
    body: str


@pytest.fixture(scope="module")
def outage(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    """A private RabbitMQ node, auth and the gateway on it; all stopped at the end."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of the test's own: {reason}")
    base = tmp_path_factory.mktemp("bus-outage")  # short: Erlang dislikes long paths
    group = ProcessGroup(base / "logs")
    node = RabbitNode(base / "rabbit", group)
    run_id = uuid.uuid4().hex[:8]
    config: ApplicationConfig | None = None
    try:
        node.start()
        keys = write_signing_keys(base / "secrets")
        config = ApplicationConfig(
            environment="test", amqp_url=node.amqp_url, mongo_url=mongo_url,
            mongo_db_prefix=f"faults_{run_id}",
            storage=infra.ObjectStorage("http://127.0.0.1:9", "unused", "unused"),
            mail=infra.MailSink(infra.LOOPBACK, 9, base / "maildir"),
            private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
            admin_email=f"admin.{run_id}@mybroker.example", admin_password=new_password(),
            office_email=f"office.{run_id}@mybroker.example",
            gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
        )
        applications = ApplicationStack(config, group)
        for name in ("auth", GATEWAY):
            applications.start(name)
        for name in ("auth", GATEWAY):
            applications.wait_ready(name)
        with httpx.Client(base_url=config.gateway_url, timeout=30.0) as client:
            token = log_in(client, config.admin_email, config.admin_password)["access_token"]
        yield Outage(node=node, group=group, config=config, staff_token=token)
    finally:
        group.stop_all()
        node.stop_epmd()
        if config is not None:
            infra.drop_databases(mongo_url, [f"{config.mongo_db_prefix}_auth"])


class Callers:
    """Clients calling the gateway without pause, each on its own keep-alive connection."""

    def __init__(self, outage: Outage) -> None:
        self.outage = outage
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._call, args=(index,), daemon=True)
                         for index in range(CALLERS)]

    def __enter__(self) -> "Callers":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def since(self, moment: float) -> list[Answer]:
        """The answers to calls sent at or after `moment`."""
        with self._lock:
            return [answer for answer in self.answers if answer.sent_at >= moment]

    def _call(self, index: int) -> None:
        # Half the callers use the JSON API as staff, half open a web page anonymously; both
        # need the auth service over the bus. A client timeout far above ANSWER_SECONDS shows
        # how long a call really hangs.
        kind = "api" if index % 2 == 0 else "page"
        headers = bearer(self.outage.staff_token) if kind == "api" else {}
        path = "/admin/api/v1/accounts?limit=5" if kind == "api" else "/activate?token=no-such"
        with httpx.Client(base_url=self.outage.config.gateway_url, timeout=15.0,
                          headers=headers) as client:
            while not self._stop.is_set():
                sent_at = time.monotonic()
                try:
                    response = client.get(path)
                except httpx.HTTPError as error:
                    answer = Answer(kind, sent_at, time.monotonic() - sent_at, None,
                                    f"{type(error).__name__}: {error}", "", "", "")
                else:
                    answer = Answer(kind, sent_at, time.monotonic() - sent_at,
                                    response.status_code, "",
                                    response.headers.get("content-type", ""),
                                    response.headers.get("retry-after", ""), response.text)
                with self._lock:
                    self.answers.append(answer)
                time.sleep(0.05)


def _served(answer: Answer) -> bool:
    """The call reached auth: the account list (API) or "no such invitation" (page)."""
    return answer.status == (200 if answer.kind == "api" else 404)


def _ready(url: str) -> tuple[int, dict[str, bool]]:
    """The status of a readiness probe and its checks."""
    response = httpx.get(url, timeout=5.0)
    checks: dict[str, bool] = response.json()["checks"]
    return response.status_code, checks


def _check_unavailable(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.retry_after.isdigit() and int(answer.retry_after) > 0, answer
    if answer.kind == "api":
        assert answer.content_type.startswith(PROBLEM), answer
        assert '"urn:mybroker:problem:unavailable"' in answer.body, answer
    else:
        assert answer.content_type.startswith("text/html"), answer
        assert UNAVAILABLE_NL in answer.body, answer  # readable, in the reader's language


def _go_through_an_outage(outage: Outage, take_down: Callable[[], None]) -> dict[str, float]:
    """Take the node down under load, start it again; check every answer; return figures."""
    config = outage.config
    pids = {name: outage.group.processes[name].pid for name in ("auth", GATEWAY)}
    with Callers(outage) as callers:
        time.sleep(1.0)
        assert any(_served(answer) for answer in callers.since(0)), "calls work before"
        stopping = time.monotonic()
        take_down()
        down = time.monotonic()
        time.sleep(DOWN_SECONDS)
        gateway_ready = _ready(config.ready_url(GATEWAY))
        auth_ready = _ready(config.ready_url("auth"))
        starting = time.monotonic()
        outage.node.start()
        up = time.monotonic()
        recovered: float | None = None
        while time.monotonic() < up + RECOVERY_SECONDS:
            served = [a for a in callers.since(up) if _served(a)]
            if {a.kind for a in served} == {"api", "page"}:
                recovered = max(min(a.sent_at for a in served if a.kind == kind)
                                for kind in ("api", "page"))
                break
            time.sleep(0.1)
        time.sleep(1.0)  # once back, calls keep working
        settled = time.monotonic()
        time.sleep(1.0)
    answers = callers.since(0)

    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"{len(dropped)} calls got no HTTP answer: {dropped[:3]}"
    failed = [a for a in answers if a.status is not None and a.status >= 500 and a.status != 503]
    assert not failed, f"{len(failed)} calls failed with a 5xx other than 503: {failed[:3]}"
    slow = [a for a in answers if a.seconds > (
        ANSWER_SECONDS if stopping <= a.sent_at < starting else SLOWEST_SECONDS)]
    assert not slow, f"{len(slow)} calls took too long: {slow[:3]}"
    while_down = [a for a in answers if down <= a.sent_at and a.sent_at + a.seconds < starting]
    assert len(while_down) >= 10 and {a.kind for a in while_down} == {"api", "page"}
    for answer in while_down:
        _check_unavailable(answer)
    for answer in answers:
        if not _served(answer):
            _check_unavailable(answer)  # never anything but served or a proper 503

    assert gateway_ready[0] == 503 and gateway_ready[1]["bus"] is False, gateway_ready
    assert auth_ready[0] == 503, auth_ready
    assert recovered is not None, (
        f"calls not served again within {RECOVERY_SECONDS} s of the node's restart")
    after = [a for a in answers if a.sent_at >= settled]
    assert after and all(_served(a) for a in after), after[:3]
    for name, pid in pids.items():
        process = outage.group.processes[name]
        assert process.pid == pid and process.poll() is None, f"{name} was restarted or died"
    assert _ready(config.ready_url(GATEWAY))[0] == 200
    assert _ready(config.ready_url("auth"))[0] == 200
    with httpx.Client(base_url=config.gateway_url, timeout=10.0) as client:
        assert log_in(client, config.admin_email, config.admin_password)["access_token"]
    return {
        "calls": len(answers),
        "unavailable": sum(a.status == 503 for a in answers),
        "slowest_s": round(max(a.seconds for a in answers), 3),
        "slowest_503_s": round(max(a.seconds for a in answers if a.status == 503), 3),
        "take_down_s": round(down - stopping, 1),
        "node_start_s": round(up - starting, 1),
        "recovered_after_node_up_s": round(recovered - up, 1),
    }


def test_bus_shutdown_and_crash_answer_503_at_once_and_both_processes_recover_alone(
    outage: Outage,
) -> None:
    shutdown = _go_through_an_outage(outage, outage.node.stop)
    print("bus shut down:", shutdown)  # figures for the report (pytest -s)
    crash = _go_through_an_outage(outage, outage.node.kill)
    print("bus crashed:", crash)
