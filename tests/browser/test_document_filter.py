"""The type filter of "Mijn documenten" works with JavaScript (a change applies it) and
without (its button), under the pages' CSP."""

import io
import re

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def a_pdf_and_a_photo(system_stack: SystemStack) -> tuple[str, str]:
    """A PDF and a photo published in the Dupont dossier; their titles."""
    pdf_title, photo_title = "Filtertest polis", "Filtertest foto"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = bearer(staff_log_in(system_stack, gateway))
        for title, file in ((pdf_title, ("polis.pdf", text_pdf(pdf_title, []), "application/pdf")),
                            (photo_title, ("foto.png", _png(), "image/png"))):
            published = gateway.post(f"/admin/api/v1/dossiers/{DUPONT}/documents",
                                     headers=staff, data={"title": title}, files={"file": file})
            assert published.status_code == 201, published.text
    return pdf_title, photo_title


def _log_in_to_documents(page: Page, stack: SystemStack, client: ClientLogin) -> None:
    page.goto(f"{stack.gateway_url}/login?next=/documents")
    page.fill("#email", client.email)
    page.fill("#password", client.password)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(re.compile(r".*/documents$"))


def test_choosing_a_type_shows_only_documents_of_that_type(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    a_pdf_and_a_photo: tuple[str, str],
) -> None:
    pdf_title, photo_title = a_pdf_and_a_photo
    page = browser.new_page(locale="nl-BE", viewport={"width": 390, "height": 844})
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        _log_in_to_documents(page, system_stack, dupont_family)
        expect(page.get_by_role("link", name=pdf_title)).to_be_visible()
        # With JavaScript the choice applies itself: no button to press.
        expect(page.get_by_role("button", name="Filteren")).to_be_hidden()
        page.get_by_label("Type").select_option(label="Foto's en afbeeldingen")
        page.wait_for_url(re.compile(r".*/documents\?type=image$"))
        expect(page.get_by_role("link", name=photo_title)).to_be_visible()
        expect(page.get_by_role("link", name=pdf_title)).to_have_count(0)
        expect(page.get_by_label("Type")).to_have_value("image")
        assert refused == []
    finally:
        page.close()


def test_without_javascript_the_filter_button_applies_the_type(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    a_pdf_and_a_photo: tuple[str, str],
) -> None:
    pdf_title, photo_title = a_pdf_and_a_photo
    context = browser.new_context(locale="nl-BE", java_script_enabled=False,
                                  viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        _log_in_to_documents(page, system_stack, dupont_family)
        page.get_by_label("Type").select_option(label="PDF")
        page.get_by_role("button", name="Filteren").click()
        page.wait_for_url(re.compile(r".*/documents\?type=pdf$"))
        expect(page.get_by_role("link", name=pdf_title)).to_be_visible()
        expect(page.get_by_role("link", name=photo_title)).to_have_count(0)
    finally:
        context.close()
