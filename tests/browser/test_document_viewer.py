"""A client opens a document in the viewer: pdf.js draws its pages, a download of the original
(manual 3.4), on a phone and on a desktop, under the pages' strict CSP."""

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from deploy.local.demo_pdf import pages_pdf
from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]
# Pixels with ink on the page's canvas (not white, not transparent): 0 on a blank page.
INK_PIXELS = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] < 160 || data[i + 1] < 160 || data[i + 2] < 160)) { ink += 1; }
  }
  return ink;
}"""


def _box_width(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["width"])


def _no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_a_client_sees_the_pages_of_a_pdf_drawn_and_can_download_the_original(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    title = f"Groene kaart {viewport['width']}"
    original = pages_pdf([(title, ["AU-7712.345.219", "Nummerplaat 1-ABC-123"]),
                          ("Bijlage", ["Voorwaarden van de verzekeraar"])])
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        published = gateway.post(
            f"/admin/api/v1/dossiers/{DUPONT}/documents",
            headers=bearer(staff_log_in(system_stack, gateway)), data={"title": title},
            files={"file": ("groene-kaart.pdf", original, "application/pdf")})
        assert published.status_code == 201, published.text
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(f"{system_stack.gateway_url}/login?next=/documents")
        page.fill("#email", dupont_family.email)
        page.fill("#password", dupont_family.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(re.compile(r".*/documents$"))
        expect(page.get_by_role("heading", name="Mijn documenten")).to_be_visible()

        with page.expect_response(re.compile(r".*/documents/\w+(\?dossier=[\w-]+)?$")) as opened:
            page.get_by_role("link", name=title).click()
        policy = opened.value.headers["content-security-policy"]
        assert "object-src 'none'" in policy and "unsafe" not in policy
        expect(page.get_by_role("heading", name=title)).to_be_visible()

        # The first page is drawn: ink on the canvas, as wide as the screen allows, no more.
        viewer = page.locator(".pdf-viewer")
        expect(viewer).to_have_attribute("data-drawn-page", "1", timeout=15_000)
        canvas = page.locator("canvas.pdf-page")
        first_page = canvas.evaluate("canvas => canvas.toDataURL()")
        assert canvas.evaluate(INK_PIXELS) > 100
        assert _box_width(page, "canvas.pdf-page") <= _box_width(page, ".pdf-stage")
        assert _box_width(page, "canvas.pdf-page") > 0.8 * _box_width(page, ".pdf-stage")
        assert _no_sideways_scroll(page)
        expect(page.get_by_text("Pagina 1 van 2")).to_be_visible()

        # Next page: another drawing, with ink.
        page.get_by_role("button", name="Volgende pagina").click()
        expect(viewer).to_have_attribute("data-drawn-page", "2")
        expect(page.get_by_text("Pagina 2 van 2")).to_be_visible()
        assert canvas.evaluate(INK_PIXELS) > 100
        assert canvas.evaluate("canvas => canvas.toDataURL()") != first_page
        expect(page.get_by_role("button", name="Volgende pagina")).to_be_disabled()

        # Zoom in makes the page larger, inside its own scrolling box; fit to width undoes it.
        fitted = _box_width(page, "canvas.pdf-page")
        page.get_by_role("button", name="Inzoomen").click()
        page.get_by_role("button", name="Inzoomen").click()
        page.wait_for_function(
            f"() => document.querySelector('canvas.pdf-page').getBoundingClientRect().width"
            f" > {fitted * 1.5}")
        assert _no_sideways_scroll(page)
        page.get_by_role("button", name="Passend in de breedte").click()
        page.wait_for_function(
            f"() => Math.abs(document.querySelector('canvas.pdf-page')"
            f".getBoundingClientRect().width - {fitted}) < 2")
        assert refused == []

        # The button fetches the original, as an attachment under its own name.
        button = page.get_by_role("link", name="Origineel downloaden")
        expect(button).to_be_visible()
        download = page.request.get(system_stack.gateway_url + str(button.get_attribute("href")))
        assert download.status == 200
        assert download.headers["content-disposition"].startswith(
            'attachment; filename="groene-kaart.pdf"')
        assert download.body() == original
    finally:
        page.close()


def test_without_javascript_the_viewer_offers_the_pdf_as_a_link(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
) -> None:
    title = "Groene kaart zonder script"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        published = gateway.post(
            f"/admin/api/v1/dossiers/{DUPONT}/documents",
            headers=bearer(staff_log_in(system_stack, gateway)), data={"title": title},
            files={"file": ("kaart.pdf", pages_pdf([(title, [])]), "application/pdf")})
        assert published.status_code == 201, published.text
    context = browser.new_context(locale="nl-BE", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{system_stack.gateway_url}/login?next=/documents")
        page.fill("#email", dupont_family.email)
        page.fill("#password", dupont_family.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(re.compile(r".*/documents$"))
        page.get_by_role("link", name=title).click()
        expect(page.get_by_role("toolbar")).to_be_hidden()  # pages and zoom need the script
        link = page.get_by_role("link", name="De PDF openen")
        expect(link).to_have_count(1)
        expect(link).to_be_visible()
        shown = page.request.get(system_stack.gateway_url + str(link.get_attribute("href")))
        assert shown.status == 200 and shown.body().startswith(b"%PDF-")
        assert shown.headers["content-type"] == "application/pdf"
    finally:
        context.close()
