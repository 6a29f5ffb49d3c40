"""The requests capability end to end (manual 4.4 and 4.5): on a phone, a client declares a claim
from a contract with three documents made here and keeps its detail open; in a browser of its
own the office takes it in progress on the request desk and accepts it with an answer; the
client's open page shows the new status and the answer by itself, without a reload."""

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import log_in, log_in_as_office_admin
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.browser

DUPONT = fixture_dossier("dupont")["dossier_id"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
LIVE_MS = 10_000
SENT = "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar."


def _documents(folder: Path) -> dict[str, str]:
    """Three files of the kinds a client sends with a claim, and the description of each."""
    (folder / "schade-voorkant.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 200)
    (folder / "proces-verbaal.txt").write_text("Proces-verbaal GE.55.L1.000778/2026\n",
                                               encoding="utf-8")
    (folder / "bestek.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 20_000 + b"\n%%EOF\n")
    return {"schade-voorkant.jpg": "Foto voorkant", "proces-verbaal.txt": "Proces-verbaal",
            "bestek.pdf": "Bestek garage"}


def test_a_claim_declared_on_a_phone_is_accepted_at_the_desk_and_the_open_page_follows(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin, tmp_path: Path
) -> None:
    documents = _documents(tmp_path)
    story = f"Bestelwagen reed tegen de voorbumper ({uuid.uuid4().hex[:8]})."
    answer = "Uw schadegeval is aanvaard en doorgestuurd naar AG Insurance."
    client = browser.new_context(locale="nl-BE", **PHONE)  # type: ignore[arg-type]
    office = browser.new_context(locale="nl-BE", **DESKTOP)  # type: ignore[arg-type]
    try:
        # 1. the claim, from a contract of "Mijn contracten" (the menu is folded on a phone)
        page = client.new_page()
        log_in(page, system_stack, dupont_family.email, dupont_family.password)
        page.locator("label.menu-button").click()
        page.get_by_role("link", name="Mijn contracten").first.click()
        expect(page.get_by_role("heading", name="Mijn contracten")).to_be_visible()
        page.locator("a.row-link", has_text="AU-7712.345.219").click()
        page.get_by_role("link", name="Schade aangeven").click()
        expect(page.get_by_role("heading", name="Schade aangifte")).to_be_visible()
        expect(page.get_by_label("Risico-object 1")).to_have_value("R-00417-1")
        page.get_by_label("Datum van het schadegeval").fill("2026-11-29")
        page.get_by_label("Uur van het schadegeval").fill("08:15")
        page.locator("#description").fill(story)
        page.get_by_role("group", name="Btw-plichtige").get_by_label("Ja").check()
        page.locator("[data-attachment-input]").set_input_files(
            [str(tmp_path / name) for name in documents])
        expect(page.locator(".attachment-list .attachment")).to_have_count(3)
        descriptions = page.locator(".attachment-description input")
        for index, description in enumerate(documents.values()):
            descriptions.nth(index).fill(description)
        page.get_by_role("button", name="Bevestigen").click()
        expect(page.get_by_role("status")).to_have_text(SENT)

        # 2. pending in "Mijn aanvragen" (the newest first); its detail stays open
        page.get_by_role("link", name="Naar Mijn aanvragen").click()
        row = page.locator(".request-row").first
        expect(row).to_contain_text("Schade aangifte")
        expect(row).to_contain_text("In afwachting")
        row.get_by_role("link").click()
        expect(page.get_by_text(story)).to_be_visible()  # this client's claim, not an older one
        request_id = page.url.split("/requests/", 1)[1].split("?", 1)[0]
        live = page.locator("#request-live")
        expect(live.locator(".request-status")).to_contain_text("In afwachting")
        # 5. the three documents with their descriptions in the thread, and among what was
        # sent the declaration's PDF too
        thread = live.locator("#thread")
        for name, description in documents.items():
            attachment = thread.locator(".attachments li", has_text=name)
            expect(attachment.get_by_role("link", name=name, exact=True)).to_be_visible()
            expect(attachment).to_contain_text(description)
        expect(live.get_by_role("link", name="Aangifte (PDF)")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        page.wait_for_function("document.querySelector('[sse-connect]') !== null")
        page.wait_for_timeout(500)  # the stream is open (its `ready` came)

        # 3. the office, on a desktop: the desk, the request, in progress, accepted
        desk = office.new_page()
        log_in_as_office_admin(desk, system_stack, next_page="/admin/desk")
        desk.get_by_label("Dossiernummer").fill(DUPONT)
        desk.get_by_role("button", name="Tonen").click()
        desk.wait_for_url(lambda url: "dossier_id=" in url)
        found = desk.locator("article.desk-row", has=desk.locator(
            f"a[href='/admin/desk/{request_id}']"))
        expect(found).to_contain_text("Schade aangifte")
        expect(found).to_contain_text("In afwachting")
        found.get_by_role("link").click()
        expect(desk.locator("#sent")).to_contain_text(story)
        desk.get_by_role("button", name="In behandeling nemen").click()
        expect(desk.locator(".desk-badges")).to_contain_text("In behandeling")
        # the client's page follows each step by itself
        expect(live.locator(".request-status")).to_contain_text("In behandeling",
                                                                timeout=LIVE_MS)
        desk.get_by_label("Uw antwoord (de klant leest het)").fill(answer)
        desk.get_by_label("De aanvraag aanvaarden").check()
        desk.get_by_role("button", name="Antwoord versturen").click()
        expect(desk.get_by_role("status")).to_contain_text("Uw antwoord is verzonden")
        expect(desk.locator(".desk-badges")).to_contain_text("Aanvaard")

        # 4. no reload on the client's phone: the status and the answer came by themselves
        expect(live.locator(".request-status")).to_contain_text("Aanvaard", timeout=LIVE_MS)
        expect(live.locator(".entry-office")).to_contain_text(answer, timeout=LIVE_MS)
        assert page.evaluate("window.notReloaded === true"), "the client's page was reloaded"
        assert request_id in page.url
        for name in documents:  # the documents are still listed after the live update
            expect(thread.get_by_role("link", name=name, exact=True)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"], f"the page is {width} px wide"  # type: ignore[index]
    finally:
        office.close()
        client.close()
