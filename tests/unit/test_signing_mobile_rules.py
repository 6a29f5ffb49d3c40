"""Rules of the mobile signature: the SMS code (expiry, tries, rate), the PIN (trivial ones
refused, five wrong lock), the nonce (single use, short expiry), the device's signature, and the
ID card's MRZ read from synthetic photos (valid, expired, a wrong check digit, another person's
card, a photo that cannot be read)."""

import base64
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import Image

from libs.contracts.signing import EnrolmentState
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, RateLimited
from services.signing import id_card, mobile
from services.signing.mobile import Enrolment, MobilePolicy
from tests.id_card_samples import card_photo, mrz_lines, pieter

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
POLICY = MobilePolicy()
BIRTH = date(1981, 4, 12)


def enrolment(**changes: object) -> Enrolment:
    values: dict[str, object] = {
        "enrolment_id": "e1", "user_id": "u-pieter", "person_id": "P1", "dossier_id": "D1",
        "signature_request_id": "r1", "created_at": NOW}
    values.update(changes)
    return Enrolment.model_validate(values)


# --- SMS code -------------------------------------------------------------------------------

def test_the_right_code_validates_the_phone_once() -> None:
    e = enrolment()
    mobile.set_code(e, "482913", NOW, POLICY)
    assert e.code_digest and "482913" not in e.model_dump_json()
    assert mobile.check_code(e, "482913", NOW + timedelta(minutes=4))
    assert e.state is EnrolmentState.PHONE_VALIDATED
    with pytest.raises(Conflict):  # the step is done: the code is not asked again
        mobile.check_code(e, "482913", NOW)


def test_a_wrong_code_costs_a_try_and_the_third_uses_the_code_up() -> None:
    e = enrolment()
    mobile.set_code(e, "482913", NOW, POLICY)
    assert not mobile.check_code(e, "111111", NOW)
    assert mobile.code_refusal(e).fields == {"code": "wrong", "tries_left": "2"}
    assert not mobile.check_code(e, "222222", NOW)
    assert not mobile.check_code(e, "333333", NOW)
    assert mobile.code_refusal(e).fields == {"code": "wrong", "tries_left": "0"}
    with pytest.raises(Gone) as used_up:  # even the right one, now
        mobile.check_code(e, "482913", NOW)
    assert used_up.value.fields == {"code": "no_tries_left", "tries_left": "0"}


def test_a_code_expires_after_five_minutes() -> None:
    e = enrolment()
    mobile.set_code(e, "482913", NOW, POLICY)
    with pytest.raises(Gone) as expired:
        mobile.check_code(e, "482913", NOW + timedelta(minutes=5, seconds=1))
    assert expired.value.fields and expired.value.fields["code"] == "expired"


def test_codes_are_rate_limited_per_account() -> None:
    sent = [NOW - timedelta(minutes=14), NOW - timedelta(minutes=5), NOW - timedelta(minutes=1)]
    with pytest.raises(RateLimited) as limited:
        mobile.check_code_rate(sent, NOW, POLICY)
    assert limited.value.fields and 0 < int(limited.value.fields["retry_after"]) <= 61
    mobile.check_code_rate(sent[1:], NOW, POLICY)
    mobile.check_code_rate([NOW - timedelta(minutes=16)] * 5, NOW, POLICY)


# --- PIN ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pin", "problem"), [
    ("1234", "format"), ("123456", "format"), ("12a45", "format"), ("１２３８５", "format"),
    ("77777", "all_equal"), ("12345", "sequence"), ("98765", "sequence"),
    ("67890", "sequence"), ("43210", "sequence"), ("12121", "pattern"),
    ("12041", "birth_date"), ("12048", "birth_date"), ("81041", "birth_date"),
    ("04121", "birth_date"), ("19810", "birth_date"),
])
def test_trivial_pins_are_refused(pin: str, problem: str) -> None:
    assert mobile.pin_problem(pin, BIRTH) == problem


@pytest.mark.parametrize("pin", ["58203", "90417", "13579", "12041"])
def test_other_pins_are_accepted(pin: str) -> None:
    birth = date(1990, 1, 1) if pin == "12041" else BIRTH  # not this person's birth date
    assert mobile.pin_problem(pin, birth) is None


def test_five_wrong_pins_lock_the_enrolment() -> None:
    e = enrolment(state=EnrolmentState.ACTIVE)
    for left in (4, 3, 2, 1):
        refusal = mobile.pin_refused(e, NOW, POLICY)
        assert isinstance(refusal, Invalid) and refusal.fields == {
            "pin": "wrong", "tries_left": str(left)}
    locked = mobile.pin_refused(e, NOW, POLICY)
    assert isinstance(locked, Forbidden) and locked.fields == {"reason": "locked",
                                                               "tries_left": "0"}
    assert e.state is EnrolmentState.LOCKED
    with pytest.raises(Forbidden):
        mobile.refuse_if_unusable(e)


def test_a_revoked_enrolment_refuses_everything() -> None:
    e = enrolment(state=EnrolmentState.ACTIVE)
    assert mobile.revoke(e, "staff1", NOW) and not mobile.revoke(e, "staff1", NOW)
    with pytest.raises(Forbidden) as revoked:
        mobile.refuse_if_unusable(e)
    assert revoked.value.fields == {"reason": "revoked"}


# --- device key, nonce ----------------------------------------------------------------------

def _device() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(spki).decode()


def _webcrypto_sign(key: ec.EllipticCurvePrivateKey, payload: str) -> str:
    """As WebCrypto signs: r || s, 32 bytes each."""
    r, s = decode_dss_signature(key.sign(payload.encode(), ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def test_the_device_signature_is_verified_with_the_registered_key() -> None:
    key, public = _device()
    e = enrolment(public_key=public)
    challenge = mobile.new_challenge(e, signature_request_id="r1", document_sha256="ab" * 32,
                                     now=NOW, policy=POLICY)
    payload = mobile.signing_payload(challenge)
    assert '"document_sha256":"' + "ab" * 32 in payload and challenge.nonce in payload
    assert '"signer_id":"P1"' in payload and '"time":"2026-12-05T10:00:00Z"' in payload
    signature = _webcrypto_sign(key, payload)
    assert mobile.device_signature_valid(public, payload, signature)
    der = base64.b64encode(key.sign(payload.encode(), ec.ECDSA(hashes.SHA256()))).decode()
    assert mobile.device_signature_valid(public, payload, der)
    # Another document, another key, or a changed byte: refused.
    assert not mobile.device_signature_valid(public, payload.replace("ab", "cd", 1), signature)
    assert not mobile.device_signature_valid(_device()[1], payload, signature)
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    assert not mobile.device_signature_valid(public, payload, base64.b64encode(raw).decode())
    assert not mobile.device_signature_valid(public, payload, "not base64!")


def test_only_p256_keys_are_registered() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(Invalid) as refused:
        mobile.load_public_key(base64.b64encode(other).decode())
    assert refused.value.fields == {"public_key": "not_p256"}
    with pytest.raises(Invalid):
        mobile.load_public_key("AAAA")


def test_a_nonce_is_single_use_short_lived_and_bound_to_its_request() -> None:
    e = enrolment()
    challenge = mobile.new_challenge(e, signature_request_id="r1", document_sha256="ab" * 32,
                                     now=NOW, policy=POLICY)
    assert mobile.challenge_problem(challenge, enrolment_id="e1", signature_request_id="r1",
                                    now=NOW + timedelta(seconds=30)) is None
    assert mobile.challenge_problem(challenge, enrolment_id="e1", signature_request_id="r2",
                                    now=NOW) == "nonce_unknown"
    assert mobile.challenge_problem(challenge, enrolment_id="e1", signature_request_id="r1",
                                    now=NOW + timedelta(minutes=3)) == "nonce_expired"
    challenge.used = True
    assert mobile.challenge_problem(challenge, enrolment_id="e1", signature_request_id="r1",
                                    now=NOW) == "nonce_replayed"
    assert mobile.challenge_problem(None, enrolment_id="e1", signature_request_id="r1",
                                    now=NOW) == "nonce_unknown"


def test_shown_facts_are_masked() -> None:
    assert mobile.mask_phone("+32475123456") == "+32 4******56"
    assert mobile.mask_document_number("592123456") == "******456"


# --- the ID card's MRZ ------------------------------------------------------------------------

TODAY = date(2026, 12, 5)


def _problem(card: id_card.IdCard) -> str | None:
    return id_card.card_problem(card, last_name="Dupont", first_name="Pieter",
                                birth_date=BIRTH, national_number="81.04.12-153.52",
                                today=TODAY)


def test_a_photo_of_the_persons_card_is_read_and_validates_them() -> None:
    card = id_card.read_card(card_photo(mrz_lines(pieter()), seed=3, rotation=1.5))
    assert (card.document_number, card.birth_date, card.expiry_date) == (
        "592123456", "810412", date(2031, 5, 1))
    assert card.surname.startswith("DUPONT") and card.given_names.startswith("PIETER")
    assert card.optional_data_2 == "81041215352"
    assert _problem(card) is None
    # A filler read as a letter after the name is the same name; another letter is not.
    read_k = id_card.IdCard(**{**card.__dict__, "given_names": "PIETERK"})
    assert _problem(read_k) is None
    assert _problem(id_card.IdCard(**{**card.__dict__, "given_names": "PIETRO"})) == \
        "another_person"


def test_an_expired_card_is_refused() -> None:
    card = id_card.read_card(card_photo(mrz_lines(pieter(expiry_date=date(2025, 3, 1))),
                                        seed=4, rotation=-1.0))
    assert _problem(card) == "expired"


def test_another_persons_card_is_refused() -> None:
    sofie = pieter(surname="Claes", given_names="Sofie", birth_date=date(1983, 9, 27),
                   national_number="83092727443", sex="F")
    card = id_card.read_card(card_photo(mrz_lines(sofie), seed=5, rotation=0.5))
    assert card.surname == "CLAES" and _problem(card) == "another_person"
    # The same name and birth date, another national register number: not this person either.
    twin = id_card.IdCard(**{**card.__dict__, "surname": "DUPONT", "given_names": "PIETER",
                             "birth_date": "810412", "optional_data_2": "81041299999"})
    assert _problem(twin) == "another_person"


def test_a_wrong_check_digit_is_refused() -> None:
    lines = mrz_lines(pieter())
    lines[1] = lines[1][:6] + str((int(lines[1][6]) + 1) % 10) + lines[1][7:]  # birth date's
    with pytest.raises(Invalid) as refused:
        id_card.read_card(card_photo(lines, seed=6, rotation=1.0))
    assert refused.value.fields == {"photo": "check_digits"}


def test_photos_that_cannot_be_read_are_refused_with_the_reason() -> None:
    with pytest.raises(Invalid) as not_image:
        id_card.read_card(b"%PDF-1.7 not a photo")
    assert not_image.value.fields == {"photo": "not_an_image"}
    small = io.BytesIO()
    Image.new("RGB", (320, 200), "white").save(small, format="JPEG")
    with pytest.raises(Invalid) as too_small:
        id_card.read_card(small.getvalue())
    assert too_small.value.fields == {"photo": "too_small"}
    blank = io.BytesIO()
    Image.new("RGB", (1600, 1100), (200, 200, 200)).save(blank, format="PNG")
    with pytest.raises(Invalid) as unreadable:
        id_card.read_card(blank.getvalue())
    assert unreadable.value.fields == {"photo": "unreadable"}


# --- the signature itself and the evidence page ---------------------------------------------

def test_a_mobile_key_signature_needs_the_device_evidence_and_the_evidence_page_says_so() -> None:
    from libs.contracts.signing import SignatureMethod, SignerRecipient, SigningEvidence
    from services.signing import domain
    from services.signing.domain import SignatureRequest, Signer, SigningPolicy

    request = SignatureRequest(
        request_id="r1", dossier_id="D1", document_id="doc1", title="Mandaat",
        document_sha256="a" * 64, original_sha256="a" * 64, requested_by="staff1",
        requested_at=NOW, signers=[Signer(person_id="P1", name="Pieter Dupont", order=1,
                                          recipients=[SignerRecipient(
                                              user_id="u-pieter", email="p@example.be",
                                              display_name="P")])])
    signer = request.signers[0]
    domain.mark_opened(request, signer, NOW)
    arguments: dict[str, object] = {
        "user_id": "u-pieter", "method": SignatureMethod.MOBILE_KEY, "approved": True,
        "authenticated_at": None, "evidence": SigningEvidence(), "now": NOW,
        "policy": SigningPolicy(reauthenticate_after=timedelta(minutes=15))}
    with pytest.raises(Invalid) as refused:  # the checkbox's route cannot claim the mobile key
        domain.sign(request, signer, **arguments)  # type: ignore[arg-type]
    assert refused.value.fields == {"method": "not_available"}
    enrolled = enrolment(
        state=EnrolmentState.ACTIVE, phone_masked="+32 4******56", phone_validated_at=NOW,
        document_number_masked="******456", document_valid_until=date(2031, 5, 1),
        identity_validated_at=NOW, key_fingerprint="ab:cd", enrolled_at=NOW)
    evidence = mobile.mobile_evidence(enrolled, client_ip="192.0.2.7", device="Chrome on Android")
    domain.sign(request, signer, **arguments,  # type: ignore[arg-type]
                device_evidence=evidence)
    assert signer.method is SignatureMethod.MOBILE_KEY and request.state.value == "sealing"
    page = "\n".join(domain.evidence_lines(request, audit_head="f" * 64, sealed_at=NOW))
    assert "Method: Mobile key" in page
    assert "Identity (SMS): SMS code to +32 4******56 confirmed 2026-12-05 10:00 UTC" in page
    assert "Identity (ID card): ID card ******456 read (MRZ), valid until 2031-05-01" in page
    assert "Device key: ECDSA P-256 ab:cd" in page and "Password last given" not in page
