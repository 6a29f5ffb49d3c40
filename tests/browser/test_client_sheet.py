"""The client sheet in the browser (manual 4.5): the welcome page shows it while it is due, the
client reviews the prefilled sheet, a missing answer comes back beside its question with the rest
kept, "Bevestigen" ends on the manual's confirmation, and the office reads the answers."""

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from deploy.local.seed_demo import import_dossier
from tests.browser.support import log_in, log_in_as_office_admin
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, new_client, staff_log_in

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}


def client_of_a_new_dossier(stack: SystemStack) -> tuple[str, ClientLogin]:
    """A copy of the Dupont dossier under its own number, and a client of it: its sheet is due."""
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-2097-{uuid.uuid4().int % 100000:05d}"
    with httpx.Client(base_url=stack.gateway_url, timeout=30.0) as gateway:
        import_dossier(gateway, staff_log_in(stack, gateway), dossier)
        return dossier["dossier_id"], new_client(stack, gateway, "Pieter Fiche",
                                                 [dossier["dossier_id"]])


def question(page: Page, question_id: str) -> Locator:
    """A question of the sheet: its label or legend, its field(s) and its error."""
    return page.locator(f"#question-{question_id}")


def assert_fits(page: Page) -> None:
    """Nothing of the sheet is wider than the screen (a phone scrolls down, never sideways)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_client_completes_and_confirms_the_client_sheet_from_the_welcome_page(
    browser: Browser, system_stack: SystemStack, viewport: str, tmp_path: Path,
) -> None:
    dossier_id, client = client_of_a_new_dossier(system_stack)
    context = browser.new_context(locale="nl-BE", viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, system_stack, client.email, client.password)
        tile = page.locator(".client-sheet-tile")
        expect(tile).to_contain_text("Uw makelaar heeft nog geen bevestigde klantenfiche")
        tile.get_by_role("link", name="Klantenfiche invullen").click()

        expect(page.get_by_role("heading", name="Klantenfiche", level=1)).to_be_visible()
        # Prefilled as the office holds the dossier.
        expect(page.locator("#q_birth_date")).to_have_value("1981-04-12")
        expect(page.locator("#q_email")).to_have_value("pieter.dupont@example.be")
        expect(question(page, "home_status").get_by_label("eigenaar bent")).to_be_checked()
        expect(page.locator("#q_vehicle_count")).to_have_value("1")
        expect(question(page, "profession").locator("label")).to_contain_text("*")
        assert_fits(page)
        page.screenshot(path=str(tmp_path / f"sheet-{viewport}.png"), full_page=True)

        # A first try without a profession nor a family status: both named, the rest kept.
        question(page, "risks_to_cover").get_by_label("Reisbijstand").check()
        question(page, "other_insurance").get_by_label("Nee").check()
        page.fill("#q_dependent_children", "2")
        page.get_by_role("button", name="Bevestigen").click()
        expect(page.locator("#q_profession-error")).to_have_text("Beantwoord deze vraag.")
        expect(page.locator("#q_family_status-error")).to_have_text("Beantwoord deze vraag.")
        expect(page.locator("#q_profession")).to_have_attribute("aria-invalid", "true")
        expect(question(page, "risks_to_cover").get_by_label("Reisbijstand")).to_be_checked()
        expect(question(page, "other_insurance").get_by_label("Nee")).to_be_checked()
        expect(page.locator("#q_dependent_children")).to_have_value("2")
        expect(page.locator("#q_birth_date")).to_have_value("1981-04-12")

        page.fill("#q_profession", "Verpleegkundige")
        question(page, "family_status").get_by_label("Gehuwd").check()
        question(page, "employment_status").get_by_label("Bediende of arbeider").check()
        question(page, "risks_to_cover").get_by_label("Woning en inboedel (brand)").check()
        question(page, "professional_risks").get_by_label("Nee").check()
        question(page, "investment_interest").get_by_label("Nee").check()
        question(page, "electronic_documents").get_by_label("Ja").check()
        page.get_by_role("button", name="Bevestigen").click()

        expect(page.get_by_role("status")).to_have_text(
            "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar.")
        page.get_by_role("link", name="Terug naar de welkomstpagina").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welkom")
        expect(page.locator(".client-sheet-tile")).to_have_count(0)  # no longer due
        expect(page.locator(".client-sheet-confirmed")).to_contain_text(
            "U bevestigde uw klantenfiche op")
    finally:
        context.close()

    office = browser.new_context(locale="nl-BE", viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = office.new_page()
    try:
        log_in_as_office_admin(page, system_stack,
                               next_page=f"/admin/client-sheets/{dossier_id}")
        sheet = page.locator("article.card").first
        expect(sheet).to_contain_text("Pieter Fiche")
        expect(sheet).to_contain_text("Verpleegkundige")
        expect(sheet).to_contain_text("Gehuwd")
        expect(sheet).to_contain_text("Woning en inboedel (brand), Reisbijstand")
        assert_fits(page)
        page.goto(f"{system_stack.gateway_url}/admin/client-sheets?state=confirmed")
        expect(page.get_by_role("link", name=dossier_id)).to_be_visible()
    finally:
        office.close()
