"""The database goes away under load: 503 at once, nothing half-written, everything comes back.

The stack of this test has a Mongo-wire server of its own, keeping its data on disk so it can be
killed and started again on the same port. While a client sends messages and reads contracts and
staff list accounts, the server is killed (SIGKILL) for DOWN_SECONDS, then started again. No
process is restarted: their clients must find the database again by themselves.

Checked: every call answers (no dropped connection, no hang beyond the gateway's RPC timeout),
with either its normal answer or 503 + Retry-After (never a 500); the services report not-ready
while the database is away; every message the gateway acknowledged (201) is stored exactly once;
the outbox drains; the office gets its mails.
"""

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pymongo import MongoClient

from deploy.local import infra
from deploy.local.applications import GATEWAY, ApplicationConfig, ApplicationStack
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port, is_listening
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate, log_in
from tests.system.stack import TEST_ENVIRONMENT, fixture_dossier

pytestmark = pytest.mark.system

SERVICES_HERE = ("auth", "dossier", "requests", "notifier")
# The issue of a real outage is minutes; 20 s proves the same here (MYBROKER_FAULT_DB_DOWN_SECONDS
# to try longer ones).
DOWN_SECONDS = float(os.environ.get("MYBROKER_FAULT_DB_DOWN_SECONDS", "20"))
SLOWEST_SECONDS = 8.0  # the gateway's RPC timeout (5 s) plus a loaded machine's margin
RECOVERY_SECONDS = 30.0
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class DatabaseOutage:
    group: ProcessGroup
    config: ApplicationConfig
    mongo_argv: list[str]
    mongo_port: int
    dossier_id: str
    client_email: str
    client_password: str
    staff_token: str


def _start_mongo(group: ProcessGroup, argv: list[str], port: int) -> None:
    group.start("mongo", argv)
    group.wait_until("mongo", lambda: is_listening(infra.LOOPBACK, port), what="listening")


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseOutage]:
    run_id = uuid.uuid4().hex[:8]
    vhost = f"dbdown-{run_id}"
    if not infra.create_vhost(vhost):
        pytest.skip("cannot create a RabbitMQ vhost for this stack (rabbitmqctl)")
    base = tmp_path_factory.mktemp("db-outage")
    group = ProcessGroup(base / "logs")
    try:
        port = free_port()
        (base / "mongo").mkdir()
        mongo_argv = [infra._tool("nx-27017"), "--data-dir", str(base / "mongo"),
                      "--host", infra.LOOPBACK, "-p", str(port),
                      "--log-file", str(group.log_path("mongo-server")),
                      "--pid-file", str(base / "mongo.pid")]
        _start_mongo(group, mongo_argv, port)
        mail = infra.start_mail_sink(group, free_port(), base / "maildir")
        keys = write_signing_keys(base / "secrets")
        config = ApplicationConfig(
            environment="test", amqp_url=infra.amqp_url(vhost),
            mongo_url=f"mongodb://{infra.LOOPBACK}:{port}", mongo_db_prefix=f"dbdown_{run_id}",
            storage=infra.ObjectStorage("http://127.0.0.1:9", "unused", "unused"), mail=mail,
            private_key_path=keys.private_key_path, public_key_path=keys.public_key_path,
            admin_email=f"admin.{run_id}@mybroker.example", admin_password=new_password(),
            office_email=f"office.{run_id}@mybroker.example",
            gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES_HERE},
            extra_environment=TEST_ENVIRONMENT | {
                # One client sends many messages here: the per-account window would refuse them.
                "MYBROKER_REQUESTS_MESSAGE_BURST": "100000",
                "MYBROKER_REQUESTS_MESSAGE_INTERVAL_SECONDS": "0.001",
            },
        )
        applications = ApplicationStack(config, group)
        for name in (*SERVICES_HERE, GATEWAY):
            applications.start(name)
        for name in (*SERVICES_HERE, GATEWAY):
            applications.wait_ready(name)
        dossier = fixture_dossier("dupont")
        password = new_password()
        email = f"client.{run_id}@example.com"
        with httpx.Client(base_url=config.gateway_url, timeout=30.0) as gateway:
            staff = log_in(gateway, config.admin_email, config.admin_password)["access_token"]
            import_dossier(gateway, staff, dossier)
            invite_and_activate(gateway, staff, mail.maildir, email=email,
                                display_name="Dupont", dossier_ids=[dossier["dossier_id"]],
                                password=password)
        yield DatabaseOutage(group, config, mongo_argv, port, dossier["dossier_id"], email,
                             password, staff)
    finally:
        group.stop_all()
        infra.delete_vhost(vhost)


@dataclass(frozen=True)
class Answer:
    kind: str  # message | contracts | accounts
    sent_at: float
    seconds: float
    status: int | None
    error: str
    content_type: str
    retry_after: str
    body: str
    marker: str  # the message's subject (kind "message")


class Load:
    """A client sending messages and reading contracts, staff listing accounts; no pauses."""

    def __init__(self, outage: DatabaseOutage) -> None:
        self.outage = outage
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._call, args=(kind,), daemon=True)
                         for kind in ("message", "message", "contracts", "accounts")]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.sent_at >= moment]

    def _call(self, kind: str) -> None:
        outage = self.outage
        with httpx.Client(base_url=outage.config.gateway_url, timeout=15.0) as client:
            token = outage.staff_token if kind == "accounts" else log_in(
                client, outage.client_email, outage.client_password)["access_token"]
            token_at = time.monotonic()
            while not self._stop.is_set():
                if kind != "accounts" and time.monotonic() - token_at > 120:
                    token = log_in(client, outage.client_email,
                                   outage.client_password)["access_token"]
                    token_at = time.monotonic()
                marker = f"outage-{uuid.uuid4().hex[:12]}" if kind == "message" else ""
                sent_at = time.monotonic()
                try:
                    if kind == "message":
                        response = client.post(
                            f"/api/v1/dossiers/{outage.dossier_id}/messages",
                            headers=bearer(token), json={"subject": marker, "body": "Vraag"})
                    elif kind == "contracts":
                        response = client.get(
                            f"/api/v1/dossiers/{outage.dossier_id}/contracts",
                            headers=bearer(token))
                    else:
                        response = client.get("/admin/api/v1/accounts?limit=5",
                                              headers=bearer(token))
                except httpx.HTTPError as error:
                    answer = Answer(kind, sent_at, time.monotonic() - sent_at, None,
                                    f"{type(error).__name__}: {error}", "", "", "", marker)
                else:
                    answer = Answer(kind, sent_at, time.monotonic() - sent_at,
                                    response.status_code, "",
                                    response.headers.get("content-type", ""),
                                    response.headers.get("retry-after", ""), response.text,
                                    marker)
                with self._lock:
                    self.answers.append(answer)
                time.sleep(0.05)


def _served(answer: Answer) -> bool:
    return answer.status == (201 if answer.kind == "message" else 200)


def _ready(url: str) -> tuple[int, dict[str, bool]]:
    response = httpx.get(url, timeout=5.0)
    checks: dict[str, bool] = response.json()["checks"]
    return response.status_code, checks


def _stored_subjects(outage: DatabaseOutage) -> Counter[str]:
    client: MongoClient[dict[str, object]] = MongoClient(outage.config.mongo_url)
    requests = client[f"{outage.config.mongo_db_prefix}_requests"]["requests"]
    return Counter(str(document["subject"]) for document in requests.find(
        {"dossier_id": outage.dossier_id}, {"subject": 1}))


def _pending_events(outage: DatabaseOutage) -> int:
    client: MongoClient[dict[str, object]] = MongoClient(outage.config.mongo_url)
    requests = client[f"{outage.config.mongo_db_prefix}_requests"]["requests"]
    return requests.count_documents({"outbox_pending": {"$gt": 0}})


def _office_mail_text(outage: DatabaseOutage) -> str:
    from deploy.local.maildir import read_mails

    return "\n".join(mail.subject + "\n" + mail.text
                     for mail in read_mails(outage.config.mail.maildir)
                     if outage.config.office_email in mail.recipients)


def test_a_database_outage_answers_503_loses_nothing_and_everything_resumes_alone(
    outage: DatabaseOutage,
) -> None:
    group, config = outage.group, outage.config
    pids = {name: group.processes[name].pid for name in (*SERVICES_HERE, GATEWAY)}
    with Load(outage) as load:
        time.sleep(2.0)
        assert {a.kind for a in load.since(0) if _served(a)} == {
            "message", "contracts", "accounts"}, "calls work before"
        group.kill("mongo")
        down = time.monotonic()
        time.sleep(DOWN_SECONDS / 2)
        readiness = {name: _ready(config.ready_url(name)) for name in SERVICES_HERE}
        time.sleep(DOWN_SECONDS / 2)
        starting = time.monotonic()
        _start_mongo(group, outage.mongo_argv, outage.mongo_port)
        up = time.monotonic()
        recovered: float | None = None
        while time.monotonic() < up + RECOVERY_SECONDS:
            served = [a for a in load.since(up) if _served(a)]
            if {a.kind for a in served} == {"message", "contracts", "accounts"}:
                recovered = time.monotonic()
                break
            time.sleep(0.2)
        # Settled: three seconds in a row with every call served (a loaded machine may take a
        # few seconds more for every connection pool to find the server again).
        settled = time.monotonic()
        while time.monotonic() < up + RECOVERY_SECONDS:
            time.sleep(3.0)
            if all(_served(a) for a in load.since(settled)):
                break
            settled = time.monotonic()
        time.sleep(1.0)
    answers = load.since(0)

    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"{len(dropped)} calls got no HTTP answer: {dropped[:3]}"
    failed = [a for a in answers if a.status is not None and a.status >= 500 and a.status != 503]
    assert not failed, f"{len(failed)} calls failed with another 5xx than 503: {failed[:3]}"
    slow = [a for a in answers if a.seconds > SLOWEST_SECONDS]
    assert not slow, f"{len(slow)} calls hung: {slow[:3]}"
    for answer in answers:
        if not _served(answer):
            assert answer.status == 503, answer
            assert answer.retry_after.isdigit(), answer
            assert answer.content_type.startswith(PROBLEM), answer
    # Answered while it was down (a call still waiting for the database when it came back may
    # rightly be served).
    while_down = [a for a in answers if down + 3 <= a.sent_at and a.sent_at + a.seconds < starting]
    assert while_down, "no call was answered while the database was down"
    # Only what the gateway already kept may still be served: the contracts of the current
    # dossier version (no import can happen while the database is down), the same bytes as
    # before the outage. Everything that needs the database is refused.
    kept = {a.body for a in answers if a.kind == "contracts" and a.sent_at < down
            and a.status == 200}
    served_while_down = [a for a in while_down if a.status != 503
                         and not (a.kind == "contracts" and a.body in kept)]
    assert not served_while_down, served_while_down[:3]
    for name, (status, checks) in readiness.items():
        assert status == 503 and checks["database"] is False, (name, status, checks)
    assert recovered is not None, f"not served again within {RECOVERY_SECONDS} s"
    after = [a for a in answers if a.sent_at >= settled]
    assert after and all(_served(a) for a in after), after[:3]
    for name, pid in pids.items():
        process = group.processes[name]
        assert process.pid == pid and process.poll() is None, f"{name} was restarted or died"

    # Nothing half-written: each acknowledged message is stored once; the outbox drains.
    acknowledged = {a.marker for a in answers if a.kind == "message" and a.status == 201}
    stored = _stored_subjects(outage)
    missing = [marker for marker in acknowledged if stored[marker] == 0]
    assert not missing, f"{len(missing)} acknowledged messages were lost: {missing[:3]}"
    doubled = [marker for marker in acknowledged if stored[marker] > 1]
    assert not doubled, f"stored twice: {doubled[:3]}"
    deadline = time.monotonic() + 30
    while _pending_events(outage) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _pending_events(outage) == 0, "the outbox did not drain"
    # Every acknowledged message reaches the office (one mail or a digest naming it).
    deadline = time.monotonic() + 30
    unmailed = set(acknowledged)
    while unmailed and time.monotonic() < deadline:
        text = _office_mail_text(outage)
        unmailed = {marker for marker in unmailed if marker not in text}
        time.sleep(1.0)
    assert not unmailed, f"{len(unmailed)} messages never reached the office: {list(unmailed)[:3]}"
    print("database outage:", {
        "calls": len(answers), "unavailable": sum(a.status == 503 for a in answers),
        "messages_acknowledged": len(acknowledged),
        "slowest_s": round(max(a.seconds for a in answers), 3),
        "recovered_after_db_up_s": round(recovered - up, 1),
        "db_start_s": round(up - starting, 1),
    })

