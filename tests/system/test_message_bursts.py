"""A client sending a burst of messages: the first ones pass, the rest get a clear 429 with
Retry-After, and the office gets two mails for the burst, not one per message: the first
message at once, the others in one digest (the system stack's notifier gathers a dossier's
messages for two seconds instead of a minute)."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from deploy.local.maildir import mails_to
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import SystemStack, new_client

pytestmark = pytest.mark.system
BURST = 5  # the requests service's default message burst per account


def test_twenty_messages_in_a_burst_give_five_messages_fifteen_429s_and_two_office_mails(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    sender = new_client(system_stack, gateway, "Bart Dupont", [DUPONT])
    client = bearer(sender.log_in(gateway))
    tag = uuid.uuid4().hex[:8]

    def send(number: int) -> httpx.Response:
        return gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers=client, json={
            "subject": f"Vraag {number:02d} ({tag})", "body": "Wanneer komt de expert?"})

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(send, range(20)))
    assert time.monotonic() - started < 10

    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(accepted), len(refused)) == (BURST, 20 - BURST), [
        r.status_code for r in responses]
    for response in refused:
        assert response.headers["content-type"] == "application/problem+json"
        assert 1 <= int(response.headers["retry-after"]) <= 12
        assert response.json()["detail"].startswith("Too many messages in a short time.")

    office = system_stack.config.office_email
    deadline = time.monotonic() + 30

    def about_burst() -> list[str]:
        return [mail.subject + "\n" + mail.text for mail in
                mails_to(system_stack.maildir, office) if tag in mail.text]

    def listed(mails: list[str]) -> int:
        """The burst's messages the mails' texts name (a subject once in a text)."""
        return sum(text.split("\n", 1)[1].count(tag) for text in mails)

    while listed(about_burst()) < BURST:
        assert time.monotonic() < deadline, "the office was not told of the whole burst"
        time.sleep(0.2)
    time.sleep(3)  # longer than the digest window: a third mail would be here by now
    mails = about_burst()
    # The first at once, the rest in the digest; another test's message in the same dossier
    # and seconds may have led the window (then all five are in the digest).
    assert 1 <= len(mails) <= 2
    assert listed(mails) == BURST
    assert any(f" nieuwe berichten in dossier {DUPONT}" in text.splitlines()[0]
               for text in mails)
    assert all(any(r.json()["subject"] in text for text in mails) for r in accepted)
