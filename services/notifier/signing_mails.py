"""The signing mails (pure): a signer is asked to sign (and reminded), the signers hear that the
document is signed, the office that everyone signed; the office hears who refused which
document (the reason stays in the office's pages), and the signers who had not signed yet that
the office cancelled the request. NL (the default), FR and EN; one mail per account and event,
each with its own deterministic Message-ID (texts in templates/).

The link leads into the portal: after the login, straight to the signature page of the
document, in its dossier.
"""

from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.envelope import Event
from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
    SignerRecipient,
)
from services.notifier.domain import mail_language, one_line
from services.notifier.mail_templates import DEFAULT_BRANDING, Branding, Envelope, render_mail

INVITED = "signing-invitation"
REMINDED = "signing-reminder"
SIGNED = "signing-completed"
OFFICE_SIGNED = "signing-office"
OFFICE_REFUSED = "signing-refused"
CANCELLED = "signing-cancelled"

def signing_link(public_url: str, request_id: str, dossier_id: str | None) -> str:
    """The signature page in its dossier (the login page comes first and leads back here)."""
    page = f"{public_url.rstrip('/')}/signing/{quote(request_id, safe='')}"
    return f"{page}?dossier={quote(dossier_id, safe='')}" if dossier_id else page


def _envelope(event: Event, kind: str, user_id: str, sender: str, recipient: str) -> Envelope:
    # One Message-ID per event, kind and account: a redelivered event is not mailed twice.
    return Envelope(message_id=f"<{event.event_id}.{kind}.{user_id}@mybroker>",
                    date=event.occurred_at, sender=sender, recipient=recipient)


def _to(recipient: SignerRecipient) -> str:
    return str(Address(display_name=one_line(recipient.display_name),
                       addr_spec=recipient.email))


def signer_invited_mail(event: SignerInvited, recipient: SignerRecipient, *, sender: str,
                        public_url: str, branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Ask one account of a signer to sign (or remind them), in their language."""
    return render_mail(
        "signing_request",
        _envelope(event, REMINDED if event.reminder else INVITED, recipient.user_id, sender,
                  _to(recipient)),
        language=mail_language(recipient.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=one_line(recipient.display_name),
        title=one_line(event.title), reminder=bool(event.reminder), due_date=event.due_date,
        note=(event.note or "").strip(),
        link=signing_link(public_url, event.signature_request_id, event.dossier_id))


def signature_completed_mail(event: SignatureCompleted, recipient: SignerRecipient, *,
                             sender: str, public_url: str,
                             branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell one signer's account that everyone signed, with the way to the signed document."""
    return render_mail(
        "signing_completed", _envelope(event, SIGNED, recipient.user_id, sender, _to(recipient)),
        language=mail_language(recipient.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=one_line(recipient.display_name),
        title=one_line(event.title),
        link=signing_link(public_url, event.signature_request_id, event.dossier_id))


def office_completed_mail(event: SignatureCompleted, *, sender: str, office: str,
                          language: str, public_url: str,
                          branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the office that a document is signed by everyone and awaits its processing."""
    return render_mail(
        "signing_office", _envelope(event, OFFICE_SIGNED, "office", sender, office),
        language=mail_language(language, branding.default_language, event_id=event.event_id),
        branding=branding, portal_url=public_url, title=one_line(event.title),
        dossier=one_line(event.dossier_id or ""), link=f"{public_url.rstrip('/')}/admin/signing")


def office_refused_mail(event: SignatureRefused, *, sender: str, office: str, language: str,
                        public_url: str, branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the office who refused to sign which document; the reason is not mailed (it is
    the signer's own words: the office reads it in its pages)."""
    return render_mail(
        "signing_refused", _envelope(event, OFFICE_REFUSED, "office", sender, office),
        language=mail_language(language, branding.default_language, event_id=event.event_id),
        branding=branding, portal_url=public_url, title=one_line(event.title),
        dossier=one_line(event.dossier_id or ""),
        signer=one_line(event.signer_name) or event.person_id,
        link=f"{public_url.rstrip('/')}/admin/signing?state=refused")


def signature_cancelled_mail(event: SignatureCancelled, recipient: SignerRecipient, *,
                             sender: str, public_url: str,
                             branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell one account of a signer who had not signed that the request was cancelled."""
    return render_mail(
        "signing_cancelled", _envelope(event, CANCELLED, recipient.user_id, sender,
                                       _to(recipient)),
        language=mail_language(recipient.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=one_line(recipient.display_name),
        title=one_line(event.title), link=f"{public_url.rstrip('/')}/")
