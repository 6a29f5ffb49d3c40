"""The mails the notifier sends: their texts per language, links and deterministic ids (no I/O).

Services do not share the gateway's Babel catalogs, so the few mail texts live here, in NL
(the default), FR and EN.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from urllib.parse import quote
from zoneinfo import ZoneInfo

from libs.contracts.auth import InvitationCreated
from libs.contracts.envelope import Event

DEFAULT_LANGUAGE = "nl"
BRUSSELS = ZoneInfo("Europe/Brussels")  # times are UTC everywhere, Brussels only when shown
_WHITESPACE = re.compile(r"\s+")


class MailKind(StrEnum):
    """Which mail an event causes; part of the mail's Message-ID."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password-reset"  # noqa: S105 - a mail kind
    PASSWORD_CHANGED = "password-changed"  # noqa: S105 - a mail kind
    REGISTRATION_CONFIRMATION = "registration-confirmation"
    REGISTRATION_DECISION = "registration-decision"
    EID_LINKED = "eid-linked"
    EID_LINK_REFUSED = "eid-link-refused"
    DOCUMENTS_PUBLISHED = "documents-published"  # one per client of the dossier
    LOGIN_LOCKED = "login-locked"
    NEW_REQUEST = "new-request"  # to the office, at once: the first of a quiet dossier
    CLIENT_REPLY = "client-reply"  # to the office, at once: a client answered in a thread
    REQUEST_UPDATE = "request-update"  # to the client: answers and status, coalesced
    CLIENT_SHEET_DUE = "client-sheet-due"  # one per dossier client and reminder period
    PRIVACY_EXPORT_READY = "privacy-export-ready"  # the client's data export can be downloaded


@dataclass(frozen=True)
class MailText:
    """Subject and plain-text body, with `{placeholders}` filled by `str.format`."""

    subject: str
    body: str


INVITATION_TEXTS = {
    "nl": MailText(
        subject="Uw toegang tot de klantenzone van uw verzekeringsmakelaar",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar nodigt u uit in MyBroker, de klantenzone waar u uw "
            "verzekeringsdossier raadpleegt, documenten ontvangt en berichten stuurt.\n\n"
            "Klik op de volgende link, kies een wachtwoord en u bent meteen aangemeld:\n"
            "{link}\n\n"
            "Deze link is geldig tot {expires} en kan maar één keer gebruikt worden.\n\n"
            "Hebt u deze uitnodiging niet verwacht? Dan mag u deze e-mail negeren.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre accès à l'espace client de votre courtier en assurances",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances vous invite sur MyBroker, l'espace client où vous "
            "consultez votre dossier d'assurances, recevez vos documents et envoyez vos "
            "messages.\n\n"
            "Cliquez sur le lien suivant, choisissez un mot de passe et vous êtes connecté :\n"
            "{link}\n\n"
            "Ce lien est valable jusqu'au {expires} et ne peut être utilisé qu'une seule fois.\n\n"
            "Vous n'attendiez pas cette invitation ? Vous pouvez ignorer cet e-mail.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your access to your insurance broker's client zone",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker invites you to MyBroker, the client zone where you consult "
            "your insurance file, receive documents and send messages.\n\n"
            "Follow this link, choose a password and you are signed in:\n"
            "{link}\n\n"
            "This link is valid until {expires} and can be used only once.\n\n"
            "Did you not expect this invitation? Then you may ignore this e-mail.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

# The office's mail about one new message (office_digest.py); {headline} names what arrived.
NEW_REQUEST_TEXTS = {
    "nl": MailText(
        subject="{headline} in dossier {dossier}: {subject}",
        body=(
            "{headline} in dossier {dossier}.\n\n"
            "Onderwerp: {subject}\nVerstuurd op: {sent_at}\n\n"
            "Behandel het in de beheeromgeving:\n{link}\n"
        ),
    ),
    "fr": MailText(
        subject="{headline} dans le dossier {dossier} : {subject}",
        body=(
            "{headline} dans le dossier {dossier}.\n\n"
            "Objet : {subject}\nEnvoyé le : {sent_at}\n\n"
            "Traitez-le dans l'espace de gestion :\n{link}\n"
        ),
    ),
    "en": MailText(
        subject="{headline} in dossier {dossier}: {subject}",
        body=(
            "{headline} in dossier {dossier}.\n\n"
            "Subject: {subject}\nSent at: {sent_at}\n\n"
            "Handle it in the admin area:\n{link}\n"
        ),
    ),
}

# Free messages are "messages", the forms "requests"; a client's answer in a thread a "reply".
REQUEST_HEADLINES = {
    "nl": {"message": "Nieuw bericht", "request": "Nieuwe aanvraag",
           "reply": "Nieuw antwoord van de klant"},
    "fr": {"message": "Nouveau message", "request": "Nouvelle demande",
           "reply": "Nouvelle réponse du client"},
    "en": {"message": "New message", "request": "New request",
           "reply": "New reply from the client"},
}


def mail_language(language: str | None) -> str:
    """The language to write in: nl, fr or en ("fr-BE" -> fr); anything else gets NL."""
    code = (language or "").strip().lower()[:2]
    return code if code in INVITATION_TEXTS else DEFAULT_LANGUAGE


def message_id(event_id: str, kind: MailKind) -> str:
    """The same event always yields the same Message-ID, so an SMTP relay can drop a resend."""
    return f"<{event_id}.{kind.value}@mybroker>"


def activation_link(public_url: str, token: str) -> str:
    """The web page where an invited client chooses a password."""
    return f"{public_url.rstrip('/')}/activate?token={quote(token, safe='')}"


def admin_link(public_url: str) -> str:
    """The staff's admin area, where requests are handled."""
    return f"{public_url.rstrip('/')}/admin"


def one_line(text: str) -> str:
    """Text safe for a mail header: every run of whitespace, line breaks included, is one space."""
    return _WHITESPACE.sub(" ", text).strip()


def shown_time(moment: datetime) -> str:
    """A moment as Belgian readers expect it: Brussels time, day/month/year."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")


def invitation_mail(event: InvitationCreated, *, sender: str, public_url: str) -> EmailMessage:
    """The invitation to the client, in the client's language, with the activation link."""
    text = INVITATION_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(
        name=name,
        link=activation_link(public_url, event.activation_token),
        expires=shown_time(event.expires_at),
    )
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.INVITATION, sender, str(recipient), text.subject, body)


def _mail(
    event: Event, kind: MailKind, sender: str, recipient: str, subject: str, body: str
) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = message_id(event.event_id, kind)
    message["Date"] = format_datetime(event.occurred_at)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(body)
    return message
