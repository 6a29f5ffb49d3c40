"""In the browser: the office types a dossier number and gets the existing ones suggested; a
number no dossier has is refused with a message saying which."""

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, fixture_dossier, import_dossiers

pytestmark = pytest.mark.browser

DUPONT = fixture_dossier("dupont")
PEETERS = fixture_dossier("peeters")


def test_the_office_picks_an_existing_dossier_and_is_told_of_a_wrong_number(
    browser: Browser, system_stack: SystemStack,
) -> None:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont", "peeters")
    page = browser.new_page(locale="nl-BE", viewport={"width": 390, "height": 844})
    try:
        log_in_as_office_admin(page, system_stack, next_page="/admin/accounts")
        page.goto(f"{system_stack.gateway_url}/admin/accounts")
        field = page.get_by_label("Toegang te geven dossiernummers (gescheiden door komma's)")
        field.press_sequentially("dos-2019")
        suggested = page.locator("#invite-dossier-suggestions option")
        expect(suggested).to_have_count(1)
        expect(suggested).to_have_attribute("value", DUPONT["dossier_id"])
        expect(suggested).to_contain_text(DUPONT["name"])

        field.fill(f"{DUPONT['dossier_id']}, ")
        field.press_sequentially("peet")  # by name, after a first number
        expect(suggested).to_have_attribute(
            "value", f"{DUPONT['dossier_id']}, {PEETERS['dossier_id']}")

        page.get_by_label("E-mailadres").first.fill(
            f"nieuwe.klant.{uuid.uuid4().hex[:6]}@example.com")
        page.get_by_label("Naam", exact=True).fill("Nieuwe Klant")
        field.fill("DOS-DOES-NOT-EXIST")
        page.get_by_role("button", name="Uitnodiging versturen").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Geen dossier heeft het nummer DOS-DOES-NOT-EXIST")
        box = alert.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        expect(field).to_have_value("DOS-DOES-NOT-EXIST")  # kept, to be corrected
    finally:
        page.close()
