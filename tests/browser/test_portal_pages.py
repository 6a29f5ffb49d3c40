"""A client logs in on the portal's login page and finds their policies (manual 2 and 3)."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.browser


def test_a_client_logs_in_and_sees_the_policy_numbers_of_their_contracts(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin
) -> None:
    page = browser.new_page(locale="nl-BE")
    try:
        page.goto(f"{system_stack.gateway_url}/login")
        expect(page.get_by_role("heading", name="Aanmelden")).to_be_visible()
        page.fill("#email", dupont_family.email)
        page.fill("#password", dupont_family.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))

        page.get_by_role("link", name="Mijn contracten").first.click()
        expect(page.get_by_role("heading", name="Mijn contracten")).to_be_visible()
        shown = page.locator(".policy-number").all_inner_texts()
        expected = [c["policy_number"] for c in fixture_dossier("dupont")["contracts"]]
        assert sorted(text.strip() for text in shown) == sorted(expected)
    finally:
        page.close()


def test_a_wrong_password_keeps_the_client_on_the_login_page_with_a_message(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin
) -> None:
    page = browser.new_page(locale="nl-BE")
    try:
        page.goto(f"{system_stack.gateway_url}/login")
        page.fill("#email", dupont_family.email)
        page.fill("#password", "certainly-not-the-password")
        page.get_by_role("button", name="Aanmelden").click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert page.url.split("?")[0].endswith("/login")

        page.goto(f"{system_stack.gateway_url}/contracts")
        assert page.url.split("?")[0].endswith("/login"), "no session without the password"
    finally:
        page.close()
