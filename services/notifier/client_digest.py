"""The client's daily digest: one mail listing every mail of the day their preferences held back
(see preferences.py). One builder, same shape as the other *_mails builders."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from services.notifier.domain import MailText, mail_language, one_line

CLIENT_DIGEST_TEXTS = {
    "nl": MailText(
        subject="Uw overzicht van {day}",
        body=("Beste {name},\n\nDit gebeurde vandaag in uw klantenzone:\n\n{items}\n\n"
              "Meer lezen: {link}\n\nKiest u liever een mail per bericht? Pas uw meldingen aan: "
              "{settings}\n")),
    "fr": MailText(
        subject="Votre résumé du {day}",
        body=("Bonjour {name},\n\nVoici ce qui s'est passé aujourd'hui dans votre espace "
              "client :\n\n{items}\n\nEn savoir plus : {link}\n\nVous préférez un e-mail par "
              "message ? Modifiez vos notifications : {settings}\n")),
    "en": MailText(
        subject="Your summary of {day}",
        body=("Dear {name},\n\nThis happened today in your client area:\n\n{items}\n\n"
              "Read more: {link}\n\nRather one mail per message? Change your notifications: "
              "{settings}\n")),
}


@dataclass(frozen=True)
class HeldItem:
    """A mail held back for the digest: what it was about."""

    subject: str
    dossier_id: str | None


def client_digest_id(day: date, user_id: str) -> str:
    """One digest per client and day, whatever the replicas (hashed: the id uses dots)."""
    digest = hashlib.sha256(f"{day.isoformat()}\x1f{user_id}".encode()).hexdigest()[:32]
    return f"{digest}.client-digest"


def client_digest_mail(
    mail_id: str, items: list[HeldItem], *, name: str, email: str, language: str, day: date,
    sender: str, public_url: str, at: datetime,
) -> EmailMessage:
    """The day's digest for one client, in their language."""
    text = CLIENT_DIGEST_TEXTS[mail_language(language)]
    shown_name = one_line(name)
    lines = "\n".join(
        f"- {one_line(item.subject)}" + (f" ({one_line(item.dossier_id)})"
                                         if item.dossier_id else "") for item in items)
    base = public_url.rstrip("/")
    message = EmailMessage()
    message["Message-ID"] = f"<{mail_id}@mybroker>"
    message["Date"] = format_datetime(at)
    message["From"] = sender
    message["To"] = str(Address(display_name=shown_name, addr_spec=email))
    message["Subject"] = text.subject.format(day=day.strftime("%d/%m/%Y"))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(text.body.format(name=shown_name, items=lines, link=f"{base}/",
                                         settings=f"{base}/notifications"))
    return message
