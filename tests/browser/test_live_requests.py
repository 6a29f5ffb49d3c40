"""On a phone, "Mijn aanvragen" changes by itself when the office answers: no reload, the
row shows the new answer and its status; the open detail shows the answer in the thread."""

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, expect

from deploy.local.seed_demo import bearer
from tests.browser.support import log_in
from tests.system.stack import ClientLogin, SystemStack, staff_log_in

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LIVE_MS = 10_000


def test_the_office_answer_appears_on_the_open_page_without_a_reload(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin, tmp_path: Path
) -> None:
    dossier_id = dupont_family.dossier_ids[0]
    subject = f"Hagel {uuid.uuid4().hex[:6]}"
    context = browser.new_context(locale="nl-BE", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password)
        page.goto(f"{system_stack.gateway_url}/messages/new?dossier={dossier_id}")
        page.fill("#subject", subject)
        page.fill("#body", "Dekt mijn omnium hagelschade?")
        photo: FilePayload = {"name": "foto.pdf", "mimeType": "application/pdf",
                              "buffer": b"%PDF-1.4 hagel op de motorkap"}
        too_large: FilePayload = {"name": "video.mp4", "mimeType": "video/mp4",
                                  "buffer": b"\0" * (2 * 1024 * 1024 + 1)}
        page.set_input_files("#message-files", files=[photo, too_large])
        # Checked before a byte is sent: the file over 2 MB is refused, nothing is sent.
        refused = page.locator(".upload", has_text="video.mp4")
        expect(refused).to_contain_text("Groter dan toegelaten per document")
        page.get_by_role("button", name="Bevestigen").click()
        expect(page.locator(".upload-summary")).to_contain_text("Verwijder de geweigerde")
        assert "/messages/new" in page.url
        expect(page.locator("#body")).to_have_value("Dekt mijn omnium hagelschade?")
        summary = page.locator(".upload-summary")
        expect(summary).to_have_attribute("role", "alert")
        refused.get_by_role("button").click()
        expect(page.locator(".upload-list .upload-name")).to_have_text(["foto.pdf"])
        # While it goes, the line says so calmly: progress, not an error in red.
        page.evaluate("""() => {
            window.realSend = XMLHttpRequest.prototype.send;
            XMLHttpRequest.prototype.send = function (body) { window.heldSend = [this, body]; };
        }""")
        page.get_by_role("button", name="Bevestigen").click()
        expect(summary).to_have_text("Bezig met verzenden…")
        expect(summary).to_have_attribute("role", "status")
        expect(summary).to_have_class("alert upload-summary progress")
        colours = summary.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e)"
                                   ".backgroundColor]")
        assert colours[0] != "rgb(179, 38, 30)" and colours[1] != "rgb(253, 236, 234)", colours
        page.evaluate("""() => {
            XMLHttpRequest.prototype.send = window.realSend;
            window.realSend.apply(window.heldSend[0], [window.heldSend[1]]);
        }""")
        expect(page.get_by_text("Uw aanvraag werd verzonden en is in afwachting bij uw "
                                "makelaar.")).to_be_visible()
        request_id = page.url.split("/requests/", 1)[1].split("?", 1)[0]

        page.goto(f"{system_stack.gateway_url}/requests?dossier={dossier_id}")
        row = page.locator(".request-row", has_text=subject)
        expect(row).to_contain_text("In afwachting")
        expect(row).not_to_contain_text("Nieuw antwoord")
        page.evaluate("window.notReloaded = true")
        page.wait_for_function("document.querySelector('[sse-connect]') !== null")
        page.wait_for_timeout(500)  # the stream is open (its `ready` came)

        with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
            staff = bearer(staff_log_in(system_stack, gateway))
            answered = gateway.post(f"/admin/api/v1/requests/{request_id}/answer",
                                    headers=staff, json={"body": "Ja, hagel is gedekt.",
                                                         "status": "accepted"})
            assert answered.status_code == 201, answered.text

        expect(row).to_contain_text("Nieuw antwoord", timeout=LIVE_MS)
        expect(row).to_contain_text("Aanvaard")
        assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        page.screenshot(path=str(tmp_path / "live-requests-phone.png"), full_page=True)

        row.get_by_role("link").click()
        expect(page.get_by_text("Ja, hagel is gedekt.")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
            staff = bearer(staff_log_in(system_stack, gateway))
            closed = gateway.post(f"/admin/api/v1/requests/{request_id}/status",
                                  headers=staff, json={"status": "closed"})
            assert closed.status_code == 200, closed.text
        expect(page.locator("#request-live")).to_contain_text("Afgesloten", timeout=LIVE_MS)
        expect(page.get_by_text("Dit gesprek is afgesloten.", exact=False)).to_be_visible()
        assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
        page.screenshot(path=str(tmp_path / "closed-request-phone.png"), full_page=True)
    finally:
        context.close()
