"""Mails about a client's own account: the password-reset link, the "password changed" notice and
the lockout notice with its unlock link.

Texts in NL (the default), FR and EN, like the invitation in domain.py (pure, no I/O).
"""

from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import PasswordChanged, PasswordResetRequested
from libs.contracts.lockout import LoginLockedOut
from services.notifier.domain import MailKind, MailText, _mail, mail_language, one_line, shown_time

PASSWORD_RESET_TEXTS = {
    "nl": MailText(
        subject="Een nieuw wachtwoord voor MyBroker",
        body=(
            "Beste {name},\n\n"
            "Iemand, wellicht uzelf, vroeg een nieuw wachtwoord voor uw toegang tot MyBroker.\n\n"
            "Klik op de volgende link en kies een nieuw wachtwoord:\n{link}\n\n"
            "Deze link is geldig tot {expires} en kan maar één keer gebruikt worden. Daarna "
            "worden al uw andere sessies afgemeld.\n\n"
            "Hebt u niets gevraagd? Dan mag u deze e-mail negeren: uw wachtwoord blijft "
            "ongewijzigd.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Un nouveau mot de passe pour MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Quelqu'un, sans doute vous-même, a demandé un nouveau mot de passe pour votre "
            "accès à MyBroker.\n\n"
            "Cliquez sur le lien suivant et choisissez un nouveau mot de passe :\n{link}\n\n"
            "Ce lien est valable jusqu'au {expires} et ne peut être utilisé qu'une seule fois. "
            "Ensuite, toutes vos autres sessions seront fermées.\n\n"
            "Vous n'avez rien demandé ? Vous pouvez ignorer cet e-mail : votre mot de passe "
            "reste inchangé.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="A new password for MyBroker",
        body=(
            "Dear {name},\n\n"
            "Someone, probably you, asked for a new password for your access to MyBroker.\n\n"
            "Follow this link and choose a new password:\n{link}\n\n"
            "This link is valid until {expires} and can be used only once. Afterwards all "
            "your other sessions are signed out.\n\n"
            "Did you not ask for this? Then you may ignore this e-mail: your password stays "
            "as it is.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

PASSWORD_CHANGED_TEXTS = {
    "nl": MailText(
        subject="Uw wachtwoord voor MyBroker is gewijzigd",
        body=(
            "Beste {name},\n\n"
            "Het wachtwoord van uw toegang tot MyBroker werd zonet gewijzigd. Al uw andere "
            "sessies zijn afgemeld.\n\n"
            "Was u dit niet? Vraag dan meteen een nieuw wachtwoord aan via {link} en "
            "verwittig uw verzekeringsmakelaar.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre mot de passe MyBroker a été modifié",
        body=(
            "Bonjour {name},\n\n"
            "Le mot de passe de votre accès à MyBroker vient d'être modifié. Toutes vos autres "
            "sessions ont été fermées.\n\n"
            "Ce n'était pas vous ? Demandez immédiatement un nouveau mot de passe via {link} "
            "et prévenez votre courtier en assurances.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your MyBroker password was changed",
        body=(
            "Dear {name},\n\n"
            "The password of your access to MyBroker has just been changed. All your other "
            "sessions were signed out.\n\n"
            "Was this not you? Then ask for a new password at once at {link} and tell your "
            "insurance broker.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

LOGIN_LOCKED_TEXTS = {
    "nl": MailText(
        subject="Aanmelden op MyBroker tijdelijk geblokkeerd",
        body=(
            "Beste {name},\n\n"
            "Er werd verschillende keren na elkaar geprobeerd om zich met een verkeerd "
            "wachtwoord aan te melden met uw e-mailadres. Ter bescherming wacht aanmelden "
            "vanaf andere toestellen nu even. Op een toestel waarmee u zich eerder aanmeldde, "
            "werkt uw wachtwoord gewoon.\n\n"
            "Wilt u zich nu aanmelden vanaf een ander toestel? Open deze link en geef uw "
            "wachtwoord:\n{link}\n\n"
            "Deze link is geldig tot {expires} en kan maar één keer gebruikt worden.\n\n"
            "Was u dit niet? Dan probeert iemand anders uw wachtwoord te raden. Kies voor de "
            "zekerheid een nieuw wachtwoord via {forgot}.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Connexion à MyBroker temporairement bloquée",
        body=(
            "Bonjour {name},\n\n"
            "Plusieurs tentatives de connexion avec un mauvais mot de passe ont été faites avec "
            "votre adresse e-mail. Par précaution, la connexion depuis d'autres appareils est "
            "suspendue un moment. Sur un appareil avec lequel vous vous êtes déjà connecté, "
            "votre mot de passe fonctionne normalement.\n\n"
            "Vous voulez vous connecter maintenant depuis un autre appareil ? Ouvrez ce lien et "
            "donnez votre mot de passe :\n{link}\n\n"
            "Ce lien est valable jusqu'au {expires} et ne peut être utilisé qu'une seule fois."
            "\n\n"
            "Ce n'était pas vous ? Quelqu'un essaie alors de deviner votre mot de passe. Par "
            "sécurité, choisissez un nouveau mot de passe via {forgot}.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Signing in to MyBroker is paused for a while",
        body=(
            "Dear {name},\n\n"
            "Someone tried several times in a row to sign in with your e-mail address and a "
            "wrong password. To protect you, signing in from other devices waits for a while. "
            "On a device you signed in with before, your password works as usual.\n\n"
            "Do you want to sign in now from another device? Open this link and give your "
            "password:\n{link}\n\n"
            "This link is valid until {expires} and can be used only once.\n\n"
            "Was this not you? Then someone is trying to guess your password. To be safe, "
            "choose a new password at {forgot}.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


def password_reset_link(public_url: str, token: str) -> str:
    """The web page where the client chooses a new password."""
    return f"{public_url.rstrip('/')}/reset-password?token={quote(token, safe='')}"


def forgot_password_link(public_url: str) -> str:
    """The web page where a new reset link can be asked."""
    return f"{public_url.rstrip('/')}/forgot-password"


def password_reset_mail(
    event: PasswordResetRequested, *, sender: str, public_url: str
) -> EmailMessage:
    """The reset link, in the client's language, with when it stops working."""
    text = PASSWORD_RESET_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(
        name=name, link=password_reset_link(public_url, event.reset_token),
        expires=shown_time(event.expires_at),
    )
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.PASSWORD_RESET, sender, str(recipient), text.subject, body)


def password_changed_mail(event: PasswordChanged, *, sender: str, public_url: str) -> EmailMessage:
    """The security notice after a password change or reset (ASVS 6.2.x: tell the owner)."""
    text = PASSWORD_CHANGED_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(name=name, link=forgot_password_link(public_url))
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.PASSWORD_CHANGED, sender, str(recipient), text.subject, body)


def unlock_link(public_url: str, token: str) -> str:
    """The web page where the owner of a locked address signs in with the mailed link."""
    return f"{public_url.rstrip('/')}/unlock?token={quote(token, safe='')}"


def login_locked_mail(event: LoginLockedOut, *, sender: str, public_url: str) -> EmailMessage:
    """The lockout notice (once per lockout), with the single-use unlock link."""
    text = LOGIN_LOCKED_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(
        name=name, link=unlock_link(public_url, event.unlock_token),
        expires=shown_time(event.expires_at), forgot=forgot_password_link(public_url),
    )
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.LOGIN_LOCKED, sender, str(recipient), text.subject, body)
