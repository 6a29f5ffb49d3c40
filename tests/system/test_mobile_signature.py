"""The mobile signature end to end through the gateway's JSON API, a software ECDSA P-256 key
standing in for the phone's WebCrypto key: enrolment (the SMS code read from the stack's SMS
directory, a synthetic photo of the ID card's back, a PIN, the public key), the PIN before the
device signs the server's nonce, refusals (wrong code, wrong PIN, not a photo, a trivial PIN, a
tampered signature, a replayed nonce), the sealed PDF whose evidence page names the mobile key
and the identity checks, the audit trail, and the office revoking the device."""

import base64
import io
import random
import re
import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pypdf import PdfReader

from deploy.local.seed_demo import bearer, expect, log_in
from deploy.local.sms_sink import wait_for_sms
from tests.id_card_samples import card_photo, mrz_lines, pieter
from tests.system.stack import SystemStack, fixture_dossier, staff_log_in
from tests.system.test_signing_journey import (
    _publish_pdf,
    _request_signature,
    _signing_dossier,
    _wait_until_sealed,
)

pytestmark = pytest.mark.system


def _webcrypto_signature(key: ec.EllipticCurvePrivateKey, payload: str) -> str:
    r, s = decode_dss_signature(key.sign(payload.encode(), ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def test_a_phone_enrols_then_signs_with_its_key_and_the_evidence_page_says_so(
    system_stack: SystemStack, gateway: httpx.Client, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = uuid.uuid4().hex[:6]
    # A mobile number of this test alone, so that its SMS is not another test's.
    digits = f"{random.randrange(10**6):06d}"

    def with_phone(name: str) -> dict[str, Any]:
        dossier = fixture_dossier(name)
        dossier["persons"][0]["phone"] = f"+32 470 {digits[:2]} {digits[2:4]} {digits[4:]}"
        return dossier
    monkeypatch.setattr("tests.system.test_signing_journey.fixture_dossier", with_phone)
    dossier_id, logins = _signing_dossier(system_stack, gateway, tag)
    pieter_email, pieter_password = logins["P-00417-1"].split("\n")
    sofie_email, sofie_password = logins["P-00417-2"].split("\n")
    staff = staff_log_in(system_stack, gateway)
    document_id = _publish_pdf(gateway, staff, dossier_id, f"mandaat-{tag}")
    request_id = _request_signature(gateway, staff, dossier_id, document_id,
                                    ["P-00417-1"])["signature_request_id"]
    token = log_in(gateway, pieter_email, pieter_password)["access_token"]
    sofie = log_in(gateway, sofie_email, sofie_password)["access_token"]
    base = f"/api/v1/signature-requests/{request_id}/mobile"

    def post(path: str, token: str = token, **kwargs: object) -> httpx.Response:
        return gateway.post(base + path, headers=bearer(token), **kwargs)  # type: ignore[arg-type]

    # Not offered to Sofie: 404 at every step.
    assert post("/enrolment", sofie, json={}).status_code == 404
    assert gateway.get(base, headers=bearer(sofie)).status_code == 404

    # 1. The SMS code, to the number the office holds, masked on the way back.
    enrolment = expect(post("/enrolment", json={"language": "en"}), 201)
    enrolment_id = enrolment["enrolment_id"]
    assert enrolment["state"] == "code_sent" and enrolment["code_tries_left"] == 3
    assert enrolment["phone_masked"] == f"+32 4******{digits[-2:]}"
    sms = wait_for_sms(system_stack.config.sms_dir, f"+32470{digits}", containing="MyBroker")
    found = re.search(r"\b(\d{6})\b", sms.text)
    assert found is not None, sms.text
    code = found.group(1)
    wrong = post("/enrolment/code", json={"enrolment_id": enrolment_id,
                                          "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.json()["errors"] == {"code": "wrong",
                                                                   "tries_left": "2"}
    assert expect(post("/enrolment/code", json={"enrolment_id": enrolment_id, "code": code}),
                  200)["state"] == "phone_validated"

    # 2. The ID card's back: not a photo is refused with the reason, Pieter's card validates.
    not_photo = post("/enrolment/id-card", data={"enrolment_id": enrolment_id},
                     files={"photo": ("card.pdf", b"%PDF-1.7", "application/pdf")})
    assert not_photo.status_code == 422 and not_photo.json()["errors"] == {
        "photo": "not_an_image"}
    photo = card_photo(mrz_lines(pieter()), seed=11, rotation=1.2)
    checked = expect(post("/enrolment/id-card", data={"enrolment_id": enrolment_id},
                          files={"photo": ("card.jpg", photo, "image/jpeg")}), 200)
    assert checked["state"] == "identity_validated"
    assert checked["document_number_masked"] == "******456"
    assert checked["document_valid_until"] == "2031-05-01"

    # 3. A PIN (a trivial one refused) and the device's public key.
    device = ec.generate_private_key(ec.SECP256R1())
    spki = base64.b64encode(device.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    trivial = post("/enrolment/finish", json={"enrolment_id": enrolment_id, "pin": "12345",
                                              "public_key": spki})
    assert trivial.status_code == 422 and trivial.json()["errors"] == {"pin": "sequence"}
    active = expect(post("/enrolment/finish", json={
        "enrolment_id": enrolment_id, "pin": "58203", "public_key": spki,
        "device_name": "Test phone"}), 200)
    assert active["state"] == "active" and active["pin_tries_left"] == 5

    # Signing: the document is read first, then the PIN gives a nonce the device signs.
    expect_view = gateway.get(f"/api/v1/dossiers/{dossier_id}/documents/{document_id}/view",
                              headers=bearer(token))
    assert expect_view.status_code == 200
    wrong_pin = post("/challenge", json={"enrolment_id": enrolment_id, "pin": "58204"})
    assert wrong_pin.status_code == 422 and wrong_pin.json()["errors"] == {
        "pin": "wrong", "tries_left": "4"}
    challenge = expect(post("/challenge", json={"enrolment_id": enrolment_id, "pin": "58203"}),
                       200)
    assert challenge["nonce"] in challenge["payload"] and request_id in challenge["payload"]
    # A signature of another text (a tampered payload) is refused, and uses the nonce up.
    tampered = post("/sign", json={
        "enrolment_id": enrolment_id, "nonce": challenge["nonce"],
        "signature": _webcrypto_signature(device, challenge["payload"].replace("0", "1", 1))})
    assert tampered.status_code == 403 and tampered.json()["errors"] == {
        "reason": "signature_invalid"}
    replay_of_spent = post("/sign", json={
        "enrolment_id": enrolment_id, "nonce": challenge["nonce"],
        "signature": _webcrypto_signature(device, challenge["payload"])})
    assert replay_of_spent.status_code == 403 and replay_of_spent.json()["errors"] == {
        "reason": "nonce_replayed"}
    challenge = expect(post("/challenge", json={"enrolment_id": enrolment_id, "pin": "58203"}),
                       200)
    signature = _webcrypto_signature(device, challenge["payload"])
    signed = post("/sign", json={"enrolment_id": enrolment_id, "nonce": challenge["nonce"],
                                 "signature": signature})
    assert signed.status_code == 200, signed.text
    assert signed.json()["signer"]["state"] == "signed"
    assert signed.json()["signer"]["method"] == "mobile_key"
    replay = post("/sign", json={"enrolment_id": enrolment_id, "nonce": challenge["nonce"],
                                 "signature": signature})
    assert replay.status_code == 403 and replay.json()["errors"] == {"reason": "nonce_replayed"}
    twice = post("/challenge", json={"enrolment_id": enrolment_id, "pin": "58203"})
    assert twice.status_code == 409

    # The sealed PDF's evidence page names the mobile key and how the identity was checked.
    _wait_until_sealed(gateway, token, request_id)
    sealed = gateway.get(f"/api/v1/signature-requests/{request_id}/signed-document",
                         headers=bearer(token))
    assert sealed.status_code == 200
    evidence = PdfReader(io.BytesIO(sealed.content)).pages[-1].extract_text()
    assert "Mobile key" in evidence
    assert f"SMS code to +32 4******{digits[-2:]}" in evidence
    assert "ID card ******456" in evidence and "valid until 2031-05-01" in evidence

    # The trail has every step, the refusals too.
    staff = staff_log_in(system_stack, gateway)
    trail = expect(gateway.get(f"/admin/api/v1/signature-requests/{request_id}/audit",
                               headers=bearer(staff)), 200)
    kinds = [record["kind"] for record in trail["records"]]
    for kind in ("identity_code_sent", "identity_refused", "identity_validated", "enrolled",
                 "wrong_pin", "device_signature_refused", "signed"):
        assert kind in kinds, kinds
    refused = [r["details"]["reason"] for r in trail["records"]
               if r["kind"] == "device_signature_refused"]
    assert refused == ["signature_invalid", "nonce_replayed", "nonce_replayed"]
    verification = expect(gateway.get(
        f"/admin/api/v1/signature-requests/{request_id}/verification", headers=bearer(staff)),
        200)
    assert verification["chain"]["intact"]

    # The office lists the device and revokes it: it is refused from then on.
    listed = expect(gateway.get(f"/admin/api/v1/dossiers/{dossier_id}/mobile-enrolments",
                                headers=bearer(staff)), 200)
    assert [(e["enrolment_id"], e["state"]) for e in listed["enrolments"]] == [
        (enrolment_id, "active")]
    assert gateway.post(f"/admin/api/v1/mobile-enrolments/{enrolment_id}/revoke",
                        headers=bearer(token)).status_code == 403
    revoked = expect(gateway.post(f"/admin/api/v1/mobile-enrolments/{enrolment_id}/revoke",
                                  headers=bearer(staff)), 200)
    assert revoked["state"] == "revoked"
    after = post("/challenge", json={"enrolment_id": enrolment_id, "pin": "58203"})
    assert after.status_code == 403 and after.json()["errors"] == {"reason": "revoked"}
