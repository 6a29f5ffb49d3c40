"""The mail telling a client that the office published new documents: one per batch (pure,
texts in templates/). One batch has one mail per client of the dossier, each with its own
deterministic Message-ID.
"""

from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import DossierMember
from libs.contracts.documents import DocumentsBatchPublished
from services.notifier.domain import MailKind, mail_language, one_line
from services.notifier.mail_templates import DEFAULT_BRANDING, Branding, Envelope, render_mail


def documents_link(public_url: str, dossier_id: str | None) -> str:
    """The client's "My documents" page of the dossier the documents were published in: a
    client of several dossiers sees them whichever dossier was active before."""
    page = f"{public_url.rstrip('/')}/documents"
    return f"{page}?dossier={quote(dossier_id, safe='')}" if dossier_id else page


def documents_message_id(event_id: str, user_id: str) -> str:
    """One Message-ID per batch and client: a resend of the same mail can be dropped."""
    return f"<{event_id}.{MailKind.DOCUMENTS_PUBLISHED.value}.{user_id}@mybroker>"


def documents_published_mail(
    event: DocumentsBatchPublished, member: DossierMember, *, sender: str, public_url: str,
    branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """Tell one client of the dossier, in their language, which documents arrived."""
    name = one_line(member.display_name)
    envelope = Envelope(message_id=documents_message_id(event.event_id, member.user_id),
                        date=event.occurred_at, sender=sender,
                        recipient=str(Address(display_name=name, addr_spec=str(member.email))))
    return render_mail(
        "documents_published", envelope,
        language=mail_language(member.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name, count=event.count,
        titles=[one_line(title) for title in event.titles],
        link=documents_link(public_url, event.dossier_id))
