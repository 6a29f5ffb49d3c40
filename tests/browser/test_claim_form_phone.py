"""Declaring a claim on a phone (manual 4.4): from a contract, with three documents made here,
each listed with its size and a description, a file over the limit refused in the browser
without losing the rest, and the declaration pending in the client's requests afterwards."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy.local.seed_demo import bearer
from tests.browser.support import log_in
from tests.browser.test_accessibility import violations
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.browser

DUPONT = fixture_dossier("dupont")["dossier_id"]
PHONE = {"width": 390, "height": 844}


def test_a_claim_from_a_contract_with_three_documents_on_a_phone(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin, tmp_path: Path
) -> None:
    photo = tmp_path / "schade-voorkant.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 1200)  # about 300 kB
    report = tmp_path / "proces-verbaal.txt"
    report.write_text("Proces-verbaal GE.55.L1.000777/2026\nAanrijding op de parking.\n")
    estimate = tmp_path / "bestek.pdf"
    estimate.write_bytes(b"%PDF-1.4\n" + b"0" * 50_000 + b"\n%%EOF\n")
    too_large = tmp_path / "film.mp4"
    too_large.write_bytes(b"\0" * (2 * 1024 * 1024 + 1))

    context = browser.new_context(locale="nl-BE", viewport=PHONE,  # type: ignore[arg-type]
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, system_stack, dupont_family.email, dupont_family.password)
    page.goto(f"{system_stack.gateway_url}/contracts/C-00417-AUTO?dossier={DUPONT}")
    page.get_by_role("link", name="Schade aangeven").click()
    expect(page.get_by_role("heading", name="Schade aangifte")).to_be_visible()
    for section in ("Algemene gegevens", "Mijn beschadigde goederen",
                    "Mijn schadegeval - omschrijving", "Toegevoegde documenten"):
        expect(page.get_by_role("heading", name=section)).to_be_visible()
    expect(page.get_by_label("Naam", exact=True)).to_have_value("Dupont")
    expect(page.get_by_label("Naam", exact=True)).not_to_be_editable()
    expect(page.get_by_label("Risico-object 1")).to_have_value("R-00417-1")

    page.get_by_label("Datum van het schadegeval").fill("2026-11-28")
    page.get_by_label("Uur van het schadegeval").fill("17:45")
    page.locator("#description").fill("Achteruitrijdende bestelwagen raakte "
                                                       "de voorbumper op de parking.")
    page.get_by_label("Proces-verbaal (nummer)").fill("GE.55.L1.000777/2026")

    picker = page.locator("[data-attachment-input]")
    picker.set_input_files([str(photo), str(report), str(estimate), str(too_large)])
    status = page.locator("[data-attachment-status]")
    expect(status).to_contain_text("film.mp4 werd niet toegevoegd: een document mag hoogstens "
                                   "2 MB zijn.")
    rows = page.locator(".attachment-list .attachment")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("schade-voorkant.jpg")
    expect(rows.nth(0).locator(".attachment-size")).to_have_text("0,3 MB")
    expect(rows.nth(1).locator(".attachment-size")).to_have_text("1 kB")
    expect(page.locator("#description")).to_have_value(
        "Achteruitrijdende bestelwagen raakte de voorbumper op de parking.")
    descriptions = page.locator(".attachment-description input")
    for index, text in enumerate(("Foto voorkant", "Proces-verbaal", "Bestek garage")):
        descriptions.nth(index).fill(text)
    expect(page.locator(".attachment progress")).to_have_count(3)
    assert violations(page) == [], "the filled-in form with three documents, checked by axe"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing sticks out sideways on a phone"
    page.screenshot(path=str(tmp_path / "claim-form-phone.png"), full_page=True)

    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status")).to_have_text(
        "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar.")
    expect(page.get_by_role("link", name="Naar Mijn aanvragen")).to_have_attribute(
        "href", f"/requests?dossier={DUPONT}")
    context.close()

    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        token = bearer(dupont_family.log_in(gateway))
        listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=token).json()
        claims = [r for r in listed["requests"] if r["kind"] == "claim"]
        newest = max(claims, key=lambda request: request["sent_at"])
        assert newest["status"] == "pending"
        documents = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents", headers=token,
                                params={"context": f"request:{newest['request_id']}"}).json()
        assert {"Foto voorkant", "Proces-verbaal", "Bestek garage"} <= {
            document["title"] for document in documents["documents"]}


def test_an_address_typed_on_a_phone_is_resumed_on_a_computer(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin
) -> None:
    phone = browser.new_context(locale="nl-BE", viewport=PHONE)  # type: ignore[arg-type]
    page = phone.new_page()
    log_in(page, system_stack, dupont_family.email, dupont_family.password)
    page.goto(f"{system_stack.gateway_url}/my-data?dossier={DUPONT}")
    page.get_by_role("link", name="Adres wijzigen").click()
    expect(page.get_by_role("heading", name="Adres wijzigen")).to_be_visible()
    page.get_by_label("Postcode").fill("8500")
    # the one municipality of the postal code is filled in from the list
    expect(page.get_by_label("Gemeente")).to_have_value("Kortrijk")
    page.get_by_label("Straat").fill("Grote Markt")
    page.get_by_label("Lotte Dupont").uncheck()
    expect(page.locator("[data-draft-status]")).to_contain_text("Concept bewaard om")
    phone.close()

    computer = browser.new_context(locale="nl-BE", viewport={"width": 1440, "height": 900})
    page = computer.new_page()
    log_in(page, system_stack, dupont_family.email, dupont_family.password)
    page.goto(f"{system_stack.gateway_url}/forms/address?dossier={DUPONT}")
    expect(page.get_by_label("Straat")).to_have_value("")
    page.get_by_role("link", name="Concept hervatten").click()
    expect(page.get_by_label("Straat")).to_have_value("Grote Markt")
    expect(page.get_by_label("Gemeente")).to_have_value("Kortrijk")
    expect(page.get_by_label("Lotte Dupont")).not_to_be_checked()
    expect(page.get_by_label("Pieter Dupont")).to_be_checked()
    page.get_by_label("Aanvangsdatum van het nieuwe adres").fill("2027-02-01")
    page.get_by_label("Nummer").fill("12")
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status")).to_have_text(
        "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar.")
    page.goto(f"{system_stack.gateway_url}/forms/address?dossier={DUPONT}")
    expect(page.get_by_role("heading", name="Adres wijzigen")).to_be_visible()
    expect(page.get_by_role("link", name="Concept hervatten")).to_have_count(0)
    computer.close()


def test_a_claim_from_a_risk_object_adds_another_once_and_keeps_its_files_when_refused(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin, tmp_path: Path
) -> None:
    photo = tmp_path / "dak.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\x10" * 20_000)
    context = browser.new_context(locale="nl-BE", viewport=PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    log_in(page, system_stack, dupont_family.email, dupont_family.password)
    page.goto(f"{system_stack.gateway_url}/risks/R-00417-1?dossier={DUPONT}")
    page.get_by_role("link", name="Schade aangeven").click()
    first = page.get_by_label("Risico-object 1")
    expect(first).to_have_value("R-00417-1")
    expect(page.get_by_label("Risico-object 2")).to_have_count(0)
    page.get_by_role("button", name="Een ander risico-object toevoegen").click()
    second = page.get_by_label("Risico-object 2")
    expect(second).to_have_value("")
    # manual 4.4: a risk object can be chosen once - the one of row 1 is not offered again
    expect(second.locator("option[value='R-00417-1']")).to_be_disabled()
    second.select_option("R-00417-2")
    expect(first.locator("option[value='R-00417-2']")).to_be_disabled()
    expect(page.get_by_role("button", name="Een ander risico-object toevoegen")).to_be_disabled()

    page.get_by_label("Datum van het schadegeval").fill("2099-06-01")
    page.get_by_label("Uur van het schadegeval").fill("03:00")
    page.locator("#description").fill("Storm: dakpannen van het dak gewaaid.")
    page.locator("[data-attachment-input]").set_input_files(str(photo))
    page.locator(".attachment-description input").fill("Foto van het dak")
    page.get_by_role("button", name="Bevestigen").click()
    # the service refuses a loss in the future: the page says so beside the date and keeps
    # everything, the chosen file and its description too
    expect(page.locator("#loss_date-error")).to_be_visible()
    expect(page.locator("#description")).to_have_value("Storm: dakpannen van het dak gewaaid.")
    expect(page.get_by_label("Risico-object 2")).to_have_value("R-00417-2")
    expect(page.locator(".attachment-list .attachment")).to_have_count(1)
    expect(page.locator(".attachment-description input")).to_have_value("Foto van het dak")
    assert violations(page) == [], "the form with its errors and its files, checked by axe"
    page.get_by_label("Datum van het schadegeval").fill("2026-11-30")
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status")).to_have_text(
        "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar.")
    context.close()
