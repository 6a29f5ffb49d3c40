"""A person whose address a stranger locked reads what to do on the login page, follows the
mailed link and signs in on another device; then that browser passes the lockout by itself."""

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from deploy.local.maildir import wait_for_mail
from tests.system.stack import SystemStack, fixture_dossier, new_client

pytestmark = pytest.mark.browser

UNLOCK_LINK = re.compile(r"https?://[^\s\"'<>]+/unlock\?token=[A-Za-z0-9_\-]+")
SCREENSHOTS = Path(os.environ.get("MYBROKER_TEST_SCREENSHOTS", "/tmp/mybroker-screenshots"))


@pytest.mark.parametrize("viewport", [ViewportSize(width=390, height=844),
                                      ViewportSize(width=1440, height=900)],
                         ids=["phone", "desktop"])
def test_the_owner_reads_what_to_do_and_signs_in_with_the_mailed_link(
    browser: Browser, system_stack: SystemStack, viewport: ViewportSize,
) -> None:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        client = new_client(system_stack, gateway, "Ines Claes",
                            [fixture_dossier("dupont")["dossier_id"]])
        for _ in range(10):  # a stranger elsewhere (the gateway trusts the local proxy)
            gateway.post("/api/v1/auth/login", headers={"X-Forwarded-For": "192.0.2.44"},
                         json={"email": client.email, "password": "zomaar iets geprobeerd"})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(locale="nl-BE", viewport=viewport)
    width = viewport["width"]
    try:
        page.goto(f"{system_stack.gateway_url}/login")
        page.fill("#email", client.email)
        page.fill("#password", client.password)
        page.get_by_role("button", name="Aanmelden").click()
        expect(page.get_by_role("alert")).to_contain_text("Te veel mislukte pogingen")
        expect(page.get_by_text("Op een toestel waarmee u zich eerder aanmeldde")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=SCREENSHOTS / f"login-locked-{width}.png", full_page=True)

        mail = wait_for_mail(system_stack.maildir, client.email, containing="/unlock?token=")
        link = UNLOCK_LINK.search(mail.text)
        assert link is not None, mail.text
        page.goto(link.group(0))
        expect(page.get_by_role("heading", name="Aanmelden met de link uit uw e-mail")) \
            .to_be_visible()
        expect(page.locator("#email")).to_have_value(client.email)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=SCREENSHOTS / f"unlock-{width}.png", full_page=True)
        page.fill("#password", client.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(lambda url: "/unlock" not in url and "/login" not in url)

        page.goto(link.group(0))  # used: the page says so
        expect(page.get_by_role("alert")).to_contain_text("al gebruikt")

        # This browser is known to the account now: it signs in although the address is locked.
        page.context.clear_cookies(name="mb_access")
        page.context.clear_cookies(name="mb_refresh")
        page.goto(f"{system_stack.gateway_url}/login")
        page.fill("#email", client.email)
        page.fill("#password", client.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(lambda url: "/login" not in url)
    finally:
        page.close()
