"""The notifier killed between the SMTP hand-off and its record, many times over, with real
processes: no mail is ever sent twice by the notifier itself; each cut-off mail is `uncertain`,
counted, visible to staff, and a staff resend delivers it once more, once.

The notifier runs with its fault-injection hook (MYBROKER_NOTIFIER_FAULT_KILL_AFTER_SMTP_TO): it
SIGKILLs itself right after the SMTP sink accepted the mail to one given address, before
recording it. RabbitMQ then holds the unacked event and redelivers it to the restarted notifier.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.local.maildir import mails_to, wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.stack import SystemStack, service_metric, staff_log_in

pytestmark = pytest.mark.system
ROUNDS = 20


def crash_after_mailing(address: str | None) -> dict[str, str]:
    """The notifier's settings for one life: killed after mailing `address` (None: never)."""
    return {"MYBROKER_NOTIFIER_FAULT_KILL_AFTER_SMTP_TO": address} if address else {}


@pytest.fixture
def crashing_notifier(system_stack: SystemStack) -> Iterator[None]:
    """The notifier restarted for the test, and as configured (no hook) after it."""
    system_stack.group.stop("notifier")
    yield
    system_stack.group.stop("notifier")
    system_stack.applications.restart("notifier")


def notifier_metric(stack: SystemStack, name: str, **labels: str) -> float:
    """A sample of the running notifier's metrics (on its health port)."""
    return service_metric(stack, "notifier", name, **labels)


def mail_problems(stack: SystemStack, gateway: httpx.Client) -> dict[str, dict[str, Any]]:
    """What staff see in the admin API's list of uncertain mails, by recipient address."""
    response = gateway.get("/admin/api/v1/mail-problems", params={"limit": 500},
                           headers=bearer(staff_log_in(stack, gateway)))
    assert response.status_code == 200, response.text
    return {problem["recipient"].split("<")[-1].rstrip(">"): problem
            for problem in response.json()["problems"]}


def wait_until(check: Any, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.1)


def test_a_notifier_killed_after_each_smtp_hand_off_never_mails_twice(
    system_stack: SystemStack, gateway: httpx.Client, crashing_notifier: None,
) -> None:
    group, applications = system_stack.group, system_stack.applications
    tag = uuid.uuid4().hex[:6]
    addresses = [f"crash-{tag}-{number:02d}@example.com" for number in range(ROUNDS)]
    staff = bearer(staff_log_in(system_stack, gateway))
    applications.restart("notifier", crash_after_mailing(addresses[0]))

    for number, address in enumerate(addresses):
        invited = gateway.post("/admin/api/v1/invitations", headers=staff, json={
            "email": address, "display_name": f"Crash {number}", "dossier_ids": []})
        assert invited.status_code == 201, invited.text
        notifier = group.processes["notifier"]
        assert notifier.wait(timeout=60) == -9, "the hook did not kill the notifier"
        assert len(mails_to(system_stack.maildir, address)) == 1  # it did leave

        following = addresses[number + 1] if number + 1 < ROUNDS else None
        applications.restart("notifier", crash_after_mailing(following))
        wait_until(lambda listed=address: (
            listed in mail_problems(system_stack, gateway)
            or len(mails_to(system_stack.maildir, listed)) > 1),
            f"the redelivery of {address} handled")
        assert len(mails_to(system_stack.maildir, address)) == 1, "mailed twice"
        assert address in mail_problems(system_stack, gateway)
        # Counted by the notifier that found it (a fresh process: its counter starts at 0).
        assert notifier_metric(system_stack, "mybroker_notifier_mails_uncertain_total",
                               reason="redelivered_while_sending") == 1

    assert {address: len(mails_to(system_stack.maildir, address))
            for address in addresses} == dict.fromkeys(addresses, 1)  # zero doubled mails
    listed = mail_problems(system_stack, gateway)
    assert {listed[address]["reason"] for address in addresses} == {
        "redelivered_while_sending"}
    assert {listed[address]["kind"] for address in addresses} == {"invitation"}
    wait_until(lambda: notifier_metric(
        system_stack, "mybroker_notifier_mails_awaiting_decision") >= ROUNDS,
        "the gauge of mails awaiting staff")

    chosen = addresses[7]
    resent = gateway.post(f"/admin/api/v1/mail-problems/{listed[chosen]['mail_id']}/resend",
                          headers=staff)
    assert resent.status_code == 200, resent.text
    assert resent.json()["resent_by"]
    wait_until(lambda: len(mails_to(system_stack.maildir, chosen)) == 2, "the resent mail")
    again = gateway.post(f"/admin/api/v1/mail-problems/{listed[chosen]['mail_id']}/resend",
                         headers=staff)
    assert again.status_code == 409, again.text
    time.sleep(2)  # a few mail checks of the notifier: nothing else goes out
    assert len(mails_to(system_stack.maildir, chosen)) == 2
    assert chosen not in mail_problems(system_stack, gateway)
    token_mail = wait_for_mail(system_stack.maildir, chosen, containing="/activate?token=")
    assert all(mail.message_id == token_mail.message_id
               for mail in mails_to(system_stack.maildir, chosen))  # the very same mail
