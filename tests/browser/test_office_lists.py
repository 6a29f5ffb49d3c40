"""In the browser: staff find an account in the list of all accounts (filtered by text and
status), open its account page, and revoke an invitation from the list of invitations."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.seed_demo import bearer
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, staff_log_in

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_staff_find_an_invited_client_in_the_lists_and_revoke_the_invitation(
    browser: Browser, system_stack: SystemStack, device: str,
) -> None:
    marker = uuid.uuid4().hex[:6]
    email = f"griet.claes.{marker}@example.com"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = bearer(staff_log_in(system_stack, gateway))
        gateway.post("/admin/api/v1/invitations", headers=staff, json={
            "email": email, "display_name": f"Griet Claes {marker}", "language": "nl",
            "dossier_ids": []}).raise_for_status()

    context = browser.new_context(locale="nl-BE", **VIEWPORTS[device])  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in_as_office_admin(page, system_stack)
        expect(page.get_by_role("heading", name="Te behandelen aanvragen")).to_be_visible()

        if device == "phone":
            page.locator("label.menu-button").click()
        page.locator(".menu").get_by_role("link", name="Alle accounts").click()
        expect(page.get_by_role("heading", name="Alle accounts")).to_be_visible()
        page.get_by_label("E-mailadres of naam bevat").fill(f"CLAES {marker}")
        page.get_by_label("Status").select_option(label="Uitgenodigd")
        page.get_by_role("button", name="Tonen").click()
        rows = page.locator(".account-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(email)
        rows.first.get_by_role("link").click()
        expect(page.locator("#account")).to_contain_text(email)

        page.goto(f"{system_stack.gateway_url}/admin/invitations?state=pending")
        row = page.locator(".invitation-row", has_text=email)
        expect(row).to_contain_text("In afwachting")
        row.get_by_role("button", name="Uitnodiging intrekken").click()
        expect(page.get_by_role("status")).to_contain_text("De uitnodiging werkt niet meer")
        page.get_by_role("link", name="Ingetrokken").click()
        page.wait_for_url(re.compile(r"state=revoked"))
        expect(page.locator(".invitation-row", has_text=email)).to_contain_text("Ingetrokken")
        expect(page.locator(".invitation-row", has_text="In afwachting")).to_have_count(0)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[device]["viewport"]["width"]  # type: ignore[index]
    finally:
        context.close()


AUDIT_VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}


@pytest.mark.parametrize("device", sorted(AUDIT_VIEWPORTS))
def test_the_audit_log_fits_the_screen_and_reads_as_sentences_with_names(
    browser: Browser, system_stack: SystemStack, device: str,
) -> None:
    marker = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = bearer(staff_log_in(system_stack, gateway))
        gateway.post("/admin/api/v1/invitations", headers={**staff, "User-Agent": (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36")}, json={
            "email": f"jef.{marker}@example.com", "display_name": f"Jef Aerts {marker}",
            "language": "nl", "dossier_ids": []}).raise_for_status()

    settings = AUDIT_VIEWPORTS[device]
    context = browser.new_context(locale="nl-BE", **settings)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in_as_office_admin(page, system_stack)
        page.goto(f"{system_stack.gateway_url}/admin/audit?kind=invitation")
        row = page.locator(".audit-row", has_text=f"Jef Aerts {marker}").first
        expect(row).to_contain_text(f"heeft Jef Aerts {marker} uitgenodigd")
        expect(row).to_contain_text("Chrome Mobile op Android")
        width = settings["viewport"]["width"]  # type: ignore[index]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = page.locator("section.rows").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        expect(page.locator(".audit-row").first).not_to_contain_text("invitation.create")
    finally:
        context.close()
