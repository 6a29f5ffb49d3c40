"""The mails the notifier sends: which ones, their links and deterministic ids (no I/O).

Their texts are Jinja2 templates (templates/, rendered by mail_templates) whose sentences are in
the shared Babel catalogs (libs/i18n), in NL (the default), FR and EN.
"""

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from libs.contracts.auth import InvitationCreated
from libs.contracts.envelope import OFFICE_TIMEZONE, Event
from libs.i18n import Language
from services.notifier.mail_templates import (
    DEFAULT_BRANDING,
    Branding,
    Envelope,
    render_mail,
    resolve_language,
)

DEFAULT_LANGUAGE = "nl"
BRUSSELS = OFFICE_TIMEZONE  # times are UTC everywhere, Brussels only when shown
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
    REGISTRATION_PENDING = "registration-pending"  # to the office: a registration to decide
    EID_LINK_REQUESTED = "eid-link-requested"  # to the office: an eID link to decide


def mail_language(language: str | None, default: str | None = DEFAULT_LANGUAGE,
                  **context: Any) -> Language:
    """The language to write in: nl, fr or en ("fr-BE" -> fr); none given, or one the portal
    has no texts for: `default` (the office's language; an unknown one is logged)."""
    return resolve_language(language, default=default, **context)


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


def client_envelope(event: Event, kind: MailKind, sender: str, name: str,
                    email: str) -> Envelope:
    """The headers of mail `kind` to one person, caused by `event`."""
    return Envelope(message_id=message_id(event.event_id, kind), date=event.occurred_at,
                    sender=sender,
                    recipient=str(Address(display_name=name, addr_spec=email)))


def invitation_mail(event: InvitationCreated, *, sender: str, public_url: str,
                    branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """The invitation to the client, in the client's language, with the activation link."""
    name = one_line(event.display_name)
    return render_mail(
        "invitation", client_envelope(event, MailKind.INVITATION, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=activation_link(public_url, event.activation_token), expires=event.expires_at)
