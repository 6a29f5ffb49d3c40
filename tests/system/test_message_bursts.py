"""A client sending a burst of messages: the first ones pass, the rest get a clear 429 with
Retry-After, and the office gets two mails for the burst, not one per message: the first
message at once, the others in one digest (the system stack's notifier gathers a dossier's
messages for two seconds instead of a minute)."""

import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from deploy.local.maildir import mails_to
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import MESSAGE_BURST, SystemStack, new_client

pytestmark = pytest.mark.system
BURST = MESSAGE_BURST  # the system stack's message burst per account (production: 5)
SENT = BURST + 15
DIGEST_WINDOW_SECONDS = 2  # the system stack's (TEST_ENVIRONMENT)


def test_a_burst_of_messages_gives_the_burst_fifteen_429s_and_two_office_mails(
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
        responses = list(pool.map(send, range(SENT)))
    took = time.monotonic() - started
    assert took < 10

    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(accepted), len(refused)) == (BURST, SENT - BURST), [
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
        """The burst's messages the mails' plain-text parts name (a subject once in a text;
        the HTML alternative names them again)."""
        return sum(text.split("\n", 1)[1].split("<!DOCTYPE", 1)[0].count(tag) for text in mails)

    while listed(about_burst()) < BURST:
        assert time.monotonic() < deadline, "the office was not told of the whole burst"
        time.sleep(0.2)
    time.sleep(3)  # longer than the digest window: a third mail would be here by now
    mails = about_burst()
    # The first at once, the rest in the digest; another test's message in the same dossier
    # and seconds may have led the window (then all five are in the digest).
    # (A burst longer than the stack's two-second digest window gives a digest per window.)
    assert 1 <= len(mails) <= 2 + math.ceil(took / DIGEST_WINDOW_SECONDS), (len(mails), took)
    assert listed(mails) == BURST
    assert any(f" nieuwe berichten in dossier {DUPONT}" in text.splitlines()[0]
               for text in mails)
    assert all(any(r.json()["subject"] in text for text in mails) for r in accepted)
