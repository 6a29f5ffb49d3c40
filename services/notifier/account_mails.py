"""Mails about a client's own account: the password-reset link, the "password changed" notice and
the lockout notice with its unlock link (pure, no I/O; texts in templates/).
"""

from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import PasswordChanged, PasswordResetRequested
from libs.contracts.lockout import LoginLockedOut
from services.notifier.domain import MailKind, client_envelope, mail_language, one_line
from services.notifier.mail_templates import DEFAULT_BRANDING, Branding, render_mail


def password_reset_link(public_url: str, token: str) -> str:
    """The web page where the client chooses a new password."""
    return f"{public_url.rstrip('/')}/reset-password?token={quote(token, safe='')}"


def forgot_password_link(public_url: str) -> str:
    """The web page where a new reset link can be asked."""
    return f"{public_url.rstrip('/')}/forgot-password"


def password_reset_mail(
    event: PasswordResetRequested, *, sender: str, public_url: str,
    branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The reset link, in the client's language, with when it stops working."""
    name = one_line(event.display_name)
    return render_mail(
        "password_reset",
        client_envelope(event, MailKind.PASSWORD_RESET, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=password_reset_link(public_url, event.reset_token), expires=event.expires_at)


def password_changed_mail(event: PasswordChanged, *, sender: str, public_url: str,
                          branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """The security notice after a password change or reset (ASVS 6.2.x: tell the owner)."""
    name = one_line(event.display_name)
    return render_mail(
        "password_changed",
        client_envelope(event, MailKind.PASSWORD_CHANGED, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=forgot_password_link(public_url))


def unlock_link(public_url: str, token: str) -> str:
    """The web page where the owner of a locked address signs in with the mailed link."""
    return f"{public_url.rstrip('/')}/unlock?token={quote(token, safe='')}"


def login_locked_mail(event: LoginLockedOut, *, sender: str, public_url: str,
                      branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """The lockout notice (once per lockout), with the single-use unlock link."""
    name = one_line(event.display_name)
    return render_mail(
        "login_locked",
        client_envelope(event, MailKind.LOGIN_LOCKED, sender, name, str(event.email)),
        language=mail_language(event.language, branding.default_language,
                               event_id=event.event_id),
        branding=branding, portal_url=public_url, name=name,
        link=unlock_link(public_url, event.unlock_token), expires=event.expires_at,
        forgot=forgot_password_link(public_url))
