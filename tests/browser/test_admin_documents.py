"""In the browser: the office publishes several files at once on "Documenten publiceren", each
with its title and progress bar; a refused file does not stop the others; the client sees the
documents in "Mijn documenten" and gets one mail for the batch (manual 3.4); the refused file
is listed on "Documentproblemen"."""

import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.maildir import mails_to, wait_for_mail
from libs.contracts.documents import DocumentsBatchPublished
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    new_client,
    service_metric,
)

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]
CAR_CONTRACT = "contract:C-00417-AUTO"
BATCH_MAILS_QUEUE = "notifier.documents-published-mails"  # the notifier's queue of batches


@pytest.fixture(scope="module")
def dupont_mail_client(system_stack: SystemStack, dupont_family: ClientLogin) -> ClientLogin:
    """A client of the Dupont dossier with an address of its own, to count the mails it gets."""
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        return new_client(system_stack, gateway, "Sofie Claes", [DUPONT])


def _staff_opens_the_publish_page(page: Page, stack: SystemStack) -> None:
    log_in_as_office_admin(page, stack, next_page="/admin/documents")
    expect(page.get_by_role("heading", name="Documenten publiceren")).to_be_visible()
    page.get_by_label("Dossiernummer").fill(DUPONT)
    page.get_by_role("button", name="Kiezen").click()
    context = page.get_by_label("Context")
    expect(context).to_contain_text("AU-7712.345.219 · Autoverzekering Top Drive")
    expect(context).to_contain_text("Pieter Dupont")
    expect(page.locator("#publish-form[data-ready]")).to_be_visible()  # its script runs
    context.select_option(CAR_CONTRACT)


def _batch_events_published(stack: SystemStack) -> float:
    """How many batch announcements the documents service has put on the bus so far."""
    return service_metric(stack, "documents", "mybroker_outbox_events_published_total",
                          routing_key=DocumentsBatchPublished.routing_key)


def _wait_until_the_notifier_handled_every_batch(stack: SystemStack, before: float) -> None:
    """Wait until the batch announcements since `before` are all on the bus and the notifier
    has handled as many (each handling sends its mails before it counts): any second mail
    for a batch would be in the mailbox by then."""
    deadline = time.monotonic() + 30
    while True:
        published = _batch_events_published(stack)
        handled = service_metric(stack, "notifier", "mybroker_events_consumed_total",
                                 queue=BATCH_MAILS_QUEUE, outcome="ok")
        if published > before and handled >= published:
            return
        assert time.monotonic() < deadline, (
            f"the notifier handled {handled:g} of {published:g} batch announcements in 30 s")
        time.sleep(0.1)


def test_staff_publish_two_files_with_progress_and_the_client_reads_them_with_one_mail(
    browser: Browser, system_stack: SystemStack, dupont_mail_client: ClientLogin,
) -> None:
    tag = uuid.uuid4().hex[:8]
    titles = [f"Groene kaart {tag}", f"Bijvoegsel {tag}"]
    published_before = _batch_events_published(system_stack)
    page = browser.new_page(locale="nl-BE", viewport={"width": 1280, "height": 900})
    try:
        _staff_opens_the_publish_page(page, system_stack)
        files: list[FilePayload] = [
            {"name": "groene-kaart.pdf", "mimeType": "application/pdf",
             "buffer": text_pdf("Groene kaart", ["AU-7712.345.219"])},
            {"name": "bijvoegsel.txt", "mimeType": "text/plain",
             "buffer": f"Bijvoegsel {tag}: bestuurder Lotte Dupont\n".encode()},
            {"name": "archief.bin", "mimeType": "application/octet-stream",
             "buffer": bytes(range(256)) * 40},
        ]
        page.get_by_label("Kies bestanden, of sleep ze hierheen").set_input_files(files)
        rows = page.locator("#upload-list li")
        expect(rows).to_have_count(3)
        for row, title in zip(rows.all()[:2], titles, strict=True):
            row.get_by_label("Titel").fill(title)
        page.get_by_role("button", name="Publiceren").click()

        summary = page.locator("#publish-summary")
        expect(summary).to_contain_text("Gepubliceerde bestanden: 2 van 3.", timeout=30_000)
        expect(summary).to_contain_text(
            "2 documenten gepubliceerd; de klant krijgt er één e-mail over")
        # One file refused: a warning to read, not the success style.
        expect(summary).not_to_have_class(re.compile(r"\bsuccess\b"))
        expect(rows.nth(0)).to_contain_text("Gepubliceerd")
        expect(rows.nth(1)).to_contain_text("Gepubliceerd")
        # The file MyBroker cannot show is refused with its reason; the others went through.
        expect(rows.nth(2)).to_contain_text("onbekend type")
        for row in rows.all()[:2]:
            assert row.locator("progress").evaluate("bar => bar.value") == 100
        assert page.locator("#overall-progress").evaluate("bar => bar.value") == 100
        listed = page.locator("#context-documents")
        for title in titles:
            expect(listed).to_contain_text(title)
        # A reload shows the same context, with the new documents.
        page.reload()
        expect(page.get_by_label("Context")).to_have_value(CAR_CONTRACT)
        for title in titles:
            expect(page.locator("#context-documents")).to_contain_text(title)
        # The refused file waits on "Documentproblemen" with its reason, linked to its dossier.
        page.get_by_role("link", name="Documentproblemen").click()
        expect(page.get_by_role("heading", name="Documentproblemen")).to_be_visible()
        refused = page.locator("article.document-problem").filter(has_text="archief.bin").first
        expect(refused).to_contain_text("Upload mislukt")
        expect(refused).to_contain_text("onbekend type")
        expect(refused.get_by_role("link")).to_have_attribute(
            "href", f"/admin/documents?dossier_id={DUPONT}")
    finally:
        page.close()

    client = browser.new_page(locale="nl-BE", viewport={"width": 1280, "height": 900})
    try:
        client.goto(f"{system_stack.gateway_url}/login?next=/documents")
        client.fill("#email", dupont_mail_client.email)
        client.fill("#password", dupont_mail_client.password)
        client.get_by_role("button", name="Aanmelden").click()
        expect(client.get_by_role("heading", name="Mijn documenten")).to_be_visible()
        for title in titles:
            expect(client.get_by_role("link", name=title)).to_be_visible()
        expect(client.get_by_role("link", name=re.compile("archief"))).to_have_count(0)
    finally:
        client.close()

    mail = wait_for_mail(system_stack.maildir, dupont_mail_client.email, containing=tag)
    assert mail.subject == "2 nieuwe documenten in MyBroker"
    assert all(title in mail.text for title in titles)
    _wait_until_the_notifier_handled_every_batch(system_stack, published_before)
    assert [m.key for m in mails_to(system_stack.maildir, dupont_mail_client.email)
            if tag in m.text] == [mail.key]


def test_on_a_phone_staff_drop_a_file_and_publish_it(
    browser: Browser, system_stack: SystemStack,
) -> None:
    title = f"Foto schade {uuid.uuid4().hex[:8]}"
    page = browser.new_page(locale="nl-BE", viewport={"width": 375, "height": 812})
    try:
        _staff_opens_the_publish_page(page, system_stack)
        # Drag and drop: the drop event carries the file, as a desktop's file manager sends it.
        dropped = page.evaluate_handle("""() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["Schade aan de achterbumper\\n"], "schade.txt",
                                        {type: "text/plain"}));
            return transfer;
        }""")
        page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
        row = page.locator("#upload-list li")
        expect(row).to_have_count(1)
        row.get_by_label("Titel").fill(title)
        publish = page.get_by_role("button", name="Publiceren")
        publish.scroll_into_view_if_needed()
        publish.click()
        summary = page.locator("#publish-summary")
        expect(summary).to_contain_text("Gepubliceerde bestanden: 1 van 1.", timeout=30_000)
        expect(summary).to_contain_text("1 document gepubliceerd; de klant krijgt er een e-mail")
        # All went through: shown in the success style (green), not as a warning.
        expect(summary).to_have_class(re.compile(r"\bsuccess\b"))
        assert summary.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(229, 244, 234)"
        expect(page.locator("#context-documents")).to_contain_text(title)
        # Nothing sticks out sideways at 375 px: the page needs no horizontal scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.goto(f"{system_stack.gateway_url}/admin/document-problems")
        expect(page.get_by_role("heading", name="Documentproblemen")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.close()
