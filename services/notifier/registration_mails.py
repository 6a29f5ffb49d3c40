"""Mails of the self-registration: confirm your address, and the broker's decision (pure)."""

from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    RegistrationConfirmationRequested,
    RegistrationDecided,
)
from services.notifier.domain import MailKind, MailText, _mail, mail_language, one_line, shown_time

CONFIRMATION_TEXTS = {
    "nl": MailText(
        subject="Bevestig uw inschrijving bij MyBroker",
        body=(
            "Beste {name},\n\n"
            "U schreef zich in voor MyBroker, de klantenzone van uw verzekeringsmakelaar.\n\n"
            "Bevestig uw e-mailadres en kies een wachtwoord via deze link:\n{link}\n\n"
            "De link is geldig tot {expires}. Daarna beoordeelt uw makelaar uw aanvraag.\n\n"
            "Hebt u zich niet ingeschreven? Dan mag u deze e-mail negeren.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Confirmez votre inscription à MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Vous vous êtes inscrit à MyBroker, l'espace client de votre courtier en "
            "assurances.\n\n"
            "Confirmez votre adresse e-mail et choisissez un mot de passe via ce lien :\n"
            "{link}\n\n"
            "Le lien est valable jusqu'au {expires}. Ensuite, votre courtier examine votre "
            "demande.\n\n"
            "Vous ne vous êtes pas inscrit ? Vous pouvez ignorer cet e-mail.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Confirm your registration with MyBroker",
        body=(
            "Dear {name},\n\n"
            "You registered for MyBroker, the client zone of your insurance broker.\n\n"
            "Confirm your e-mail address and choose a password with this link:\n{link}\n\n"
            "The link is valid until {expires}. Then your broker reviews your request.\n\n"
            "Did you not register? Then you may ignore this e-mail.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

APPROVED_TEXTS = {
    "nl": MailText(
        subject="Uw toegang tot MyBroker is goedgekeurd",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar heeft uw inschrijving goedgekeurd. U kunt zich nu "
            "aanmelden met uw e-mailadres en wachtwoord:\n{link}\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre accès à MyBroker est approuvé",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances a approuvé votre inscription. Vous pouvez maintenant "
            "vous connecter avec votre adresse e-mail et votre mot de passe :\n{link}\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your access to MyBroker is approved",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker approved your registration. You can now log in with your "
            "e-mail address and password:\n{link}\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

REFUSED_TEXTS = {
    "nl": MailText(
        subject="Uw inschrijving bij MyBroker",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar kon uw inschrijving niet goedkeuren, met deze reden:\n\n"
            "{reason}\n\n"
            "Hebt u vragen? Neem dan contact op met uw makelaar.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre inscription à MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances n'a pas pu approuver votre inscription, pour cette "
            "raison :\n\n{reason}\n\n"
            "Des questions ? Contactez votre courtier.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your registration with MyBroker",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker could not approve your registration, for this reason:\n\n"
            "{reason}\n\n"
            "Any questions? Please contact your broker.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


def confirmation_link(public_url: str, token: str) -> str:
    """The web page where a registered person confirms the address and chooses a password."""
    return f"{public_url.rstrip('/')}/register/confirm?token={quote(token, safe='')}"


def registration_confirmation_mail(
    event: RegistrationConfirmationRequested, *, sender: str, public_url: str
) -> EmailMessage:
    """The link to confirm a registration, in the person's language."""
    text = CONFIRMATION_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(name=name, link=confirmation_link(public_url, event.confirmation_token),
                            expires=shown_time(event.expires_at))
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.REGISTRATION_CONFIRMATION, sender, str(recipient),
                 text.subject, body)


def registration_decision_mail(
    event: RegistrationDecided, *, sender: str, public_url: str
) -> EmailMessage:
    """The broker's decision: approved (with the login link) or refused (with the reason)."""
    language = mail_language(event.language)
    name = one_line(event.display_name)
    if event.approved:
        text = APPROVED_TEXTS[language]
        body = text.body.format(name=name, link=f"{public_url.rstrip('/')}/login")
    else:
        text = REFUSED_TEXTS[language]
        body = text.body.format(name=name, reason=(event.reason or "").strip())
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.REGISTRATION_DECISION, sender, str(recipient), text.subject,
                 body)


EID_LINKED_TEXTS = {
    "nl": MailText(
        subject="Uw eID is gekoppeld aan MyBroker",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar heeft uw elektronische identiteitskaart gekoppeld aan uw "
            "toegang tot MyBroker. Voortaan kunt u zich ook aanmelden met uw eID:\n{link}\n\n"
            "Hebt u dit niet gevraagd? Verwittig dan meteen uw makelaar.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre eID est liée à MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances a lié votre carte d'identité électronique à votre "
            "accès à MyBroker. Vous pouvez désormais aussi vous connecter avec votre eID :\n"
            "{link}\n\n"
            "Vous n'avez rien demandé ? Prévenez immédiatement votre courtier.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your eID is linked to MyBroker",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker linked your electronic identity card to your access to "
            "MyBroker. From now on you can also log in with your eID:\n{link}\n\n"
            "Did you not ask for this? Then tell your broker at once.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


def eid_linked_mail(event: EidLinked, *, sender: str, public_url: str) -> EmailMessage:
    """The confirmation that the client's eID now logs in."""
    text = EID_LINKED_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(name=name, link=f"{public_url.rstrip('/')}/eid")
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.EID_LINKED, sender, str(recipient), text.subject, body)


EID_LINK_REFUSED_TEXTS = {
    "nl": MailText(
        subject="Uw eID werd niet gekoppeld aan MyBroker",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar heeft uw vraag om uw elektronische identiteitskaart te "
            "koppelen aan MyBroker geweigerd, om deze reden:\n\n{reason}\n\n"
            "U kunt zich verder aanmelden met uw e-mailadres en wachtwoord. Hebt u vragen? "
            "Neem dan contact op met uw makelaar.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre eID n'a pas été liée à MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances a refusé de lier votre carte d'identité électronique "
            "à MyBroker, pour la raison suivante :\n\n{reason}\n\n"
            "Vous pouvez toujours vous connecter avec votre adresse e-mail et votre mot de "
            "passe. Des questions ? Contactez votre courtier.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your eID was not linked to MyBroker",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker refused to link your electronic identity card to MyBroker, "
            "for this reason:\n\n{reason}\n\n"
            "You can still log in with your e-mail address and password. Any questions? "
            "Contact your broker.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


def eid_link_refused_mail(event: EidLinkRefused, *, sender: str) -> EmailMessage:
    """The broker's refusal to link an eID, with the reason."""
    text = EID_LINK_REFUSED_TEXTS[mail_language(event.language)]
    name = one_line(event.display_name)
    body = text.body.format(name=name, reason=event.reason.strip())
    recipient = Address(display_name=name, addr_spec=str(event.email))
    return _mail(event, MailKind.EID_LINK_REFUSED, sender, str(recipient), text.subject, body)
