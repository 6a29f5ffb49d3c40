"""A client walks their insurance file on a phone and on a desktop (manual 3.1): from the
vehicle to its contract, the contract's guarantees, and the claim; the cross closes a detail."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import log_in
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


def open_menu_item(page: Page, name: str, phone: bool) -> None:
    """Click a left-menu entry; on a phone the menu first unfolds from its button."""
    if phone:
        page.locator(".menu-button").click()
    page.locator(".menu").get_by_role("link", name=name).click()


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_risk_to_contract_to_guarantee_to_claim(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin, device: str
) -> None:
    context = browser.new_context(locale="nl-BE", **VIEWPORTS[device])  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password)

        open_menu_item(page, "Mijn risico's", device == "phone")
        expect(page.get_by_role("heading", name="Mijn risico's")).to_be_visible()
        expect(page.get_by_text("Gekozen opties: Pechbijstand Benelux")).to_be_visible()
        page.get_by_role("link", name=re.compile("Volkswagen Golf")).click()

        expect(page.get_by_role("heading", name=re.compile("Volkswagen Golf"))).to_be_visible()
        expect(page.get_by_text("WVWZZZCDZMW123456")).to_be_visible()
        page.get_by_role("link", name=re.compile("AU-7712.345.219")).click()

        expect(page.get_by_role("heading", name="Autoverzekering Top Drive")).to_be_visible()
        omnium = page.locator("#guarantee-OMNIUM")
        expect(omnium).to_contain_text("Volledige omnium")
        expect(omnium).to_contain_text("€ 650,00".replace(" ", "\xa0"))
        page.get_by_role("link", name=re.compile("SCH-2024-018832")).click()

        expect(page.get_by_role("heading", name="Schadegeval SCH-2024-018832")).to_be_visible()
        expect(page.get_by_text("AG-SIN-2024-5518772")).to_be_visible()
        deep_link = page.url
        page.get_by_role("link", name="Sluiten").click()
        expect(page.get_by_role("heading", name="Mijn schadegevallen")).to_be_visible()

        page.goto(deep_link)  # a detail has its own address
        expect(page.get_by_role("heading", name="Schadegeval SCH-2024-018832")).to_be_visible()
    finally:
        context.close()
