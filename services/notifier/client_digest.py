"""The client's daily digest: one mail listing every mail of the day their preferences held back
(see preferences.py), rendered from templates/client_digest.*."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage

from libs.i18n import format_day
from services.notifier.domain import mail_language, one_line
from services.notifier.mail_templates import (
    DEFAULT_BRANDING,
    Branding,
    Envelope,
    render_mail,
)


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
    sender: str, public_url: str, at: datetime, branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The day's digest for one client, in their language."""
    shown_name = one_line(name)
    chosen = mail_language(language, branding.default_language, mail_id=mail_id)
    base = public_url.rstrip("/")
    envelope = Envelope(message_id=f"<{mail_id}@mybroker>", date=at, sender=sender,
                        recipient=str(Address(display_name=shown_name, addr_spec=email)))
    shown = [HeldItem(one_line(item.subject), one_line(item.dossier_id)
                      if item.dossier_id else None) for item in items]
    return render_mail(
        "client_digest", envelope, language=chosen, branding=branding, portal_url=public_url,
        name=shown_name, day=format_day(day, chosen), items=shown, link=f"{base}/",
        settings_link=f"{base}/notifications")
