"""RabbitMQ restarts while clients send messages and forms: nothing lost, nothing twice.

The replicated stack (two processes of every service) runs on a RabbitMQ node of this test's own
(tests/faults/rabbit_node.py; the machine's node is never touched). Clients send messages and
forms through the gateway without pause; meanwhile the node is shut down gracefully and started
again, later crashed (SIGKILL) and started again. No process of the stack is restarted.

Afterwards: every submission the gateway acknowledged (201) is stored exactly once in the
requests service's database; the office got exactly one mail per acknowledged submission (the
office digest window is 0 here, so each submission is mailed at once; counted by Message-ID);
the outbox drained; the calls refused while the bus was away got 503 with Retry-After, never a
500 and never a hang beyond the gateway's RPC timeout.

The fast variant (part of `make test`) sends 200 submissions; MYBROKER_FAULT_BROKER_SUBMISSIONS
sets another number (the long variant: 2000, see README). Figures are printed (pytest -s).
"""

import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from deploy.local.demo_secrets import new_password
from deploy.local.maildir import ReceivedMail
from deploy.local.processes import ProcessGroup
from deploy.local.seed_demo import SeedError, bearer, import_dossier, invite_and_activate, log_in
from tests.faults.rabbit_node import RabbitNode, unavailable_reason
from tests.faults.replicated import Replicated, mails_to, replicated_stack, wait_for
from tests.system.stack import fixture_dossier

pytestmark = pytest.mark.system

SUBMISSIONS = int(os.environ.get("MYBROKER_FAULT_BROKER_SUBMISSIONS", "200"))
SENDERS = 4  # clients sending at once, half messages, half forms
DOWN_SECONDS = 4.0
SLOWEST_SECONDS = 8.0  # the gateway's RPC timeout (5 s) plus a loaded machine's margin
RECOVERY_SECONDS = 60.0
SETTLE_SECONDS = 180.0 + SUBMISSIONS * 0.2  # every mail out, every outbox drained
PROBLEM = "application/problem+json"


@dataclass
class Restarting:
    stack: Replicated
    node: RabbitNode
    dossier_id: str
    person_id: str
    client_email: str
    client_password: str


@pytest.fixture(scope="module")
def restarting(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restarting]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of the test's own: {reason}")
    base: Path = tmp_path_factory.mktemp("broker-restart")  # short: Erlang dislikes long paths
    node_group = ProcessGroup(base / "node" / "logs")
    node = RabbitNode(base / "node" / "rabbit", node_group)
    try:
        node.start()
        with replicated_stack(mongo_url, base / "stack", label="brokerrestart",
                              amqp_url=node.amqp_url, extra_environment={
                                  # Each submission mailed at once: one office mail each.
                                  "MYBROKER_NOTIFIER_OFFICE_DIGEST_WINDOW_SECONDS": "0",
                                  # One client sends many: the per-account window would refuse.
                                  "MYBROKER_REQUESTS_MESSAGE_BURST": "1000000",
                                  "MYBROKER_REQUESTS_MESSAGE_INTERVAL_SECONDS": "0.001",
                              }) as stack:
            dossier = fixture_dossier("dupont")
            email = f"restart.{stack.run_id}@example.com"
            password = new_password()
            with httpx.Client(base_url=stack.config.gateway_url, timeout=30.0) as gateway:
                staff = log_in(gateway, stack.config.admin_email,
                               stack.config.admin_password)["access_token"]
                import_dossier(gateway, staff, dossier)
                invite_and_activate(gateway, staff, stack.config.mail.maildir, email=email,
                                    display_name="Dupont", dossier_ids=[dossier["dossier_id"]],
                                    password=password)
            person_id = str(dossier["persons"][1]["person_id"])  # Sofie: a phone change
            yield Restarting(stack, node, dossier["dossier_id"], person_id, email, password)
    finally:
        node_group.stop_all()
        node.stop_epmd()


@dataclass(frozen=True)
class Answer:
    kind: str  # message | form
    marker: str
    sent_at: float
    seconds: float
    status: int | None  # None: no HTTP answer (dropped connection, read timeout)
    error: str
    content_type: str
    retry_after: str
    body: str


class Senders:
    """Clients sending messages and forms until SUBMISSIONS were acknowledged."""

    def __init__(self, restarting: Restarting) -> None:
        self.restarting = restarting
        self.answers: list[Answer] = []
        self.done = threading.Event()
        # Sending pauses at this many acknowledged submissions until it is raised: each restart
        # happens under load, and load remains for after it.
        self.limit = SUBMISSIONS
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(index,), daemon=True)
                         for index in range(SENDERS)]

    def __enter__(self) -> "Senders":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def acknowledged(self) -> int:
        with self._lock:
            return sum(answer.status == 201 for answer in self.answers)

    def since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.sent_at >= moment]

    def _post(self, client: httpx.Client, token: str, kind: str, marker: str,
              number: int) -> httpx.Response:
        dossier_id = self.restarting.dossier_id
        if kind == "message":
            return client.post(f"/api/v1/dossiers/{dossier_id}/messages", headers=bearer(token),
                               json={"subject": marker, "body": marker})
        return client.post(f"/api/v1/dossiers/{dossier_id}/forms/personal_data",
                           headers=bearer(token), json={
                               "form": {"person_id": self.restarting.person_id,
                                        "phone": f"+32 470 {number // 100 % 100:02d} "
                                                 f"{number % 100:02d} 00"},
                               "remark": marker})

    def _send(self, index: int) -> None:
        kind = "message" if index % 2 == 0 else "form"
        restarting = self.restarting
        with httpx.Client(base_url=restarting.stack.config.gateway_url, timeout=30.0) as client:
            token = log_in(client, restarting.client_email,
                           restarting.client_password)["access_token"]
            token_at = time.monotonic()
            number = 0
            while not self.done.is_set():
                if self.acknowledged() >= self.limit:
                    if self.limit >= SUBMISSIONS:
                        return
                    time.sleep(0.1)
                    continue
                if time.monotonic() - token_at > 120:
                    # The bus may be away: keep the old token a while (it lasts longer).
                    with contextlib.suppress(SeedError, httpx.HTTPError):
                        token = log_in(client, restarting.client_email,
                                       restarting.client_password)["access_token"]
                        token_at = time.monotonic()
                number += 1
                marker = f"restart-{uuid.uuid4().hex[:12]}"
                sent_at = time.monotonic()
                try:
                    response = self._post(client, token, kind, marker, number * SENDERS + index)
                except httpx.HTTPError as error:
                    answer = Answer(kind, marker, sent_at, time.monotonic() - sent_at, None,
                                    f"{type(error).__name__}: {error}", "", "", "")
                else:
                    answer = Answer(kind, marker, sent_at, time.monotonic() - sent_at,
                                    response.status_code, "",
                                    response.headers.get("content-type", ""),
                                    response.headers.get("retry-after", ""), response.text[:300])
                with self._lock:
                    self.answers.append(answer)
                time.sleep(0.05 if answer.status == 201 else 0.2)


def _database(restarting: Restarting) -> MongoClient[dict[str, object]]:
    return MongoClient(restarting.stack.config.mongo_url)


def _stored_markers(restarting: Restarting) -> Counter[str]:
    config = restarting.stack.config
    with _database(restarting) as client:
        requests = client[f"{config.mongo_db_prefix}_requests"]["requests"]
        return Counter(str(document.get("body", "")) for document in requests.find(
            {"dossier_id": restarting.dossier_id}, {"body": 1}))


def _pending_ids(restarting: Restarting) -> set[object]:
    config = restarting.stack.config
    with _database(restarting) as client:
        requests = client[f"{config.mongo_db_prefix}_requests"]["requests"]
        return {document["_id"] for document in requests.find(
            {"outbox_pending": {"$gt": 0}}, {"_id": 1})}


def _drain_seconds(restarting: Restarting, up: float) -> float | None:
    """Seconds from the node's return until every event pending then was published."""
    pending = _pending_ids(restarting)
    deadline = time.monotonic() + RECOVERY_SECONDS
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending &= _pending_ids(restarting)
    return None if pending else round(time.monotonic() - up, 1)


def _through_a_restart(restarting: Restarting, senders: Senders, until: int, limit: int,
                       take_down: Callable[[], None]) -> dict[str, object]:
    """When `until` submissions are acknowledged, take the node down, start it again; the
    senders go on up to `limit` acknowledged submissions meanwhile."""
    senders.limit = limit
    assert wait_for(lambda: senders.acknowledged() >= until, RECOVERY_SECONDS * 3), (
        f"only {senders.acknowledged()} submissions acknowledged before the restart")
    stopping = time.monotonic()
    take_down()
    down = time.monotonic()
    time.sleep(DOWN_SECONDS)
    starting = time.monotonic()
    restarting.node.start()
    up = time.monotonic()
    pending_at_up = len(_pending_ids(restarting))
    drained = _drain_seconds(restarting, up)
    recovered = wait_for(lambda: any(a.status == 201 for a in senders.since(up)),
                         RECOVERY_SECONDS)
    assert recovered, f"no submission acknowledged within {RECOVERY_SECONDS} s of the restart"
    served_again = min(a.sent_at for a in senders.since(up) if a.status == 201)
    during = [a for a in senders.since(stopping) if a.sent_at < starting]
    return {
        "take_down_s": round(down - stopping, 1), "node_start_s": round(up - starting, 1),
        "calls_while_down": len(during),
        "refused_503_while_down": sum(a.status == 503 for a in during),
        "outbox_pending_at_up": pending_at_up, "outbox_drained_after_up_s": drained,
        "acknowledged_again_after_up_s": round(served_again - up, 1),
    }


def test_broker_restarts_under_load_lose_nothing_and_mail_each_submission_once(
    restarting: Restarting,
) -> None:
    stack = restarting.stack
    pids = {name: process.pid for name, process in stack.group.processes.items()}
    office = stack.config.office_email
    before = {mail.message_id for mail in mails_to(stack, office)}
    started = time.monotonic()
    senders = Senders(restarting)
    senders.limit = SUBMISSIONS * 2 // 5
    with senders:
        graceful = _through_a_restart(restarting, senders, SUBMISSIONS // 5,
                                      SUBMISSIONS * 2 // 5, restarting.node.stop)
        crash = _through_a_restart(restarting, senders, SUBMISSIONS * 3 // 5,
                                   SUBMISSIONS * 4 // 5, restarting.node.kill)
        senders.limit = SUBMISSIONS
        assert wait_for(lambda: senders.acknowledged() >= SUBMISSIONS, SETTLE_SECONDS), (
            f"only {senders.acknowledged()} of {SUBMISSIONS} acknowledged")
    answers = senders.since(0)
    load_seconds = time.monotonic() - started

    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"{len(dropped)} calls got no HTTP answer: {dropped[:3]}"
    failed = [a for a in answers if a.status not in (201, 503)]
    assert not failed, f"{len(failed)} calls answered neither 201 nor 503: {failed[:3]}"
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after.isdigit() and int(answer.retry_after) > 0, answer
            assert answer.content_type.startswith(PROBLEM), answer
    slowest = max(a.seconds for a in answers)
    slow = [a for a in answers if a.seconds > SLOWEST_SECONDS]
    assert not slow, f"{len(slow)} calls hung: {slow[:3]}"
    for name, pid in pids.items():
        process = stack.group.processes[name]
        assert process.pid == pid and process.poll() is None, f"{name} was restarted or died"

    # Each acknowledged submission stored exactly once; nothing refused was stored.
    acknowledged = {a.marker for a in answers if a.status == 201}
    refused = {a.marker for a in answers if a.status == 503}
    stored = _stored_markers(restarting)
    missing = [marker for marker in acknowledged if stored[marker] == 0]
    assert not missing, f"{len(missing)} acknowledged submissions were lost: {missing[:3]}"
    doubled = [marker for marker in acknowledged if stored[marker] > 1]
    assert not doubled, f"{len(doubled)} stored more than once: {doubled[:3]}"
    # A call the gateway gave up on (503 after its RPC timeout) may still have been stored when
    # the bus came back: a client resending it with the same Idempotency-Key gets that request.
    # Counted and printed; its office mail is expected like any stored submission's.
    refused_but_stored = [marker for marker in refused if stored[marker]]

    # The outbox drains, and the office gets one mail per acknowledged submission.
    assert wait_for(lambda: not _pending_ids(restarting), SETTLE_SECONDS), "outbox not drained"

    def office_mails() -> list[ReceivedMail]:
        return [mail for mail in mails_to(stack, office) if mail.message_id not in before]

    expected = len(acknowledged) + len(refused_but_stored)
    wait_for(lambda: len(office_mails()) >= expected, SETTLE_SECONDS)
    wait_for(lambda: False, 5)  # a late duplicate (redelivery) would arrive now
    mails = office_mails()
    per_id = Counter(mail.message_id for mail in mails)
    twice = [(message_id, n) for message_id, n in per_id.items() if n > 1]
    assert not twice, f"{len(twice)} office mails delivered more than once: {twice[:3]}"
    text = "\n".join(mail.subject + "\n" + mail.text for mail in mails)
    unmailed = [a.marker for a in answers if a.status == 201 and a.kind == "message"
                and a.marker not in text]
    assert not unmailed, f"{len(unmailed)} messages never reached the office: {unmailed[:3]}"
    assert len(per_id) == expected, (
        f"{len(per_id)} office mails for {expected} stored submissions")

    print(f"\nbroker restarts under load ({SUBMISSIONS} submissions):", {
        "calls": len(answers), "acknowledged": len(acknowledged),
        "acknowledged_messages": sum(a.status == 201 and a.kind == "message" for a in answers),
        "acknowledged_forms": sum(a.status == 201 and a.kind == "form" for a in answers),
        "refused_503": len(refused), "refused_but_stored": len(refused_but_stored),
        "slowest_s": round(slowest, 3),
        "slowest_503_s": round(max((a.seconds for a in answers if a.status == 503),
                                   default=0.0), 3),
        "office_mails": len(per_id), "load_s": round(load_seconds, 1),
    })
    print("graceful stop:", graceful)
    print("crash (SIGKILL):", crash)
