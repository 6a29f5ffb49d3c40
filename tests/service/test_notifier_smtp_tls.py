"""The office's relay may want TLS from the first byte (port 465) rather than STARTTLS: the
notifier speaks either, as configured, and refuses to be told both."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from deploy.local.processes import free_port
from services.notifier.config import NotifierSettings
from services.notifier.mailer import NotHandedOver, SmtpMailer


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.mails: list[EmailMessage] = []

    def handle_message(self, message: EmailMessage) -> None:  # type: ignore[override]
        self.mails.append(message)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (nothing from the network)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Inbox]]:
    """An SMTP relay speaking TLS only (SMTPS); the client trusts its certificate."""
    cert_path, key_path = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the client's trust store
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@mybroker.test", "b@mybroker.test", "TLS"
    mail["Message-ID"] = "<tls-1@mybroker>"
    mail.set_content("Hello over TLS")
    return mail


async def test_implicit_tls_hands_the_mail_to_a_tls_only_relay(
    tls_relay: tuple[int, Inbox],
) -> None:
    port, inbox = tls_relay
    mailer = SmtpMailer(NotifierSettings(smtp_host="127.0.0.1", smtp_port=port,
                                         smtp_implicit_tls=True, smtp_keep_alive_seconds=0))
    await mailer.send(_mail())
    assert [mail["Message-ID"] for mail in inbox.mails] == ["<tls-1@mybroker>"]


async def test_plain_smtp_to_a_tls_only_relay_is_not_handed_over(
    tls_relay: tuple[int, Inbox],
) -> None:
    port, inbox = tls_relay
    mailer = SmtpMailer(NotifierSettings(smtp_host="127.0.0.1", smtp_port=port,
                                         smtp_timeout_seconds=2, smtp_keep_alive_seconds=0))
    with pytest.raises(NotHandedOver):
        await mailer.send(_mail())
    assert inbox.mails == []


def test_starttls_and_implicit_tls_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        NotifierSettings(smtp_starttls=True, smtp_implicit_tls=True)
