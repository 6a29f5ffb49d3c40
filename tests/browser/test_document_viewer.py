"""A client opens a document in the viewer: the PDF inline, a download of the original (3.4)."""

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")["dossier_id"]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_a_client_opens_a_document_in_the_viewer_and_can_download_the_original(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    title = f"Groene kaart {viewport['width']}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        published = gateway.post(
            f"/admin/api/v1/dossiers/{DUPONT}/documents",
            headers=bearer(staff_log_in(system_stack, gateway)), data={"title": title},
            files={"file": ("groene-kaart.pdf", text_pdf(title, ["AU-7712.345.219"]),
                            "application/pdf")})
        assert published.status_code == 201, published.text
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        page.goto(f"{system_stack.gateway_url}/login?next=/documents")
        page.fill("#email", dupont_family.email)
        page.fill("#password", dupont_family.password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(re.compile(r".*/documents$"))
        expect(page.get_by_role("heading", name="Mijn documenten")).to_be_visible()

        page.get_by_role("link", name=title).click()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        viewer = page.locator("object.document-viewer")
        expect(viewer).to_be_visible()
        shown = page.request.get(system_stack.gateway_url + str(viewer.get_attribute("data")))
        assert shown.status == 200
        assert shown.headers["content-type"] == "application/pdf"
        assert shown.headers["content-disposition"].startswith("inline;")
        assert shown.body().startswith(b"%PDF-")

        # The button fetches the original as an attachment under its own name.
        button = page.get_by_role("link", name="Origineel downloaden")
        expect(button).to_be_visible()
        original = page.request.get(system_stack.gateway_url + str(button.get_attribute("href")))
        assert original.status == 200
        assert original.headers["content-disposition"].startswith(
            'attachment; filename="groene-kaart.pdf"')
    finally:
        page.close()
