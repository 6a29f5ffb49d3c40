"""Consumers killed between an event's effect and its ack, many times under load: every event
still has exactly one effect.

Two processes of every service run with the crash hook `MYBROKER_FAULT_KILL_BEFORE_ACK`: after
handling an event (its effect done and recorded) a process kills itself with SIGKILL on a share
of the events, before RabbitMQ got the ack, so the event is delivered again — to the other
replica or to the restarted one. A watcher restarts each killed process, as Kubernetes would.
The office invites clients through the gateway all the while; afterwards each invitation was
mailed exactly once (counted by recipient and by Message-ID in the SMTP sink).

Each consumer takes one event at a time here (prefetch 1), so the kill lands exactly between an
effect and its ack. With more in flight, a kill also cuts other events' SMTP hand-offs short:
those mails become "uncertain" for staff to decide, by design (SMTP cannot be asked whether a
mail arrived), which tests/system/test_mail_crashes.py covers.
"""

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local.seed_demo import log_in
from tests.faults.replicated import Replicated, invite, mails_to, replicated_stack, wait_for

pytestmark = pytest.mark.system

INVITATIONS = 120
KILL_SHARE = "0.08"  # of the events each service process handles
KILLED_LINE = "fault injection: killed before the ack"


@pytest.fixture(scope="module")
def killing(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    base: Path = tmp_path_factory.mktemp("consumer-kills")
    with replicated_stack(mongo_url, base, label="kills",
                          extra_environment={"MYBROKER_FAULT_KILL_BEFORE_ACK": KILL_SHARE,
                                             "MYBROKER_EVENT_PREFETCH": "1"}
                          ) as stack:
        yield stack


class Restarter(threading.Thread):
    """Starts every killed service process again (the orchestrator's job in production)."""

    def __init__(self, replicated: Replicated) -> None:
        super().__init__(daemon=True)
        self.replicated = replicated
        self.restarts: Counter[str] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.3):
            for name, process in list(self.replicated.group.processes.items()):
                if process.poll() is not None and name != "gateway":
                    # Started, not awaited: a process may die again while it catches up.
                    self.restarts[name] += 1
                    self.replicated.applications.start(name)


def _kills_logged(replicated: Replicated) -> int:
    logs = Path(replicated.group.log_path("gateway")).parent
    return sum(path.read_text(errors="replace").count(KILLED_LINE) for path in logs.glob("*"))


def test_each_invitation_is_mailed_once_although_consumers_die_before_their_acks(
    killing: Replicated,
) -> None:
    restarter = Restarter(killing)
    restarter.start()
    marker = f"kill-{killing.run_id}"
    try:
        with httpx.Client(base_url=killing.config.gateway_url, timeout=30.0) as gateway:
            token = log_in(gateway, killing.config.admin_email,
                           killing.config.admin_password)["access_token"]
            for number in range(INVITATIONS):
                invite(gateway, token, f"{marker}.{number}@example.com")
        wait_for(lambda: len({mail.recipients for mail in mails_to(killing, marker)})
                 >= INVITATIONS, 180)
        # Redeliveries of the last events may still be on their way: let them arrive.
        wait_for(lambda: False, 5)
    finally:
        restarter.stopping.set()
        restarter.join(timeout=60)

    kills = _kills_logged(killing)
    print(f"\n{kills} kills before the ack, restarts {dict(restarter.restarts)}")
    assert kills >= 3, "the hook hardly fired: the test proved nothing"
    assert sum(restarter.restarts.values()) >= 3

    mails = mails_to(killing, marker)
    per_recipient = Counter(mail.recipients for mail in mails)
    assert len(per_recipient) == INVITATIONS, "an invitation was never mailed"
    assert set(per_recipient.values()) == {1}, f"mailed twice: {per_recipient.most_common(3)}"
    assert len({mail.message_id for mail in mails}) == INVITATIONS
