"""When the office publishes documents, each client of that dossier gets one mail per batch
(not one per file), and the clients of other dossiers get none (manual 3.4)."""

import uuid

import httpx
import pytest

from deploy.local.maildir import mails_to, wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import SystemStack, new_client, staff_log_in

pytestmark = pytest.mark.system


def test_a_batch_of_two_files_mails_each_client_of_the_dossier_once(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    an = new_client(system_stack, gateway, "An Peeters", [PEETERS])
    luc = new_client(system_stack, gateway, "Luc Peeters", [PEETERS])
    outsider = new_client(system_stack, gateway, "Pieter Dupont", [DUPONT])
    tag = uuid.uuid4().hex[:8]
    titles = [f"polis-{tag}.txt", f"groene-kaart-{tag}.txt"]

    response = gateway.post(
        f"/admin/api/v1/dossiers/{PEETERS}/documents/batch",
        headers=bearer(staff_log_in(system_stack, gateway)), data={"context": "contract:c-mail"},
        files=[("file", (title, f"{title}\n".encode(), "text/plain")) for title in titles])
    assert response.status_code == 201, response.text

    for client in (an, luc):
        mail = wait_for_mail(system_stack.maildir, client.email, containing=tag)
        assert mail.subject == "2 nieuwe documenten in MyBroker"
        assert all(title in mail.text for title in titles)
        assert f"{system_stack.gateway_url}/documents?dossier={PEETERS}" in mail.text
        # Each client's mail went out once the batch was complete: one, not one per file.
        assert [m.key for m in mails_to(system_stack.maildir, client.email)
                if tag in m.text] == [mail.key]
    assert [m for m in mails_to(system_stack.maildir, outsider.email) if tag in m.text] == []
