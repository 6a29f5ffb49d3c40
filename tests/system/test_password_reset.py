"""Forgotten password end to end (manual 1.2): the mailed link sets a new password, the old one
and every earlier session stop working, and the owner is told by mail."""

import re
import time

import httpx
import pytest

from deploy.local.maildir import mails_to, wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import SystemStack, new_client

pytestmark = pytest.mark.system

RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/reset-password\?token=([A-Za-z0-9_\-]+)")
NEW_PASSWORD = "vuurtoren van oostende 1859"


def test_a_client_resets_a_forgotten_password_through_the_mailed_link(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
) -> None:
    client = new_client(system_stack, gateway, "Lotte Maes", [DUPONT])
    before = gateway.post("/api/v1/auth/login",
                          json={"email": client.email, "password": client.password}).json()

    asked = gateway.post("/api/v1/auth/password-reset", json={"email": client.email})
    unknown = gateway.post("/api/v1/auth/password-reset",
                           json={"email": "nobody.at.all@example.com"})
    assert (asked.status_code, asked.json()) == (unknown.status_code, unknown.json())
    assert asked.status_code == 202

    mail = wait_for_mail(system_stack.maildir, client.email, containing="/reset-password?token=")
    assert mail.subject == "Een nieuw wachtwoord voor MyBroker"
    match = RESET_LINK.search(mail.text)
    assert match is not None, mail.text
    token = match.group(1)
    assert f"{system_stack.gateway_url}/reset-password?token={token}" in mail.text

    preview = gateway.get(f"/api/v1/auth/password-reset/{token}")
    assert preview.status_code == 200, preview.text
    assert preview.json() == {"email": client.email}

    reset = gateway.post("/api/v1/auth/password-reset/confirm",
                         json={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert gateway.get("/api/v1/me", headers=bearer(reset.json()["access_token"])).status_code \
        == 200
    assert gateway.post("/api/v1/auth/password-reset/confirm",
                        json={"token": token, "password": NEW_PASSWORD}).status_code == 410

    # The session from before the reset is over: its refresh token at once, its access token
    # as soon as the gateway hears of the revocation (well within the token's lifetime).
    assert gateway.post("/api/v1/auth/refresh",
                        json={"refresh_token": before["refresh_token"]}).status_code == 401
    deadline = time.monotonic() + 5
    while gateway.get("/api/v1/me", headers=bearer(before["access_token"])).status_code != 401:
        assert time.monotonic() < deadline, "the old access token still works after 5 s"
        time.sleep(0.1)

    old = gateway.post("/api/v1/auth/login",
                       json={"email": client.email, "password": client.password})
    assert old.status_code == 401
    new = gateway.post("/api/v1/auth/login", json={"email": client.email, "password": NEW_PASSWORD})
    assert new.status_code == 200, new.text

    notice = wait_for_mail(system_stack.maildir, client.email, containing="is gewijzigd")
    assert notice.subject == "Uw wachtwoord voor MyBroker is gewijzigd"
    assert mails_to(system_stack.maildir, "nobody.at.all@example.com") == []
