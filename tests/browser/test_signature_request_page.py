"""In the browser: staff open a dossier's PDF in their viewer, "Handtekening vragen", tick two
persons in a fixed order (the third has no account and cannot be ticked), give a due date and a
message, and the request appears on "Ondertekeningsaanvragen" with each signer's state; an
empty form says what is missing; the request is cancelled from the list."""

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate
from tests.browser.support import log_in_as_office_admin
from tests.system.stack import SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser


def test_staff_ask_two_persons_to_sign_in_order_then_cancel(
    browser: Browser, system_stack: SystemStack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-SIGN-S{tag}"
    for person in dossier["persons"][:2]:
        person["email"] = f"{person['first_name'].lower()}.{tag}@example.com"
    title = f"Polis {tag}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = staff_log_in(system_stack, gateway)
        import_dossier(gateway, staff, dossier)
        for person in dossier["persons"][:2]:
            invite_and_activate(gateway, staff, system_stack.maildir, email=person["email"],
                                display_name=person["first_name"],
                                dossier_ids=[dossier["dossier_id"]], password=new_password())
        published = gateway.post(
            f"/admin/api/v1/dossiers/{dossier['dossier_id']}/documents/batch",
            headers=bearer(staff), files=[("file", (f"{title}.pdf", text_pdf(
                title, ["Bijzondere voorwaarden"]), "application/pdf"))])
        assert published.status_code == 201, published.text
        document_id = published.json()["documents"][0]["document_id"]

    page = browser.new_page(locale="nl-BE", viewport={"width": 1440, "height": 900})
    try:
        log_in_as_office_admin(
            page, system_stack,
            next_page=f"/admin/dossiers/{dossier['dossier_id']}/documents/{document_id}")
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        page.get_by_role("link", name="Handtekening vragen").click()
        expect(page.get_by_role("heading", name="Handtekening vragen")).to_be_visible()
        expect(page.get_by_role("checkbox", name="Lotte Dupont")).to_be_disabled()

        page.get_by_role("button", name="Om ondertekening vragen").click()
        expect(page.get_by_role("alert")).to_have_text("Kies minstens één persoon die "
                                                       "ondertekent.")

        page.get_by_role("checkbox", name="Pieter Dupont").check()
        page.get_by_role("checkbox", name="Sofie Claes").check()
        page.get_by_role("spinbutton", name="Volgorde Pieter Dupont").fill("2")
        page.get_by_role("spinbutton", name="Volgorde Sofie Claes").fill("1")
        page.get_by_role("checkbox", name="In een vaste volgorde").check()
        page.get_by_label("Ondertekenen voor (optioneel)").fill("2099-01-31")
        page.get_by_label("Bericht aan de ondertekenaars (optioneel)").fill("Graag tekenen")
        page.get_by_role("button", name="Om ondertekening vragen").click()

        page.wait_for_url("**/admin/signing?done=signature_requested")
        expect(page.get_by_role("status")).to_contain_text("De ondertekeningsaanvraag is "
                                                           "gemaakt")
        request = page.locator("article.signature-request", has_text=title)
        expect(request).to_contain_text("1. Sofie Claes: Verzonden")
        expect(request).to_contain_text("2. Pieter Dupont: Verzonden")
        expect(request).to_contain_text("Wacht op handtekeningen")

        request.get_by_role("button", name="Aanvraag annuleren").click()
        expect(page.get_by_role("status")).to_contain_text("geannuleerd")
        expect(page.locator("article.signature-request", has_text=title)).to_contain_text(
            "Geannuleerd")
    finally:
        page.close()
