"""Failed logins throttle the attempts, not the owner: seen through the gateway.

The gateway app runs on the real auth service (in-memory broker, real Mongo-wire store); auth's
outbox is relayed to the real notifier, which mails into an in-process SMTP server. Each browser
is its own HTTP client with its own cookies and its own client address.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.outbox import OutboxRelay
from services.auth.main import AuthService, build
from services.auth.sessions.lockout.store import UNLOCKS
from services.notifier.main import NotifierService
from services.notifier.main import build as build_notifier
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import PASSWORD, activate, invite
from tests.service.test_auth_login_security import let_the_wait_pass
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    mail_sink,
    settings_for,
    smtp_port,
)

OWNER = "an.peeters@example.be"
WRONG = "not the right password"
LOCKED_HINT = "Op een toestel waarmee u zich eerder aanmeldde, werkt uw wachtwoord gewoon."


class InMemoryRpc:
    """The gateway's RPC client, answered by the auth service on its in-memory broker."""

    def __init__(self, service: AuthService) -> None:
        self._service = service

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        return await call_in_memory(self._service.runtime.broker, method, request)


@dataclass
class Office:
    """The gateway, auth and the notifier, as the owner and an attacker meet them."""

    app: Any
    auth: AuthService
    notifier: NotifierService
    sink: MailSink

    def browser(self, client_ip: str) -> httpx.AsyncClient:
        """A browser of its own (cookies) at `client_ip`."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=(client_ip, 50000)),
            base_url="http://testserver", follow_redirects=False)

    async def deliver_mails(self) -> None:
        """Let auth finish its after-reply work and relay its unlock events to the notifier."""
        await self.auth.background.settle()
        relay = OutboxRelay(self.notifier.runtime.broker, self.auth.runtime.database, [UNLOCKS])
        await relay.relay_pending()


@pytest.fixture
async def office(
    mongo_url: str, database_name: str, smtp_port: int, mail_sink: MailSink, tmp_path: Path,
) -> AsyncIterator[Office]:
    auth_service = build(settings(mongo_url, database_name), rpc=DossierStandIn())
    await auth_service.prepare_database()
    notifier = build_notifier(settings_for(mongo_url, database_name + "_n", smtp_port))
    await notifier.store.ensure_indexes()
    key_path = tmp_path / "jwt-public.pem"
    key_path.write_bytes(auth_service.signer.public_key_pem)
    app = create_app(GatewaySettings(environment="test", jwt_public_key_path=str(key_path)),
                     rpc=InMemoryRpc(auth_service))
    async with TestRabbitBroker(auth_service.runtime.broker), \
            TestRabbitBroker(notifier.runtime.broker), app.router.lifespan_context(app):
        _, token = await invite(auth_service, email=OWNER)
        await activate(auth_service, token)
        yield Office(app, auth_service, notifier, mail_sink)
    await auth_service.runtime.database.client.drop_database(database_name)
    await auth_service.runtime.database.client.drop_database(database_name + "_n")


async def api_login(browser: httpx.AsyncClient, password: str,
                    email: str = OWNER) -> httpx.Response:
    return await browser.post("/api/v1/auth/login", json={"email": email, "password": password})


async def page_login(browser: httpx.AsyncClient, password: str) -> httpx.Response:
    """The login form, as a person fills it in."""
    await browser.get("/login")
    return await browser.post("/login", data={
        "email": OWNER, "password": password, "csrf_token": browser.cookies["mb_csrf"]})


async def lock_out(office: Office, times: int = 10) -> list[int]:
    """A stranger types wrong passwords for the owner's address; the statuses they got."""
    async with office.browser("203.0.113.66") as attacker:
        return [(await api_login(attacker, WRONG)).status_code for _ in range(times)]


def unlock_path(sink: MailSink) -> str:
    """The link of the lockout mail, as a path of the site."""
    [mail] = sink.mails
    part = mail.get_body(("plain",))
    assert part is not None
    [link] = re.findall(r"https?://\S+/unlock\?token=\S+", part.get_content())
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_the_owner_signs_in_on_a_known_device_while_a_stranger_locked_the_address(
    office: Office,
) -> None:
    async with office.browser("198.51.100.7") as laptop:
        assert (await page_login(laptop, PASSWORD)).status_code == 303  # an earlier visit
        await laptop.post("/logout", data={"csrf_token": laptop.cookies["mb_csrf"]})

        assert await lock_out(office) == [401] * 9 + [429]

        signed_in = await page_login(laptop, PASSWORD)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/"
        assert "mb_access" in laptop.cookies and "mb_refresh" in laptop.cookies
        assert (await api_login(laptop, PASSWORD)).status_code == 200  # the app too


async def test_during_the_lockout_an_unknown_device_is_throttled_and_told_what_to_do(
    office: Office,
) -> None:
    await lock_out(office)
    async with office.browser("198.51.100.8") as new_phone:
        refused = await api_login(new_phone, PASSWORD)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        page = await page_login(new_phone, PASSWORD)
        assert page.status_code == 429
        assert LOCKED_HINT in page.text.replace("\n", " ")
        assert "mb_access" not in new_phone.cookies
    async with office.browser("203.0.113.66") as attacker:  # a made-up device cookie: no pass
        attacker.cookies.set("mb_device", "A" * 43)
        assert (await api_login(attacker, PASSWORD)).status_code == 429


async def test_the_owner_gets_one_lockout_mail_whose_link_signs_in_once(office: Office) -> None:
    assert await lock_out(office) == [401] * 9 + [429]
    await let_the_wait_pass(office.auth)
    assert await lock_out(office, 3) == [429] * 3  # the stranger goes on: waits double
    await office.deliver_mails()
    assert [mail["To"] for mail in office.sink.mails] == [f"Jan Peeters <{OWNER}>"]
    assert office.sink.mails[0]["Subject"] == "Aanmelden op MyBroker tijdelijk geblokkeerd"
    path = unlock_path(office.sink)
    token = path.split("token=", 1)[1]
    stored = await office.auth.runtime.database[UNLOCKS].find_one({})
    assert stored is not None and token not in repr(stored)  # only its hash is kept

    async with office.browser("198.51.100.9") as borrowed_pc:
        page = await borrowed_pc.get(path)
        assert page.status_code == 200
        assert f'value="{OWNER}" readonly' in page.text
        wrong = await borrowed_pc.post("/unlock", data={
            "token": token, "password": WRONG, "csrf_token": borrowed_pc.cookies["mb_csrf"]})
        assert wrong.status_code == 401
        signed_in = await borrowed_pc.post("/unlock", data={
            "token": token, "password": PASSWORD,
            "csrf_token": borrowed_pc.cookies["mb_csrf"]})
        assert signed_in.status_code == 303, signed_in.text
        assert "mb_access" in borrowed_pc.cookies and "mb_device" in borrowed_pc.cookies
        again = await borrowed_pc.get(path)
        assert again.status_code == 410  # single use
    async with office.browser("198.51.100.10") as other:
        reused = await other.post("/api/v1/auth/unlock", json={"token": token,
                                                               "password": PASSWORD})
        assert reused.status_code == 410
    await office.deliver_mails()
    assert len(office.sink.mails) == 1  # one mail for the lockout, not one per attempt


async def test_a_password_spray_logging_in_to_its_own_account_every_few_tries_gets_429s(
    office: Office,
) -> None:
    """The probe: 147 guesses from one address, a good login to the sprayer's own account
    every 10 tries; before the fix a success reset the address's count (zero 429s)."""
    _, token = await invite(office.auth, email="sprayer@example.be")
    await activate(office.auth, token)
    statuses: list[int] = []
    async with office.browser("203.0.113.77") as sprayer:
        for guess in range(147):
            if guess % 10 == 0:
                own = await api_login(sprayer, PASSWORD, email="sprayer@example.be")
                assert own.status_code == 200  # their own account stays open to them
            victim = f"client{guess}@example.be"
            statuses.append((await api_login(sprayer, WRONG, email=victim)).status_code)
    print(f"spray: {statuses.count(401)} guesses judged, {statuses.count(429)} refused with 429")
    assert statuses.count(401) == 49  # the 50th failure in the hour locks the address out
    assert statuses[49:] == [429] * (147 - 49)
    async with office.browser("198.51.100.7") as elsewhere:  # the owner elsewhere: unaffected
        assert (await api_login(elsewhere, PASSWORD)).status_code == 200
