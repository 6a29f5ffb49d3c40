"""eID certificates (manual 1.1, "Aanmelden met eID"): chain, dates, key usage, identity."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from libs.contracts.auth import EidRefusal
from services.auth.eid.domain import (
    EidRefused,
    certificate_from_header,
    load_trust_bundle,
    verify_citizen_certificate,
)
from tests.eid_test_ca import (
    NOW,
    as_forwarded_header,
    authority,
    citizen_certificate,
    eid_hierarchy,
)

HIERARCHY = eid_hierarchy()
BUNDLE = load_trust_bundle(HIERARCHY.bundle_pem)


def test_a_valid_citizen_certificate_gives_the_national_number_and_names() -> None:
    identity = verify_citizen_certificate(citizen_certificate(HIERARCHY.citizen_ca), BUNDLE, NOW)
    assert (identity.national_number, identity.given_name, identity.surname) == (
        "85073003328", "Lotte Anna", "Maes")
    assert identity.display_name == "Lotte Anna Maes"


def test_the_certificate_forwarded_url_encoded_by_the_proxy_is_read() -> None:
    leaf = citizen_certificate(HIERARCHY.citizen_ca)
    assert certificate_from_header(as_forwarded_header(leaf)) == leaf


def test_garbage_in_the_header_is_refused() -> None:
    with pytest.raises(EidRefused):
        certificate_from_header("not%20a%20certificate")


def test_a_certificate_of_another_hierarchy_is_refused() -> None:
    stranger = eid_hierarchy()
    with pytest.raises(EidRefused, match="not issued by a trusted") as refused:
        verify_citizen_certificate(citizen_certificate(stranger.citizen_ca), BUNDLE, NOW)
    assert refused.value.refusal is EidRefusal.UNTRUSTED


def test_a_certificate_issued_by_a_ca_with_the_same_name_but_another_key_is_refused() -> None:
    impostor = authority("Citizen CA", authority("Belgium Root CA4"))
    with pytest.raises(EidRefused):
        verify_citizen_certificate(citizen_certificate(impostor), BUNDLE, NOW)


def test_an_expired_citizen_certificate_is_refused() -> None:
    expired = citizen_certificate(HIERARCHY.citizen_ca, not_before=NOW - timedelta(days=400),
                                  not_after=NOW - timedelta(days=1))
    with pytest.raises(EidRefused, match="validity") as refused:
        verify_citizen_certificate(expired, BUNDLE, NOW)
    assert refused.value.refusal is EidRefusal.OUT_OF_DATE


def test_a_certificate_not_yet_valid_is_refused() -> None:
    future = citizen_certificate(HIERARCHY.citizen_ca, not_before=NOW + timedelta(days=1))
    with pytest.raises(EidRefused, match="validity"):
        verify_citizen_certificate(future, BUNDLE, NOW)


def test_an_expired_citizen_ca_makes_its_certificates_refused() -> None:
    old_ca = authority("Citizen CA 2015", HIERARCHY.root, not_after=NOW - timedelta(days=1))
    bundle = load_trust_bundle(
        HIERARCHY.bundle_pem + old_ca.certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(EidRefused, match="validity"):
        verify_citizen_certificate(citizen_certificate(old_ca), bundle, NOW)


def test_the_signature_certificate_cannot_log_in() -> None:
    signing_only = citizen_certificate(HIERARCHY.citizen_ca, authentication=False)
    with pytest.raises(EidRefused, match="digitalSignature") as refused:
        verify_citizen_certificate(signing_only, BUNDLE, NOW)
    assert refused.value.refusal is EidRefusal.NOT_AN_AUTHENTICATION_CERTIFICATE


def test_a_certificate_without_a_valid_national_number_is_refused() -> None:
    with pytest.raises(EidRefused, match="national register number"):
        verify_citizen_certificate(
            citizen_certificate(HIERARCHY.citizen_ca, national_number="85073003329"), BUNDLE, NOW)


def test_a_bundle_with_only_the_intermediate_does_not_make_a_chain() -> None:
    only_intermediate = [c for c in BUNDLE if c.subject != c.issuer]
    with pytest.raises(EidRefused):
        verify_citizen_certificate(citizen_certificate(HIERARCHY.citizen_ca),
                                   only_intermediate, NOW)
