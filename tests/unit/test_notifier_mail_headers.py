"""The mails' headers are correct RFC 5322 / RFC 2047 on the wire, whatever the names and
subjects hold: plain ASCII written as given, anything else encoded, long values folded, and
the parsed header (addresses, date) still at hand."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage

import pytest
from aiosmtplib.email import flatten_message

from libs.contracts.auth import InvitationCreated
from services.notifier.domain import invitation_mail
from services.notifier.mailer import wire_form

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _invitation(name: str, language: str = "nl",
                sender: str = "MyBroker <no-reply@x.be>") -> EmailMessage:
    event = InvitationCreated(
        event_id="ev-1", occurred_at=WHEN, dossier_id=None, invitation_id="i-1", user_id="u-1",
        email="an@example.be", display_name=name, language=language, activation_token="tok",
        expires_at=WHEN)
    return invitation_mail(event, sender=sender, public_url="https://portal.example.be")


def _wire_headers(wire: bytes) -> dict[str, str]:
    head = wire.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit clean headers
    unfolded = head.replace("\r\n ", " ")
    return dict(line.split(": ", 1) for line in unfolded.split("\r\n"))


@pytest.mark.parametrize(("name", "language"), [
    ("Zoë Ñandú-Çelik", "fr"), ("Émile Dupont", "fr"), ("Jan Peeters", "nl"),
    ("Peeters, An", "en"), ("Anna Maria " * 8 + "Peeters", "nl")])
def test_headers_on_the_wire_are_ascii_and_decode_to_what_was_meant(name: str,
                                                                    language: str) -> None:
    mail = _invitation(name, language)
    wire = flatten_message(mail)
    headers = _wire_headers(wire)
    assert all(len(line) <= 78 for line in wire.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))
    if not name.isascii():
        assert headers["To"].startswith("=?utf-8?")  # an RFC 2047 encoded word
        assert name not in headers["To"]
    received = message_from_bytes(wire, policy=policy.default)
    assert received["To"].addresses[0].display_name == name
    assert received["To"].addresses[0].addr_spec == "an@example.be"
    assert str(received["Subject"]) == str(mail["Subject"])
    assert received["Date"].datetime == WHEN
    assert str(received["Message-ID"]) == "<ev-1.invitation@mybroker>"
    assert received["Auto-Submitted"] == "auto-generated"


def test_a_non_ascii_subject_and_sender_are_encoded() -> None:
    mail = _invitation("Émile", "fr", sender="Courtage Hélène <no-reply@x.be>")
    subject = str(mail["Subject"])
    assert not subject.isascii()  # the French subject has accents
    wire = flatten_message(mail)
    headers = _wire_headers(wire)
    assert "=?utf-8?" in headers["Subject"] and "=?utf-8?" in headers["From"]
    received = message_from_bytes(wire, policy=policy.default)
    assert str(received["Subject"]) == subject
    assert received["From"].addresses[0].display_name == "Courtage Hélène"


def test_plain_headers_fold_as_the_stdlib_folds_them() -> None:
    mail = _invitation("Jan Peeters")
    stdlib = HeaderRegistry()
    for part in mail.walk():
        for name, value in part.items():
            expected = stdlib(name, str(value)).fold(policy=policy.SMTP)
            assert value.fold(policy=policy.SMTP) == expected, name
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    assert text is not None and text["Content-Type"].params["charset"] == "utf-8"
    assert mail["To"].addresses[0].display_name == "Jan Peeters"
    assert mail["Date"].datetime == WHEN


@pytest.mark.parametrize(("name", "language"), [
    ("Jan Peeters", "nl"), ("Zoë Ñandú-Çelik", "fr"), ("Émile Dupont", "en")])
def test_the_stored_text_goes_on_the_wire_as_smtp_would_flatten_it(name: str,
                                                                  language: str) -> None:
    mail = _invitation(name, language, sender="Courtage Hélène <no-reply@x.be>")
    wire = wire_form(mail, mail.as_string())
    assert wire is not None
    assert wire == ("no-reply@x.be", ["an@example.be"], flatten_message(mail))


def test_an_8bit_body_or_a_bcc_is_left_to_smtp_flattening() -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@x.be", "b@x.be", "Hé"
    mail.set_content("Één regel.\n")  # short non-ASCII lines: an 8-bit body
    assert wire_form(mail, mail.as_string()) is None
    plain = _invitation("Jan")
    plain["Bcc"] = "archive@x.be"
    assert wire_form(plain, plain.as_string()) is None
    assert wire_form(plain, None) is None
