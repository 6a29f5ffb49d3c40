"""On a phone (375 px) every navigation item stays reachable: the folded menu holds the account
links the top bar shows on a wider screen ("Wachtwoord wijzigen", "Afmelden")."""


import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import log_in
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def test_a_phone_user_opens_the_change_password_page_from_the_menu(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin
) -> None:
    context = browser.new_context(locale="nl-BE", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password)

        change_password = page.get_by_role("link", name="Wachtwoord wijzigen")
        expect(change_password).to_be_hidden()  # folded away with the menu
        page.locator("label.menu-button").click()
        expect(change_password).to_be_visible()
        change_password.click()

        expect(page.get_by_role("heading", name="Wachtwoord wijzigen")).to_be_visible()
        assert page.url.endswith("/account/password")
        # This page has no side menu: its top bar keeps the way out, and no dead "Menu" button.
        expect(page.get_by_role("button", name="Afmelden")).to_be_visible()
        expect(page.locator("label.menu-button")).to_have_count(0)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
    finally:
        context.close()


def test_on_a_desktop_the_account_links_stay_in_the_top_bar(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin
) -> None:
    context = browser.new_context(locale="nl-BE", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password)
        top_bar = page.locator("header.topbar")
        expect(top_bar.get_by_role("link", name="Wachtwoord wijzigen")).to_be_visible()
        expect(page.locator(".sidebar-account")).to_be_hidden()  # no double links
    finally:
        context.close()
