"""The checkbox signature on a desktop (manual 5.2): the mailed link, the login, the document
opened in the viewer, "Ondertekenen", "Gelezen en goedgekeurd", "Onderteken", and the
confirmation that the document awaits the broker's processing; the welcome page's list and the
menu's badge before, nothing to sign after."""

import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password
from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate
from tests.system.stack import SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser


def test_a_client_signs_a_document_with_the_checkbox_on_a_desktop(
    browser: Browser, system_stack: SystemStack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-SIGN-B{tag}"
    person = dossier["persons"][0]
    person["email"] = email = f"pieter.{tag}@example.com"
    password = new_password()
    title = f"Klantenfiche {tag}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = staff_log_in(system_stack, gateway)
        import_dossier(gateway, staff, dossier)
        invite_and_activate(gateway, staff, system_stack.maildir, email=email,
                            display_name="Pieter Dupont", dossier_ids=[dossier["dossier_id"]],
                            password=password)
        published = gateway.post(
            f"/admin/api/v1/dossiers/{dossier['dossier_id']}/documents/batch",
            headers=bearer(staff), files=[("file", (f"{title}.pdf", text_pdf(
                title, ["Naam: Pieter Dupont", "Verzekeringsbehoeften"]), "application/pdf"))])
        assert published.status_code == 201, published.text
        document_id = published.json()["documents"][0]["document_id"]
        for _ in range(60):
            created = gateway.post(
                f"/admin/api/v1/dossiers/{dossier['dossier_id']}/signature-requests",
                headers=bearer(staff),
                json={"document_id": document_id, "signer_person_ids": [person["person_id"]]})
            if created.status_code == 201:
                break
            time.sleep(0.5)
        assert created.status_code == 201, created.text
    request_id = created.json()["signature_request_id"]
    mail = wait_for_mail(system_stack.maildir, email, containing=request_id)
    link = re.search(r"http\S+/signing/\S+", mail.text)
    assert link is not None, mail.text

    page = browser.new_page(locale="nl-BE", viewport={"width": 1440, "height": 900})
    try:
        # The welcome page lists the document and the menu shows the count.
        page.goto(f"{system_stack.gateway_url}/login")
        page.fill("#email", email)
        page.fill("#password", password)
        page.get_by_role("button", name="Aanmelden").click()
        page.wait_for_url(lambda url: "/login" not in url)
        section = page.locator("section", has=page.get_by_role(
            "heading", name="Documenten te ondertekenen"))
        expect(section.get_by_role("link", name=title)).to_be_visible()
        expect(page.locator(".menu .menu-badge .badge")).to_have_text("1")

        # The mailed link leads to the document's signature page; open the document first.
        page.goto(link.group(0))
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(page.get_by_role("checkbox", name="Gelezen en goedgekeurd")).to_have_count(0)
        page.get_by_role("link", name="Het document openen").click()
        expect(page.locator(".pdf-viewer")).to_have_attribute("data-drawn-page", "1",
                                                              timeout=15_000)
        page.get_by_role("link", name="Ondertekenen", exact=True).click()

        # Without the tick the browser does not send the form; with it, the document is signed.
        page.get_by_role("button", name="Onderteken").click()
        expect(page.get_by_role("checkbox", name="Gelezen en goedgekeurd")).to_be_visible()
        page.get_by_role("checkbox", name="Gelezen en goedgekeurd").check()
        page.get_by_role("button", name="Onderteken").click()
        expect(page.get_by_text("Het document is nu getekend.")).to_be_visible()
        for _ in range(60):  # the office's seal follows within a moment
            if page.get_by_role("link", name="Het ondertekende document downloaden").count():
                break
            time.sleep(0.5)
            page.reload()
        expect(page.get_by_text("Het document staat ter beschikking in afwachting van verdere "
                                "behandeling door de makelaar.")).to_be_visible()
        href = page.get_by_role("link", name="Het ondertekende document downloaden"
                                ).get_attribute("href")
        signed = page.request.get(f"{system_stack.gateway_url}{href}")
        assert signed.ok and signed.body().startswith(b"%PDF")
        assert "-signed.pdf" in signed.headers["content-disposition"]

        page.goto(f"{system_stack.gateway_url}/?dossier={dossier['dossier_id']}")
        expect(page.get_by_text("Er zijn geen documenten te ondertekenen.")).to_be_visible()
        expect(page.locator(".menu .menu-badge .badge")).to_have_count(0)
    finally:
        page.close()
