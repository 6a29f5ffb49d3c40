"""In the browser: a person registers, the broker approves, the client logs in; a client with
several dossiers switches between them on a phone and on a desktop (manual 1.1 and 3.3)."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    import_dossiers,
    new_client,
    staff_log_in,
)

pytestmark = pytest.mark.browser

CONFIRM_LINK = re.compile(r"https?://[^\s\"'<>]+/register/confirm\?token=[A-Za-z0-9_\-]+")
PASSWORD = "een huis aan de schelde in antwerpen"
DUPONT = fixture_dossier("dupont")
PEETERS = fixture_dossier("peeters")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def log_in(page: Page, stack: SystemStack, email: str, password: str) -> None:
    page.goto(f"{stack.gateway_url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Aanmelden").click()


def test_a_person_registers_is_approved_by_the_broker_and_logs_in(
    browser: Browser, system_stack: SystemStack,
) -> None:
    email = f"mira.janssens.{uuid.uuid4().hex[:6]}@example.com"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont")
    page = browser.new_page(locale="nl-BE")
    try:
        page.goto(f"{system_stack.gateway_url}/login")
        page.get_by_role("link", name="Zich inschrijven").click()
        page.fill("#last_name", "Janssens")
        page.fill("#first_name", "Mira")
        page.fill("#birth_date", "1985-07-30")
        page.fill("#email", email)
        page.fill("#phone", "+32 470 98 76 54")
        page.fill("#national_number", "85.07.30-033.28")
        page.get_by_role("button", name="Bevestigen").click()  # manual 1.2
        expect(page.get_by_role("status")).to_contain_text("Kijk in uw mailbox")

        mail = wait_for_mail(system_stack.maildir, email, containing="/register/confirm?token=")
        link = CONFIRM_LINK.search(mail.text)
        assert link is not None, mail.text
        page.goto(link.group(0))
        expect(page.locator("#email")).to_have_value(email)
        page.fill("#password", PASSWORD)
        page.fill("#password_confirmation", PASSWORD)
        page.get_by_role("button", name="Bevestigen").click()
        expect(page.get_by_role("status")).to_contain_text("Uw aanvraag ligt bij uw makelaar.")

        log_in(page, system_stack, email, PASSWORD)
        expect(page.get_by_role("alert")).to_contain_text("wacht op de goedkeuring")

        with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
            staff = bearer(staff_log_in(system_stack, gateway))
            pending = gateway.get("/admin/api/v1/registrations", headers=staff).json()
            [registration] = [r for r in pending["registrations"] if r["email"] == email]
            gateway.post(f"/admin/api/v1/registrations/{registration['registration_id']}/approve",
                         headers=staff, json={"dossier_ids": [DUPONT["dossier_id"]]}
                         ).raise_for_status()
        wait_for_mail(system_stack.maildir, email, containing="goedgekeurd")

        log_in(page, system_stack, email, PASSWORD)
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        expect(page.locator(".dossier-name")).to_have_text(DUPONT["name"])
    finally:
        page.close()


@pytest.fixture(scope="module")
def two_dossier_client(system_stack: SystemStack) -> ClientLogin:
    """A client granted both the Dupont and the Peeters dossier."""
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont", "peeters")
        return new_client(system_stack, gateway, "Els Dupont",
                          [DUPONT["dossier_id"], PEETERS["dossier_id"]])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_client_with_two_dossiers_switches_the_active_dossier(
    browser: Browser, system_stack: SystemStack, two_dossier_client: ClientLogin,
    viewport: dict[str, int],
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, two_dossier_client.email, two_dossier_client.password)
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        page.goto(f"{system_stack.gateway_url}/contracts")
        if viewport is PHONE:  # the sidebar folds away behind "Menu" on a phone
            page.locator("label.menu-button").click()
        box = page.locator(".dossier-box")
        expect(box.locator(".dossier-count")).to_have_text("Mijn dossiers (2)")
        current = box.locator(".dossier-name").inner_text().strip()
        other = PEETERS if current == DUPONT["name"] else DUPONT
        box.locator(".dossier-count").click()  # manual 3.3: the button opens the dossiers
        box.get_by_label(other["name"]).check()
        box.get_by_role("button", name="Dossier kiezen").click()

        if viewport is PHONE:
            page.locator("label.menu-button").click()
        expect(page.locator(".dossier-box .dossier-name")).to_have_text(other["name"])
        shown = page.locator(".policy-number").all_inner_texts()
        assert sorted(t.strip() for t in shown) == sorted(
            c["policy_number"] for c in other["contracts"])
    finally:
        page.close()
