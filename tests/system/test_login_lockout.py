"""A stranger's wrong passwords lock the address, not its owner, end to end:
the owner's browser still signs in, the owner is mailed once, the mailed link signs in once."""

import re
import time

import httpx
import pytest

from deploy.local.maildir import mails_to, wait_for_mail
from tests.system.conftest import DUPONT
from tests.system.stack import SystemStack, new_client

pytestmark = pytest.mark.system

UNLOCK_LINK = re.compile(r"https?://[^\s\"'<>]+/unlock\?token=([A-Za-z0-9_\-]+)")
STRANGER = {"X-Forwarded-For": "203.0.113.66"}  # the gateway trusts the proxy on 127.0.0.1
WRONG = "ik gok maar wat"


def test_a_locked_address_still_signs_its_owner_in_and_mails_one_unlock_link(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    client = new_client(system_stack, gateway, "Ilse Wouters", [DUPONT])
    login = {"email": client.email, "password": client.password}
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30) as laptop, \
            httpx.Client(base_url=system_stack.gateway_url, headers=STRANGER,
                         timeout=30) as stranger:
        assert laptop.post("/api/v1/auth/login", json=login).status_code == 200
        assert "mb_device" in laptop.cookies

        statuses = [stranger.post("/api/v1/auth/login", json={
            "email": client.email, "password": WRONG}).status_code for _ in range(12)]
        assert statuses == [401] * 9 + [429] * 3
        assert stranger.post("/api/v1/auth/login", json=login).status_code == 429  # waits

        assert laptop.post("/api/v1/auth/login", json=login).status_code == 200  # the owner

    mail = wait_for_mail(system_stack.maildir, client.email, containing="/unlock?token=")
    assert mail.subject == "Aanmelden op MyBroker tijdelijk geblokkeerd"
    match = UNLOCK_LINK.search(mail.text)
    assert match is not None, mail.text
    token = match.group(1)
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30) as borrowed_pc:
        assert borrowed_pc.get(f"/api/v1/auth/unlock/{token}").json() == {"email": client.email}
        signed_in = borrowed_pc.post("/api/v1/auth/unlock",
                                     json={"token": token, "password": client.password})
        assert signed_in.status_code == 200, signed_in.text
        assert borrowed_pc.post("/api/v1/auth/unlock", json={
            "token": token, "password": client.password}).status_code == 410
    time.sleep(1)  # a second lockout mail, if any, would be out by now
    assert len([m for m in mails_to(system_stack.maildir, client.email)
                if "/unlock?token=" in m.text]) == 1
