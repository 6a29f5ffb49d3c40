"""A demo Belgian eID hierarchy, built with `cryptography` (nothing from the network):
"Belgium Root CA" -> "Citizen CA" -> a citizen's authentication certificate.

`make dev` writes one to the run directory (auth's trust bundle, a demo card and the proxy
secret), so "Aanmelden met eID" can be tried without a card reader; the tests build their own.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Authority:
    """A CA certificate and its key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, digital_signature: bool = False, non_repudiation: bool = False,
               cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=non_repudiation,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def authority(common_name: str, issuer: Authority | None = None, *,
              not_after: datetime | None = None) -> Authority:
    """A root (no issuer) or intermediate CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(not_after or NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
    )
    certificate = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Authority(certificate, key)


def citizen_certificate(
    issuer: Authority, *, national_number: str = "85073003328", given_name: str = "Lotte Anna",
    surname: str = "Maes", not_before: datetime | None = None, not_after: datetime | None = None,
    authentication: bool = True,
) -> x509.Certificate:
    """A citizen's eID certificate: authentication (digitalSignature) or signature only."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname} (Authentication)"),
        x509.NameAttribute(NameOID.SURNAME, surname),
        x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, national_number),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=30))
        .not_valid_after(not_after or NOW + timedelta(days=3000))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=authentication,
                                  non_repudiation=not authentication), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )


@dataclass(frozen=True)
class EidHierarchy:
    """The fake Belgian hierarchy and a PEM trust bundle of its CAs."""

    root: Authority
    citizen_ca: Authority

    @property
    def bundle_pem(self) -> bytes:
        """Root and Citizen CA, as MYBROKER_AUTH_EID_TRUST_BUNDLE_PATH would hold them."""
        return b"".join(a.certificate.public_bytes(serialization.Encoding.PEM)
                        for a in (self.root, self.citizen_ca))


def eid_hierarchy() -> EidHierarchy:
    """A fresh "Belgium Root CA" with its "Citizen CA"."""
    root = authority("Belgium Root CA4")
    return EidHierarchy(root=root, citizen_ca=authority("Citizen CA", root))


def pem_of(certificate: x509.Certificate) -> str:
    """The certificate as PEM text."""
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def as_forwarded_header(certificate: x509.Certificate) -> str:
    """What nginx puts in X-SSL-Client-Cert (`$ssl_client_escaped_cert`)."""
    return quote(pem_of(certificate), safe="")


DEMO_NATIONAL_NUMBER = "85073003328"  # a valid test number (born 30 July 1985), no real person


@dataclass(frozen=True)
class DemoEid:
    """What a stack needs for eID: auth's trust bundle, the proxy secret, a card to try."""

    hierarchy: EidHierarchy
    trust_bundle_path: Path
    proxy_secret: str
    card_header_path: Path  # the demo card as the proxy forwards it (X-SSL-Client-Cert)


def write_demo_eid(directory: Path) -> DemoEid:
    """A fresh hierarchy, its trust bundle, a demo card and a proxy secret, under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    hierarchy = eid_hierarchy()
    bundle = directory / "trust-bundle.pem"
    bundle.write_bytes(hierarchy.bundle_pem)
    card = citizen_certificate(hierarchy.citizen_ca, national_number=DEMO_NATIONAL_NUMBER)
    (directory / "demo-card.pem").write_text(pem_of(card))
    header = directory / "demo-card.header"
    header.write_text(as_forwarded_header(card))
    return DemoEid(hierarchy=hierarchy, trust_bundle_path=bundle,
                   proxy_secret=secrets.token_urlsafe(24), card_header_path=header)
