"""Belgian eID client certificates: chain, dates and key usage checked against the configured
trust bundle ("Belgium Root CA" family), then the national register number and names read.

TLS is ended at the reverse proxy, which forwards the client certificate (PEM); auth judges it
here and never trusts the proxy's own verification alone. The bundle holds the roots (self-
signed) and the intermediate "Citizen CA" certificates; the leaf is the citizen's
authentication certificate (digitalSignature), not the signature one (nonRepudiation only).
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from stdnum.be import nn as belgian_nn
from stdnum.exceptions import ValidationError

from libs.contracts.auth import EidRefusal

MAX_CHAIN_LENGTH = 5  # root, Citizen CA, leaf in practice; a bound against loops


NOT_A_CARD = "This is not the authentication certificate of a Belgian eID card."
OUT_OF_DATE = "This eID card has expired or is not valid yet."
UNTRUSTED = "This card was not issued by a recognised Belgian eID authority."
_PUBLIC = {EidRefusal.NOT_AN_AUTHENTICATION_CERTIFICATE: NOT_A_CARD,
           EidRefusal.OUT_OF_DATE: OUT_OF_DATE, EidRefusal.UNTRUSTED: UNTRUSTED}


class EidRefused(Exception):
    """The certificate cannot log anyone in; the message says why (for logs), `refusal` and
    `public` what the card holder is told (nothing they do not know: it is their own
    certificate)."""

    def __init__(
        self, reason: str,
        refusal: EidRefusal = EidRefusal.NOT_AN_AUTHENTICATION_CERTIFICATE,
    ) -> None:
        super().__init__(reason)
        self.refusal = refusal
        self.public = _PUBLIC[refusal]


@dataclass(frozen=True)
class EidIdentity:
    """Who an eID authentication certificate names."""

    national_number: str  # 11 digits, compact
    given_name: str
    surname: str

    @property
    def display_name(self) -> str:
        """First names and surname, as the card has them."""
        return f"{self.given_name} {self.surname}".strip()


def load_trust_bundle(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (roots and intermediates)."""
    certificates = x509.load_pem_x509_certificates(pem)
    if not certificates:
        raise ValueError("the eID trust bundle holds no certificate")
    return certificates


def certificate_from_header(value: str) -> x509.Certificate:
    """The client certificate as nginx forwards it (`$ssl_client_escaped_cert`: URL-encoded PEM)."""
    pem = unquote(value).strip()
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise EidRefused("the forwarded client certificate is not a PEM certificate") from error


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _within_dates(certificate: x509.Certificate, now: datetime) -> None:
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise EidRefused(f"certificate {certificate.subject.rfc4514_string()} is outside its "
                         "validity dates", EidRefusal.OUT_OF_DATE)


def _require_ca(certificate: x509.Certificate) -> None:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound as error:
        raise EidRefused("an issuing certificate is not marked as a CA",
                         EidRefusal.UNTRUSTED) from error
    if not constraints.value.ca:
        raise EidRefused("an issuing certificate is not a CA", EidRefusal.UNTRUSTED)


def _issuer_of(
    certificate: x509.Certificate, bundle: list[x509.Certificate]
) -> x509.Certificate:
    for candidate in bundle:
        if candidate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    raise EidRefused("the certificate was not issued by a trusted eID authority",
                     EidRefusal.UNTRUSTED)


def _require_authentication_key_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as error:
        raise EidRefused("the certificate has no key usage") from error
    if not usage.digital_signature:
        raise EidRefused("not an authentication certificate (no digitalSignature)")


def _identity(certificate: x509.Certificate) -> EidIdentity:
    def first(oid: x509.ObjectIdentifier) -> str:
        values = certificate.subject.get_attributes_for_oid(oid)
        value = values[0].value if values else ""
        return value.decode() if isinstance(value, bytes) else value

    try:
        national_number = belgian_nn.validate(first(NameOID.SERIAL_NUMBER))
    except ValidationError as error:
        raise EidRefused("the certificate carries no valid national register number") from error
    return EidIdentity(national_number=national_number, given_name=first(NameOID.GIVEN_NAME),
                       surname=first(NameOID.SURNAME))


def verify_citizen_certificate(
    leaf: x509.Certificate, bundle: list[x509.Certificate], now: datetime
) -> EidIdentity:
    """The identity of a valid eID authentication certificate, or EidRefused.

    The chain is followed through the bundle up to a self-signed root of the bundle; every
    signature, every validity period and the CA flag of every issuer are checked.
    """
    _require_authentication_key_usage(leaf)
    _within_dates(leaf, now)
    current = leaf
    for _ in range(MAX_CHAIN_LENGTH):
        issuer = _issuer_of(current, bundle)
        _require_ca(issuer)
        _within_dates(issuer, now)
        if _is_self_signed(issuer):
            return _identity(leaf)
        current = issuer
    raise EidRefused("the certificate chain is too long", EidRefusal.UNTRUSTED)
