"""A client's message reaches the office's mailbox at once, through the whole stack: the
gateway, the requests service's outbox, the bus, the notifier and SMTP; the mail links to the
request on the office's desk."""

import time
import uuid

import httpx
import pytest

from deploy.local.maildir import mails_to
from deploy.local.seed_demo import bearer
from tests.system.conftest import PEETERS
from tests.system.stack import SystemStack, new_client

pytestmark = pytest.mark.system


def test_a_clients_message_is_mailed_to_the_office_at_once_with_the_desk_link(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    sender = new_client(system_stack, gateway, "Els Peeters", [PEETERS])
    subject = f"Vraag over de brandpolis {uuid.uuid4().hex[:8]}"
    sent = gateway.post(f"/api/v1/dossiers/{PEETERS}/messages",
                        headers=bearer(sender.log_in(gateway)),
                        json={"subject": subject, "body": "Is mijn tuinhuis verzekerd?"})
    assert sent.status_code == 201, sent.text
    request_id = sent.json()["request_id"]

    office = system_stack.config.office_email
    deadline = time.monotonic() + 30
    while not (mails := [mail for mail in mails_to(system_stack.maildir, office)
                         if subject in mail.subject]):
        assert time.monotonic() < deadline, "the office got no mail about the message"
        time.sleep(0.1)
    [mail] = mails
    assert mail.subject == f"Nieuw bericht in dossier {PEETERS}: {subject}"
    assert mail.message_id.endswith(".new-request@mybroker>")  # at once, not in a digest
    assert f"{system_stack.gateway_url}/admin/desk/{request_id}" in mail.text
    assert system_stack.claims_email not in mail.recipients
