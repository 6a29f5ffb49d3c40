"""Mails of the self-registration and of the eID link: confirm your address, the broker's
decision, the eID linked or refused; and the office's: a registration or an eID link waits for
its decision (pure, texts in templates/)."""

from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    EidLinkRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
    RegistrationPending,
)
from services.notifier.domain import (
    MailKind,
    admin_link,
    client_envelope,
    mail_language,
    message_id,
    one_line,
)
from services.notifier.mail_templates import DEFAULT_BRANDING, Branding, Envelope, render_mail


def confirmation_link(public_url: str, token: str) -> str:
    """The web page where a registered person confirms the address and chooses a password."""
    return f"{public_url.rstrip('/')}/register/confirm?token={quote(token, safe='')}"


def login_link(public_url: str) -> str:
    """The portal's login page."""
    return f"{public_url.rstrip('/')}/login"


def registration_confirmation_mail(
    event: RegistrationConfirmationRequested, *, sender: str, public_url: str,
    branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The link to confirm a registration, in the person's language."""
    name = one_line(event.display_name)
    return render_mail(
        "registration_confirmation",
        client_envelope(event, MailKind.REGISTRATION_CONFIRMATION, sender, name,
                        str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=confirmation_link(public_url, event.confirmation_token), expires=event.expires_at)


def registration_decision_mail(
    event: RegistrationDecided, *, sender: str, public_url: str,
    branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The broker's decision: approved (with the login link) or refused (with the reason)."""
    name = one_line(event.display_name)
    envelope = client_envelope(event, MailKind.REGISTRATION_DECISION, sender, name,
                               str(event.email))
    language = mail_language(event.language, branding.default_language, event_id=event.event_id)
    if event.approved:
        return render_mail("registration_approved", envelope, language=language,
                           branding=branding, portal_url=public_url, name=name,
                           link=login_link(public_url))
    return render_mail("registration_refused", envelope, language=language, branding=branding,
                       portal_url=public_url, name=name, reason=(event.reason or "").strip())


def eid_linked_mail(event: EidLinked, *, sender: str, public_url: str,
                    branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """The confirmation that the client's eID now logs in."""
    name = one_line(event.display_name)
    return render_mail(
        "eid_linked", client_envelope(event, MailKind.EID_LINKED, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=f"{public_url.rstrip('/')}/eid")


def eid_link_refused_mail(event: EidLinkRefused, *, sender: str, public_url: str,
                          branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """The broker's refusal to link an eID, with the reason (the password still logs in)."""
    name = one_line(event.display_name)
    return render_mail(
        "eid_link_refused",
        client_envelope(event, MailKind.EID_LINK_REFUSED, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name, reason=event.reason.strip(),
        link=login_link(public_url))


def _office_envelope(event: RegistrationPending | EidLinkRequested, kind: MailKind,
                     sender: str, office: str) -> Envelope:
    return Envelope(message_id=message_id(event.event_id, kind), date=event.occurred_at,
                    sender=sender, recipient=office)


def registration_pending_mail(event: RegistrationPending, *, sender: str, office: str,
                              language: str, public_url: str,
                              branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the office that a person confirmed their registration and awaits its approval."""
    return render_mail(
        "registration_pending",
        _office_envelope(event, MailKind.REGISTRATION_PENDING, sender, office),
        language=mail_language(language, branding.default_language, event_id=event.event_id),
        branding=branding, portal_url=public_url, person=one_line(event.display_name),
        email=str(event.email), link=admin_link(public_url))


def eid_link_requested_mail(event: EidLinkRequested, *, sender: str, office: str,
                            language: str, public_url: str,
                            branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the office that an eID holder asks to link the card to an account."""
    return render_mail(
        "eid_link_requested",
        _office_envelope(event, MailKind.EID_LINK_REQUESTED, sender, office),
        language=mail_language(language, branding.default_language, event_id=event.event_id),
        branding=branding, portal_url=public_url, person=one_line(event.display_name),
        email=str(event.email), link=admin_link(public_url))
