"""In the browser: the office admin edits the office settings on the "Kantoor" page and sees
the portal change (name in the header, colours, footer), on the login page too."""

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.seed_demo import bearer
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, staff_log_in

pytestmark = pytest.mark.browser


def test_the_office_admin_edits_the_settings_and_sees_the_portal_change(
    browser: Browser, system_stack: SystemStack,
) -> None:
    name = f"Verzekeringen Claes {uuid.uuid4().hex[:4]}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        admin = staff_log_in(system_stack, gateway)
        before = gateway.get("/admin/api/v1/office", headers=bearer(admin)).json()
    page = browser.new_page(locale="nl-BE")
    try:
        log_in_as_office_admin(page, system_stack, next_page="/admin/office")
        expect(page.get_by_role("heading", name="Kantoor", exact=True)).to_be_visible()

        # A colour too light for text on white: refused next to its field, what was typed kept.
        page.get_by_label("Naam van het kantoor").fill(name)
        page.get_by_label("Hoofdkleur").fill("#ffcc00")
        page.get_by_role("button", name="Kantoorinstellingen opslaan").click()
        expect(page.locator("#office-colours-primary-error")).to_contain_text(
            "contrast van 1.51:1")
        expect(page.get_by_label("Naam van het kantoor")).to_have_value(name)

        page.get_by_label("Hoofdkleur").fill("#0b5e3c")
        page.get_by_label("FSMA-nummer").fill("114389 A")
        page.get_by_label("Ondernemingsnummer").fill("BE 0403 170 701")
        page.get_by_role("button", name="Kantoorinstellingen opslaan").click()
        expect(page.get_by_role("status")).to_contain_text("De kantoorinstellingen zijn opgeslagen")
        expect(page.locator(".brand-name")).to_have_text(name)
        expect(page.get_by_label("Ondernemingsnummer")).to_have_value("0403.170.701")
        brand = page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
        assert brand == "#0b5e3c"

        visitor = browser.new_page(locale="nl-BE")
        try:
            visitor.goto(f"{system_stack.gateway_url}/login")
            expect(visitor.locator(".brand-name")).to_have_text(name)
            footer = visitor.get_by_role("contentinfo")
            expect(footer).to_contain_text("FSMA-nummer: 114389 A")
            expect(footer).to_contain_text("Ondernemingsnummer: 0403.170.701")
        finally:
            visitor.close()
    finally:
        page.close()
        with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
            admin = staff_log_in(system_stack, gateway)
            current = gateway.get("/admin/api/v1/office", headers=bearer(admin)).json()
            gateway.put("/admin/api/v1/office", headers=bearer(admin), json={
                **{key: value for key, value in before.items()
                   if key not in ("version", "updated_by")},
                "expected_version": current["version"]}).raise_for_status()
