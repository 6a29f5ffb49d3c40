"""In the browser: a mail the notifier handed over just before it was killed shows on the office
page "Mailproblemen", on a phone and a desktop, and the staff member's resend sends it once."""

import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.maildir import mails_to
from deploy.local.seed_demo import bearer
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, staff_log_in
from tests.system.test_mail_crashes import crash_after_mailing, mail_problems

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}


def uncertain_invitation(stack: SystemStack, address: str) -> None:
    """Invite `address` while the notifier is set to die right after mailing it, restart it:
    the redelivered invitation is then uncertain."""
    group, applications = stack.group, stack.applications
    group.stop("notifier")
    applications.restart("notifier", crash_after_mailing(address))
    try:
        with httpx.Client(base_url=stack.gateway_url, timeout=30.0) as gateway:
            gateway.post("/admin/api/v1/invitations",
                         headers=bearer(staff_log_in(stack, gateway)),
                         json={"email": address, "display_name": "Sofie Janssens",
                               "dossier_ids": []}).raise_for_status()
            assert group.processes["notifier"].wait(timeout=60) == -9
            applications.restart("notifier")
            deadline = time.monotonic() + 30
            while address not in mail_problems(stack, gateway):
                assert time.monotonic() < deadline, "the mail never became uncertain"
                time.sleep(0.2)
    finally:
        if group.processes["notifier"].poll() is not None:
            applications.restart("notifier")


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_staff_see_an_uncertain_mail_and_resend_it_once(
    browser: Browser, system_stack: SystemStack, device: str, tmp_path: Path,
) -> None:
    address = f"sofie.janssens.{uuid.uuid4().hex[:6]}@example.com"
    uncertain_invitation(system_stack, address)
    assert len(mails_to(system_stack.maildir, address)) == 1

    context = browser.new_context(locale="nl-BE", **VIEWPORTS[device])  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in_as_office_admin(page, system_stack)
        if device == "phone":
            page.locator("label.menu-button").click()
        page.locator(".menu").get_by_role("link", name="Mailproblemen").click()
        expect(page.get_by_role("heading", name="Mailproblemen")).to_be_visible()
        row = page.locator(".mail-problem", has_text=address)
        expect(row).to_contain_text("Uw toegang tot de klantenzone")
        expect(row).to_contain_text("MyBroker stopte terwijl het de mail aan de mailserver gaf.")
        expect(row).to_contain_text("Onzeker")
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[device][
            "viewport"]["width"]  # type: ignore[index]
        page.screenshot(path=str(tmp_path / f"mail-problems-{device}.png"), full_page=True)

        row.get_by_role("button", name="Deze mail opnieuw versturen").click()
        expect(page.get_by_role("status")).to_contain_text("De mail is opnieuw verstuurd.")
        expect(page.locator(".mail-problem", has_text=address)).to_have_count(0)
    finally:
        context.close()
    deadline = time.monotonic() + 30
    while len(mails_to(system_stack.maildir, address)) < 2:
        assert time.monotonic() < deadline, "the resent mail never arrived"
        time.sleep(0.2)
    time.sleep(1)
    assert len(mails_to(system_stack.maildir, address)) == 2  # the first one and one resend
