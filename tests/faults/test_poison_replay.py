"""A real poison case, end to end: mails the SMTP relay refuses go to the dead-letter queue, the
services keep consuming, the dead letters show in the metrics, and once the relay is fixed the
operator's replay (`python -m libs.servicekit.dead_letters --replay`, deploy/README.md) mails each
exactly once.

The notifier replicas start with a wrong SMTP port (a relay that refuses every connection) and a
short retry budget; the office invites clients; each invitation event is dead-lettered after the
notifier's retries. Then the notifiers are restarted with the right port (the fix deployed) and
the dead letters replayed.
"""

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local.applications import replica_name
from deploy.local.processes import free_port
from deploy.local.seed_demo import log_in
from libs.servicekit.dead_letters import DeadLetter
from tests.faults.replicated import Replicated, invite, mails_to, replicated_stack, wait_for

pytestmark = pytest.mark.system

QUEUE = "notifier.invitation-mails"
INVITATIONS = 3
NOTIFIERS = ("notifier", replica_name("notifier", 2))


@pytest.fixture(scope="module")
def refusing(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    base: Path = tmp_path_factory.mktemp("poison")
    with replicated_stack(mongo_url, base, label="poison", extra_environment={
        "MYBROKER_NOTIFIER_SMTP_PORT": str(free_port()),  # nothing listens: every mail refused
        "MYBROKER_NOTIFIER_SMTP_RETRY_ATTEMPTS": "2",
        "MYBROKER_NOTIFIER_SMTP_RETRY_BASE_SECONDS": "0.05",
    }) as stack:
        yield stack


def _dead_letters(stack: Replicated, *, replay: bool = False) -> list[DeadLetter]:
    command = [sys.executable, "-m", "libs.servicekit.dead_letters", "--queue", QUEUE,
               "--amqp-url", stack.config.amqp_url, *(["--replay"] if replay else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          check=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [DeadLetter(**{key: value for key, value in line.items() if key != "replayed"})
            for line in lines]


def _metric(stack: Replicated, process: str, name: str) -> float:
    port = stack.config.health_port(process)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


def test_refused_mails_are_dead_lettered_then_replayed_once_the_relay_is_fixed(
    refusing: Replicated,
) -> None:
    marker = f"poison-{refusing.run_id}"
    with httpx.Client(base_url=refusing.config.gateway_url, timeout=30.0) as gateway:
        token = log_in(gateway, refusing.config.admin_email,
                       refusing.config.admin_password)["access_token"]
        for number in range(INVITATIONS):
            invite(gateway, token, f"{marker}.{number}@example.com")

    assert wait_for(lambda: len(_dead_letters(refusing)) >= INVITATIONS, 60), (
        "the refused invitations never reached the dead-letter queue")
    letters = _dead_letters(refusing)
    assert {letter.queue for letter in letters} == {QUEUE}
    assert {letter.routing_key for letter in letters} == {"auth.invitation.created"}
    assert mails_to(refusing, marker) == []
    dead = sum(_metric(refusing, name, "mybroker_notifier_mails_dead_lettered_total")
               for name in NOTIFIERS)
    assert dead >= INVITATIONS, "the dead letters show in the notifier's metrics"
    for name in NOTIFIERS:  # and the notifiers kept consuming: still ready
        assert httpx.get(refusing.config.ready_url(name), timeout=10).status_code == 200

    # The fix deployed: the notifiers restarted with the relay's right port.
    for name in NOTIFIERS:
        refusing.group.stop(name)
        refusing.applications.restart(name, overrides={
            "MYBROKER_NOTIFIER_SMTP_PORT": str(refusing.config.mail.port)})
    replayed = _dead_letters(refusing, replay=True)
    assert len(replayed) == len(letters)

    assert wait_for(lambda: len(mails_to(refusing, marker)) >= INVITATIONS, 60)
    wait_for(lambda: False, 2)  # a second copy would arrive now
    per_recipient = Counter(mail.recipients for mail in mails_to(refusing, marker))
    assert len(per_recipient) == INVITATIONS and set(per_recipient.values()) == {1}
    assert _dead_letters(refusing) == [], "the replay emptied the dead-letter queue"
