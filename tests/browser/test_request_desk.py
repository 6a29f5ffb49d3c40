"""In the browser: the office, in a browser context of its own, finds the message a client sent
on its request desk, answers it with a file and accepts it in the same step; the client reads
the answer and the new status."""

import os
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.seed_demo import bearer
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.browser

DUPONT = fixture_dossier("dupont")["dossier_id"]
SHOTS = Path(os.environ.get("MYBROKER_TEST_SCREENSHOTS", "/tmp/mybroker-screenshots"))


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844},
                                      {"width": 1440, "height": 900}], ids=["phone", "desktop"])
def test_the_office_answers_and_accepts_a_request_the_client_sent(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int], tmp_path: Path,
) -> None:
    subject = f"Attest voor de bank {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        client = bearer(dupont_family.log_in(gateway))
        sent = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers=client, json={
            "subject": subject, "body": "Kan u mij een verzekeringsattest sturen?"})
        assert sent.status_code == 201, sent.text
        request_id = sent.json()["request_id"]

    attest = tmp_path / "attest.txt"
    attest.write_text("Verzekeringsattest 2027\n", encoding="utf-8")
    office = browser.new_context(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    page = office.new_page()
    try:
        log_in_as_office_admin(page, system_stack, next_page="/admin/desk")
        expect(page.get_by_role("heading", name="Aanvragen van klanten", level=1)).to_be_visible()
        menu = page.locator("nav.menu a[href='/admin/desk']")
        expect(menu.locator(".badge.count")).to_contain_text("ongelezen")  # unread ones

        page.get_by_label("Dossiernummer").fill(DUPONT)
        page.get_by_role("button", name="Tonen").click()
        page.wait_for_url(lambda url: "dossier_id=" in url)
        row = page.locator("article.desk-row", has_text=subject)
        expect(row).to_contain_text("Nieuw")
        expect(row).to_contain_text("In afwachting")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"desk-inbox-{viewport['width']}.png"), full_page=True)
        row.get_by_role("link").click()

        expect(page.get_by_role("heading", name=subject, level=1)).to_be_visible()
        expect(page.locator("#sent")).to_contain_text("Kan u mij een verzekeringsattest sturen?")
        expect(page.locator("#notes")).to_contain_text("nooit getoond aan de klant")
        page.get_by_label("Uw antwoord (de klant leest het)").fill(
            "Hierbij uw attest. Met vriendelijke groeten.")
        page.get_by_label("De aanvraag aanvaarden").check()
        page.get_by_label("Bestanden toevoegen").set_input_files(str(attest))
        page.get_by_role("button", name="Antwoord versturen").click()

        expect(page.get_by_role("status")).to_contain_text("Uw antwoord is verzonden")
        expect(page.locator(".desk-badges")).to_contain_text("Aanvaard")
        thread = page.locator("#thread")
        expect(thread).to_contain_text("Hierbij uw attest. Met vriendelijke groeten.")
        expect(thread.get_by_role("link", name="attest.txt")).to_be_visible()
        expect(page.locator("#timeline")).to_contain_text("Aanvaard")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the request's page is wider than the screen"
        page.screenshot(path=str(SHOTS / f"desk-answered-{viewport['width']}.png"),
                        full_page=True)

        thread.get_by_role("link", name="attest.txt").click()  # the staff's viewer
        expect(page.get_by_role("heading", name="attest.txt")).to_be_visible()
        page.get_by_role("link", name="Sluiten").click()
        expect(page.get_by_role("heading", name=subject, level=1)).to_be_visible()
    finally:
        office.close()

    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        seen = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests/{request_id}",
                           headers=bearer(dupont_family.log_in(gateway)))
        assert seen.status_code == 200, seen.text
        assert seen.json()["status"] == "accepted"
        answers = [entry for entry in seen.json()["entries"] if entry["author"] == "office"]
        assert answers[0]["body"] == "Hierbij uw attest. Met vriendelijke groeten."
