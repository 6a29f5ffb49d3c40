"""The mails the notifier writes: right language, right link, right recipient, stable id."""

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from libs.contracts.auth import InvitationCreated
from libs.contracts.requests import RequestSubmitted
from services.notifier.domain import (
    MailKind,
    activation_link,
    admin_link,
    invitation_mail,
    mail_language,
    message_id,
    one_line,
    shown_time,
)
from services.notifier.office_digest import digest_item, digest_mail


def plain_text(mail: EmailMessage) -> str:
    """The mail's plain-text part (the HTML part says the same)."""
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())

SENDER = "MyBroker <no-reply@mybroker.local>"


def invitation(language: str = "nl", **changes: object) -> InvitationCreated:
    fields: dict[str, object] = {
        "event_id": "e1", "invitation_id": "i1", "user_id": "u1", "email": "an@example.be",
        "display_name": "An Peeters", "language": language, "activation_token": "tok-EN_1",
        "expires_at": datetime(2024, 7, 1, 22, 30, tzinfo=UTC),
    }
    fields.update(changes)
    return InvitationCreated.model_validate(fields)


def request_submitted(**changes: object) -> RequestSubmitted:
    fields: dict[str, object] = {
        "event_id": "e2", "dossier_id": "D-001", "request_id": "r1", "kind": "message",
        "subject": "Vraag over mijn autopolis", "sent_by": "u1",
        "occurred_at": datetime(2024, 1, 15, 9, 5, tzinfo=UTC),
    }
    fields.update(changes)
    return RequestSubmitted.model_validate(fields)


def office_mail(event: RequestSubmitted, *, language: str,
                public_url: str = "http://h") -> EmailMessage:
    """The office's mail about a digest holding this one message."""
    return digest_mail("d1.office-digest", event.dossier_id or "?", [digest_item(event)],
                       sender=SENDER, office="office@broker.be", public_url=public_url,
                       language=language)


@pytest.mark.parametrize(
    ("language", "subject_word", "body_words"),
    [
        ("nl", "klantenzone", "Beste An Peeters"),
        ("fr", "espace client", "Bonjour An Peeters"),
        ("en", "client zone", "Dear An Peeters"),
    ],
)
def test_the_invitation_is_written_in_the_clients_language(
    language: str, subject_word: str, body_words: str
) -> None:
    mail = invitation_mail(invitation(language), sender=SENDER, public_url="https://x.be")
    assert subject_word in str(mail["Subject"])
    assert body_words in plain_text(mail)


def test_the_invitation_carries_the_activation_link_and_goes_to_the_client() -> None:
    mail = invitation_mail(invitation(), sender=SENDER, public_url="https://mijn.makelaar.be/")
    assert "https://mijn.makelaar.be/activate?token=tok-EN_1" in plain_text(mail)
    assert mail["To"].addresses[0].addr_spec == "an@example.be"
    assert mail["From"].addresses[0].addr_spec == "no-reply@mybroker.local"


def test_the_invitation_shows_its_expiry_in_brussels_time() -> None:
    # 22:30 UTC on 1 July is 00:30 on 2 July in Brussels (summer time).
    mail = invitation_mail(invitation(), sender=SENDER, public_url="https://x.be")
    assert "geldig tot 2 jul 2024, 00:30" in plain_text(mail)


def test_an_unknown_language_gets_the_dutch_invitation() -> None:
    mail = invitation_mail(invitation("de"), sender=SENDER, public_url="https://x.be")
    assert plain_text(mail).startswith("Beste")


@pytest.mark.parametrize(("given", "used"), [("fr-BE", "fr"), ("EN", "en"), ("", "nl"),
                                             (None, "nl"), ("nl", "nl")])
def test_the_mail_language_is_nl_fr_or_en(given: str | None, used: str) -> None:
    assert mail_language(given) == used


def test_the_same_event_always_gives_the_same_message_id() -> None:
    first = invitation_mail(invitation(), sender=SENDER, public_url="https://x.be")
    again = invitation_mail(invitation(), sender=SENDER, public_url="https://x.be")
    assert first["Message-ID"] == again["Message-ID"] == "<e1.invitation@mybroker>"
    assert message_id("e2", MailKind.PASSWORD_RESET) == "<e2.password-reset@mybroker>"


def test_the_token_is_escaped_in_the_link() -> None:
    assert activation_link("http://h", "a+b/c=") == "http://h/activate?token=a%2Bb%2Fc%3D"


def test_the_office_mail_names_the_dossier_the_subject_and_links_to_the_admin_area() -> None:
    mail = office_mail(request_submitted(), public_url="http://127.0.0.1:8000", language="nl")
    assert str(mail["Subject"]) == "Nieuw bericht in dossier D-001: Vraag over mijn autopolis"
    assert str(mail["To"]) == "office@broker.be"
    content = plain_text(mail)
    assert "http://127.0.0.1:8000/admin" in content
    assert "Verstuurd op: 15 jan 2024, 10:05" in content
    assert mail["Message-ID"] == "<d1.office-digest@mybroker>"


def test_the_office_mail_can_be_in_french() -> None:
    mail = office_mail(request_submitted(), language="fr")
    assert str(mail["Subject"]).startswith("Nouveau message dans le dossier D-001")


def test_a_form_is_announced_as_a_request_rather_than_a_message() -> None:
    mail = office_mail(request_submitted(kind="change_address"), language="en")
    assert str(mail["Subject"]).startswith("New request in dossier D-001")


def test_a_subject_with_line_breaks_cannot_add_mail_headers() -> None:
    mail = office_mail(request_submitted(subject="Hallo\r\nBcc: evil@example.com"),
                       language="nl")
    assert mail["Bcc"] is None
    assert str(mail["Subject"]).endswith("Hallo Bcc: evil@example.com")
    assert one_line(" a\n\t b ") == "a b"


def test_links_do_not_double_the_slash_of_the_public_url() -> None:
    assert admin_link("https://x.be/") == "https://x.be/admin"


def test_a_time_without_zone_is_taken_as_utc() -> None:
    assert shown_time(datetime(2024, 1, 15, 9, 5)) == "15/01/2024 10:05"
