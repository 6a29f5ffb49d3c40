"""The mobile signature's pages: on a PC the page offers the checkbox, on a phone the steps; a
step's refusal comes back as JSON with the words the page shows (the tries left)."""

from libs.contracts import signing
from libs.servicekit.errors import Forbidden, Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_pages import csrf, sign_in
from tests.service.test_gateway_signing_pages import offer

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
                       "like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"}
PC = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                    "Gecko) Chrome/126.0.0.0 Safari/537.36"}


def test_on_a_pc_the_page_offers_the_checkbox_and_on_a_phone_the_steps(gateway: Gateway) -> None:
    sign_in(gateway)
    gateway.rpc.answer(signing.MOBILE_STATUS, signing.MobileStatus(offer=offer()))
    on_pc = gateway.client.get("/signing/r1/mobile", headers=PC)
    assert on_pc.status_code == 200
    assert "kan alleen op een telefoon of tablet" in on_pc.text
    assert 'href="/signing/r1"' in on_pc.text and 'id="mobile-signing"' not in on_pc.text
    on_phone = gateway.client.get("/signing/r1/mobile", headers=PHONE)
    assert 'id="mobile-signing"' in on_phone.text and 'capture="environment"' in on_phone.text
    hinted = gateway.client.get("/signing/r1/mobile", headers={**PC, "Sec-CH-UA-Mobile": "?1"})
    assert 'id="mobile-signing"' in hinted.text
    gateway.rpc.answer(signing.GET_OFFER, offer())
    assert "/signing/r1/mobile" in gateway.client.get("/signing/r1", headers=PHONE).text
    assert "/signing/r1/mobile" not in gateway.client.get("/signing/r1", headers=PC).text


def test_a_refused_step_says_why_with_the_tries_left(gateway: Gateway) -> None:
    sign_in(gateway)
    gateway.rpc.answer(signing.CONFIRM_CODE, Invalid("wrong", fields={"code": "wrong",
                                                                      "tries_left": "2"}))
    wrong = gateway.client.post("/signing/r1/mobile/code", headers=PHONE, data={
        "enrolment_id": "e1", "code": "000000", "csrf_token": csrf(gateway)})
    assert wrong.status_code == 422
    assert wrong.json()["message"] == "De code is niet juist. Nog 2 pogingen."
    gateway.rpc.answer(signing.MOBILE_CHALLENGE, Forbidden("locked", fields={
        "reason": "locked", "tries_left": "0"}))
    locked = gateway.client.post("/signing/r1/mobile/challenge", headers=PHONE, data={
        "enrolment_id": "e1", "pin": "11111", "csrf_token": csrf(gateway)})
    assert locked.status_code == 403 and locked.json()["fields"]["reason"] == "locked"
    assert "geblokkeerd" in locked.json()["message"]
    no_csrf = gateway.client.post("/signing/r1/mobile/challenge", headers=PHONE, data={
        "enrolment_id": "e1", "pin": "11111"})
    assert no_csrf.status_code == 403 and len(gateway.rpc.called(signing.MOBILE_CHALLENGE)) == 1
