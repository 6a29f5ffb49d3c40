"""The office settings on the real processes: the office admin changes them through the admin
API and the login page and the next mails show them within seconds, with no restart; a change
made at auth reaches the gateway by its event alone; refusals name the field and why."""

import asyncio
import email
import email.policy
import hashlib
import html
import mailbox
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import DEMO_OFFICE_SETTINGS, bearer, demo_logo, set_office
from libs.contracts import office
from libs.contracts.caller import Caller, Role
from libs.servicekit.rpc import RpcClient
from tests.system.conftest import DUPONT
from tests.system.stack import SystemStack, staff_log_in

pytestmark = pytest.mark.system


def login_page_shows(gateway: httpx.Client, *texts: str, seconds: float = 10.0) -> str:
    """The login page, once it shows every one of `texts` (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        page = gateway.get("/login").text
        if all(text in page for text in texts):
            return page
        if time.monotonic() > deadline:
            raise AssertionError(f"the login page did not show {texts} within {seconds} s")
        time.sleep(0.2)


@pytest.fixture
def settings_restored(gateway: httpx.Client, staff_token: str) -> Iterator[None]:
    """Whatever a test changes, the office's settings are as before afterwards."""
    before = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    yield
    current = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    restored = {key: value for key, value in before.items()
                if key not in ("version", "updated_by")}
    gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **restored, "expected_version": current["version"]}).raise_for_status()


@pytest.mark.usefixtures("settings_restored")
def test_the_admins_change_shows_on_the_login_page_without_a_restart(
    gateway: httpx.Client, staff_token: str,
) -> None:
    name = f"Verzekeringen Peeters {uuid.uuid4().hex[:6]}"
    current = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    response = gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **current, "name": name, "colours": {"primary": "#0b5e3c", "accent": "#8a4b08"},
        "fsma_number": "114389 A", "company_number": "BE 0403 170 701",
        "expected_version": current["version"]})
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    assert response.json()["company_number"] == "0403.170.701"

    page = login_page_shows(gateway, name, f"/office/theme.css?v={version}")
    assert "0403.170.701" in page and "114389 A" in page
    assert "--brand: #0b5e3c;" in gateway.get(f"/office/theme.css?v={version}").text

    stale = gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **current, "name": "Een oude versie", "expected_version": current["version"]})
    assert stale.status_code == 409


@pytest.mark.usefixtures("settings_restored")
def test_a_change_made_at_auth_reaches_the_pages_by_its_event(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
) -> None:
    name = f"Kantoor Via Event {uuid.uuid4().hex[:6]}"
    admin_id = gateway.get("/api/v1/me", headers=bearer(staff_token)).json()["user_id"]

    async def change() -> office.OfficeSettingsPublic:
        rpc = RpcClient(system_stack.config.amqp_url, timeout_seconds=10)
        await rpc.connect()
        try:
            current = await rpc.call(office.GET_OFFICE, office.GetOfficeRequest())
            settings = office.OfficeSettings(**current.model_dump(
                include=set(office.OfficeSettings.model_fields)))
            return await rpc.call(office.UPDATE_OFFICE, office.UpdateOfficeRequest(
                caller=Caller(user_id=admin_id, role=Role.ADMIN),
                settings=settings.model_copy(update={"name": name}),
                expected_version=current.version))
        finally:
            await rpc.close()

    changed = asyncio.run(change())
    login_page_shows(gateway, name, f"/office/theme.css?v={changed.version}")


def test_a_colour_unreadable_on_white_is_refused_with_its_contrast(
    gateway: httpx.Client, staff_token: str,
) -> None:
    before = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    response = gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **before, "colours": {"primary": "#ffcc00", "accent": "#8a4b08"},
        "website": "http://peeters.be"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"colours.primary", "website"}
    assert "1.51:1" in errors["colours.primary"] and "4.5:1" in errors["colours.primary"]
    after = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    assert after["version"] == before["version"]


def test_an_agent_reads_but_may_not_change_the_settings(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    admin = staff_log_in(system_stack, gateway)
    email = f"agent.{uuid.uuid4().hex[:6]}@mybroker.example"
    gateway.post("/admin/api/v1/staff", headers=bearer(admin), json={
        "email": email, "display_name": "Agent Kantoor", "role": "agent",
        "password": "office agent password 1"}).raise_for_status()
    agent = gateway.post("/api/v1/auth/login", json={
        "email": email, "password": "office agent password 1"}).json()["access_token"]
    current = gateway.get("/admin/api/v1/office", headers=bearer(agent))
    assert current.status_code == 200
    refused = gateway.put("/admin/api/v1/office", headers=bearer(agent), json={
        **current.json(), "name": "Kantoor van de agent"})
    assert refused.status_code == 403
    assert gateway.get("/admin/api/v1/office", headers=bearer(agent)).json() == current.json()


@pytest.mark.usefixtures("settings_restored")
def test_the_demo_office_shows_its_logo_before_anyone_signs_in(
    gateway: httpx.Client, staff_token: str,
) -> None:
    set_office(gateway, staff_token)  # what `make dev` seeds: the settings, then the logo
    logo = demo_logo()
    digest = hashlib.sha256(logo).hexdigest()
    login_page_shows(gateway, html.escape(DEMO_OFFICE_SETTINGS["name"]),
                     f"/office/logo?v={digest}")
    served = httpx.get(f"{gateway.base_url}/office/logo?v={digest}", timeout=30.0)
    assert served.status_code == 200 and served.content == logo
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    listed = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    assert listed["logo_sha256"] == digest


@pytest.mark.usefixtures("settings_restored", "office_dossiers")
def test_the_next_mail_carries_the_new_office_name_and_logo_without_a_restart(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
) -> None:
    set_office(gateway, staff_token)  # the demo office, with its logo
    name = f"Verzekeringen Maes & Co {uuid.uuid4().hex[:6]}"
    current = gateway.get("/admin/api/v1/office", headers=bearer(staff_token)).json()
    response = gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **current, "name": name, "expected_version": current["version"]})
    assert response.status_code == 200, response.text
    login_page_shows(gateway, html.escape(name))  # the change went round the bus

    address = f"lotte.maes.{uuid.uuid4().hex[:6]}@example.com"
    gateway.post("/admin/api/v1/invitations", headers=bearer(staff_token), json={
        "email": address, "display_name": "Lotte Maes", "language": "fr",
        "dossier_ids": [DUPONT]}).raise_for_status()
    received = wait_for_mail(system_stack.maildir, address, containing="/activate?token=")
    box = mailbox.Maildir(system_stack.maildir, factory=None, create=False)
    mail = email.message_from_bytes(box.get_bytes(received.key), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    text, page = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and page is not None
    assert name in str(text.get_content())
    assert html.escape(name) in str(page.get_content())
    logos = [part for part in mail.walk() if part.get_content_maintype() == "image"]
    assert len(logos) == 1 and 'src="cid:' in str(page.get_content())
    assert hashlib.sha256(logos[0].get_content()).hexdigest() == current["logo_sha256"]
