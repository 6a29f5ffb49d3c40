"""In the browser: the broker's staff approve a registration on the office pages."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.maildir import wait_for_mail
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, fixture_dossier, import_dossiers

pytestmark = pytest.mark.browser

CONFIRM_TOKEN = re.compile(r"/register/confirm\?token=([A-Za-z0-9_\-]+)")
PASSWORD = "een huis aan de schelde in antwerpen"
DUPONT = fixture_dossier("dupont")


def test_staff_approve_a_registration_on_the_office_page(
    browser: Browser, system_stack: SystemStack,
) -> None:
    email = f"ruben.wouters.{uuid.uuid4().hex[:6]}@example.com"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont")
        gateway.post("/api/v1/auth/register", json={
            "last_name": "Wouters", "first_name": "Ruben", "birth_date": "1990-02-14",
            "email": email, "phone": "+32 470 11 22 33", "language": "nl"}).raise_for_status()
        mail = wait_for_mail(system_stack.maildir, email, containing="/register/confirm?token=")
        token = CONFIRM_TOKEN.search(mail.text)
        assert token is not None, mail.text
        gateway.post("/api/v1/auth/registrations/confirm", json={
            "token": token.group(1), "password": PASSWORD}).raise_for_status()

    page = browser.new_page(locale="nl-BE")
    try:
        log_in_as_office_admin(page, system_stack)
        expect(page.get_by_role("heading", name="Te behandelen aanvragen")).to_be_visible()

        card = page.locator("article", has_text=email)
        card.get_by_label("Toegang te geven dossiernummers").fill(DUPONT["dossier_id"])
        card.get_by_role("button", name="Goedkeuren").click()
        expect(page.get_by_role("status")).to_contain_text("De inschrijving is goedgekeurd")
        expect(page.locator("article", has_text=email)).to_have_count(0)
        wait_for_mail(system_stack.maildir, email, containing="goedgekeurd")

        page.goto(f"{system_stack.gateway_url}/admin/audit")
        newest = page.locator(".audit-row").first  # the office reads a sentence with names
        expect(newest).to_contain_text("heeft de inschrijving van Ruben Wouters goedgekeurd")
    finally:
        page.close()
