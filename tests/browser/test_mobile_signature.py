"""The mobile signature on a phone (390x844, a phone's user agent; the camera replaced by the
file input it opens): the document read first, then the enrolment of the phone (the SMS code
with a wrong one first, a synthetic photo of the ID card's back, a trivial PIN refused, then a
good one; the browser's WebCrypto key kept in IndexedDB) and the signature with the PIN (a wrong
one first, showing the tries left). On a PC the same page offers the checkbox instead; the
office sees the phone in its list and revokes it."""

import random
import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, expect

from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate
from deploy.local.sms_sink import wait_for_sms
from tests.browser.support import log_in, log_in_as_office_admin
from tests.id_card_samples import card_photo, mrz_lines, pieter
from tests.system.stack import SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.browser
PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/126.0.0.0 Mobile Safari/537.36")


def test_a_client_enrols_a_phone_and_signs_with_it(
    browser: Browser, system_stack: SystemStack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    digits = f"{random.randrange(10**6):06d}"
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-SIGN-M{tag}"
    person = dossier["persons"][0]
    person["email"] = email = f"pieter.{tag}@example.com"
    person["phone"] = f"0470 {digits[:2]} {digits[2:4]} {digits[4:]}"
    password = new_password()
    title = f"Mandaat {tag}"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = staff_log_in(system_stack, gateway)
        import_dossier(gateway, staff, dossier)
        invite_and_activate(gateway, staff, system_stack.maildir, email=email,
                            display_name="Pieter Dupont", dossier_ids=[dossier["dossier_id"]],
                            password=password)
        published = gateway.post(
            f"/admin/api/v1/dossiers/{dossier['dossier_id']}/documents/batch",
            headers=bearer(staff), files=[("file", (f"{title}.pdf", text_pdf(
                title, ["Naam: Pieter Dupont", "Mandaat"]), "application/pdf"))])
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
    base = system_stack.gateway_url

    # On a PC the mobile page says it needs a phone and offers the checkbox.
    desktop = browser.new_page(locale="nl-BE", viewport={"width": 1440, "height": 900})
    try:
        log_in(desktop, system_stack, email, password)
        desktop.goto(f"{base}/signing/{request_id}/mobile")
        expect(desktop.get_by_text("Ondertekenen met uw telefoon kan alleen op een telefoon "
                                   "of tablet.")).to_be_visible()
        expect(desktop.get_by_role("link", name="Onderteken met het vinkje")).to_be_visible()
    finally:
        desktop.close()

    context = browser.new_context(locale="nl-BE", viewport={"width": 390, "height": 844},
                                  user_agent=PHONE_AGENT, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, system_stack, email, password)
        page.goto(f"{base}/signing/{request_id}?dossier={dossier['dossier_id']}")
        page.get_by_role("link", name="Het document openen").click()
        expect(page.locator(".pdf-viewer")).to_have_attribute("data-drawn-page", "1",
                                                              timeout=15_000)
        page.goto(f"{base}/signing/{request_id}")
        page.get_by_role("link", name="Onderteken met uw telefoon").click()
        page.wait_for_url(f"**/signing/{request_id}/mobile")
        assert errors == [], errors

        # 1. The SMS code: a wrong one shows the tries left.
        page.get_by_role("button", name="Stuur mij een code per sms").click()
        expect(page.get_by_text(f"+32 4******{digits[-2:]}")).to_be_visible(timeout=40_000)
        sms = wait_for_sms(system_stack.config.sms_dir, f"+32470{digits}")
        code = re.search(r"\b(\d{6})\b", sms.text)
        assert code is not None, sms.text
        page.get_by_label("Code (6 cijfers)").fill("000000" if code.group(1) != "000000"
                                                   else "111111")
        page.get_by_role("button", name="Bevestigen").click()
        expect(page.get_by_role("alert")).to_have_text("De code is niet juist. Nog 2 pogingen.")
        page.get_by_label("Code (6 cijfers)").fill(code.group(1))
        page.get_by_role("button", name="Bevestigen").click()

        # 2. The camera's photo of the card's back (a synthetic card).
        photo = card_photo(mrz_lines(pieter()), seed=21, rotation=-1.0)
        card: FilePayload = {"name": "kaart.jpg", "mimeType": "image/jpeg", "buffer": photo}
        page.get_by_label("Foto van de achterkant van uw identiteitskaart").set_input_files(
            files=[card])
        page.get_by_role("button", name="Controleer mijn kaart").click()

        # 3. A PIN: an easy sequence is refused.
        new_pin = page.get_by_label("Nieuwe pincode")
        expect(new_pin).to_be_visible(timeout=40_000)
        new_pin.fill("12345")
        page.get_by_role("button", name="Pincode bewaren").click()
        expect(page.get_by_role("alert")).to_have_text(
            "Kies een pincode die geen reeks is zoals 12345.")
        new_pin.fill("58203")
        page.get_by_role("button", name="Pincode bewaren").click()

        # Signing: a wrong PIN shows the tries left; the right one signs with the phone's key.
        approved = page.get_by_role("checkbox", name="Gelezen en goedgekeurd")
        expect(approved).to_be_visible()
        approved.check()
        page.get_by_label("Uw pincode").fill("11111")
        page.get_by_role("button", name="Onderteken").click()
        expect(page.get_by_role("alert")).to_have_text(
            "De pincode is niet juist. Nog 4 pogingen.")
        page.get_by_label("Uw pincode").fill("58203")
        page.get_by_role("button", name="Onderteken").click()
        expect(page.get_by_text("Het document is nu getekend.")).to_be_visible()
        # The key stayed on the phone: IndexedDB holds it, not extractable.
        extractable = page.evaluate("""() => new Promise(resolve => {
            const opening = indexedDB.open("mybroker-signing");
            opening.onsuccess = () => {
              const read = opening.result.transaction("device-keys").objectStore("device-keys")
                .getAll();
              read.onsuccess = () => resolve(read.result.map(r => r.privateKey.extractable));
            };
        })""")
        assert extractable == [False]
    finally:
        context.close()

    # The office lists the phone and revokes it.
    office = browser.new_page(locale="nl-BE", viewport={"width": 1440, "height": 900})
    try:
        log_in_as_office_admin(office, system_stack, next_page="/admin/signing/devices")
        office.goto(f"{base}/admin/signing/devices")
        row = office.locator("article.enrolment", has_text=dossier["dossier_id"])
        expect(row.get_by_text("Geregistreerd")).to_be_visible()
        row.get_by_role("button", name=re.compile("^Intrekken")).click()
        expect(office.locator("article.enrolment", has_text=dossier["dossier_id"])
               .get_by_text("Ingetrokken")).to_be_visible()
    finally:
        office.close()
