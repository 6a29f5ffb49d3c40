"""A demo sealing hierarchy made with `cryptography`: a CA, the office's seal certificate and a
timestamp authority's certificate. Development and tests only; production configures the
office's real seal (a PKCS#12 file) and a real TSA."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_BITS = 2048  # demo only; pyHanko's demo TSA signs with RSA


@dataclass(frozen=True)
class DemoSeal:
    """The PEM/PKCS#12 bytes of a demo hierarchy."""

    ca_pem: bytes
    seal_pkcs12: bytes
    seal_passphrase: str
    tsa_cert_pem: bytes
    tsa_key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MyBroker demo office"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _issue(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Name,
           issuer_key: rsa.RSAPrivateKey, *, ca: bool, usage: x509.KeyUsage,
           extended: list[x509.ObjectIdentifier] | None = None,
           issuer_cert: x509.Certificate | None = None) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1))
               .not_valid_after(now + timedelta(days=3650 if ca else 825))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False)
    if extended:
        # RFC 3161: a TSA certificate has exactly the timeStamping purpose, marked critical.
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended),
                                        critical=ExtendedKeyUsageOID.TIME_STAMPING in extended)
    return builder.sign(issuer_key, hashes.SHA256())


def _usage(*, sign: bool = False, cert_sign: bool = False, non_repudiation: bool = False
           ) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=non_repudiation, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def make_demo_seal(passphrase: str) -> DemoSeal:
    """A fresh CA, a seal certificate (with its key in a PKCS#12 under `passphrase`) and a TSA
    certificate, all issued by that CA."""
    ca_key = _key()
    ca_name = _name("MyBroker Demo Sealing CA")
    ca_cert = _issue("MyBroker Demo Sealing CA", ca_key, ca_name, ca_key, ca=True,
                     usage=_usage(cert_sign=True))
    seal_key = _key()
    seal_cert = _issue("MyBroker demo office seal", seal_key, ca_name, ca_key, ca=False,
                       usage=_usage(sign=True, non_repudiation=True), issuer_cert=ca_cert)
    tsa_key = _key()
    tsa_cert = _issue("MyBroker Demo Timestamp Authority", tsa_key, ca_name, ca_key, ca=False,
                      usage=_usage(sign=True, non_repudiation=True),
                      extended=[ExtendedKeyUsageOID.TIME_STAMPING], issuer_cert=ca_cert)
    seal_pkcs12 = pkcs12.serialize_key_and_certificates(
        b"office-seal", seal_key, seal_cert, [ca_cert],
        serialization.BestAvailableEncryption(passphrase.encode()))
    return DemoSeal(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        seal_pkcs12=seal_pkcs12, seal_passphrase=passphrase,
        tsa_cert_pem=tsa_cert.public_bytes(serialization.Encoding.PEM),
        tsa_key_pem=tsa_key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


@dataclass(frozen=True)
class DemoSealFiles:
    ca_path: Path
    seal_path: Path
    seal_passphrase: str
    tsa_cert_path: Path
    tsa_key_path: Path


def write_demo_seal(directory: Path, passphrase: str) -> DemoSealFiles:
    """The demo hierarchy as files (keys readable by their owner only)."""
    directory.mkdir(parents=True, exist_ok=True)
    seal = make_demo_seal(passphrase)
    files = DemoSealFiles(ca_path=directory / "sealing-ca.pem",
                          seal_path=directory / "office-seal.p12", seal_passphrase=passphrase,
                          tsa_cert_path=directory / "tsa.pem",
                          tsa_key_path=directory / "tsa-key.pem")
    files.ca_path.write_bytes(seal.ca_pem)
    files.tsa_cert_path.write_bytes(seal.tsa_cert_pem)
    for path, body in ((files.seal_path, seal.seal_pkcs12), (files.tsa_key_path,
                                                               seal.tsa_key_pem)):
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(body)
    return files
