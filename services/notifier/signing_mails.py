"""The signing mails (pure): a signer is asked to sign (and reminded), the signers hear that the
document is signed, the office that everyone signed; the office hears who refused which
document (the reason stays in the office's pages), and the signers who had not signed yet that
the office cancelled the request. NL (the default), FR and EN; one mail per
account and event, each with its own deterministic Message-ID.

The link leads into the portal: after the login, straight to the signature page of the
document, in its dossier.
"""

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

from libs.contracts.envelope import Event
from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
    SignerRecipient,
)
from services.notifier.domain import MailText, mail_language, one_line

INVITED = "signing-invitation"
REMINDED = "signing-reminder"
SIGNED = "signing-completed"
OFFICE_SIGNED = "signing-office"
OFFICE_REFUSED = "signing-refused"
CANCELLED = "signing-cancelled"

SIGN_TEXTS = {
    "nl": MailText(
        subject="Document te ondertekenen in MyBroker: {title}",
        body=("Beste {name},\n\n"
              "Uw verzekeringsmakelaar vraagt u het document \"{title}\" te ondertekenen in "
              "MyBroker.{due}\n{message}\n"
              "Meld u aan met uw e-mailadres en wachtwoord; de link brengt u meteen bij het "
              "document:\n{link}\n\n"
              "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n")),
    "fr": MailText(
        subject="Document à signer dans MyBroker : {title}",
        body=("Bonjour {name},\n\n"
              "Votre courtier en assurances vous demande de signer le document « {title} » "
              "dans MyBroker.{due}\n{message}\n"
              "Connectez-vous avec votre adresse e-mail et votre mot de passe ; le lien vous "
              "mène directement au document :\n{link}\n\n"
              "Meilleures salutations,\nVotre courtier en assurances\n")),
    "en": MailText(
        subject="Document to sign in MyBroker: {title}",
        body=("Dear {name},\n\n"
              "Your insurance broker asks you to sign the document \"{title}\" in "
              "MyBroker.{due}\n{message}\n"
              "Log in with your e-mail address and password; the link takes you straight to "
              "the document:\n{link}\n\n"
              "Kind regards,\nYour insurance broker\n")),
}
REMINDER_SUBJECT = {"nl": "Herinnering: {subject}", "fr": "Rappel : {subject}",
                    "en": "Reminder: {subject}"}
DUE = {"nl": " Gelieve te ondertekenen voor {day}.", "fr": " Merci de signer avant le {day}.",
       "en": " Please sign before {day}."}
MESSAGE = {"nl": "Bericht van uw makelaar:\n{text}\n",
           "fr": "Message de votre courtier :\n{text}\n",
           "en": "Message from your broker:\n{text}\n"}

SIGNED_TEXTS = {
    "nl": MailText(
        subject="Document ondertekend: {title}",
        body=("Beste {name},\n\n"
              "Het document \"{title}\" is door iedereen ondertekend. Het ondertekende document "
              "staat ter beschikking in MyBroker, in afwachting van verdere behandeling door uw "
              "makelaar:\n{link}\n\n"
              "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n")),
    "fr": MailText(
        subject="Document signé : {title}",
        body=("Bonjour {name},\n\n"
              "Le document « {title} » a été signé par tous les signataires. Le document signé "
              "est disponible dans MyBroker, dans l'attente du traitement par votre "
              "courtier :\n{link}\n\n"
              "Meilleures salutations,\nVotre courtier en assurances\n")),
    "en": MailText(
        subject="Document signed: {title}",
        body=("Dear {name},\n\n"
              "Everyone has signed the document \"{title}\". The signed document is available "
              "in MyBroker and awaits further processing by your broker:\n{link}\n\n"
              "Kind regards,\nYour insurance broker\n")),
}

OFFICE_TEXTS = {
    "nl": MailText(
        subject="Ondertekend door iedereen: {title} (dossier {dossier})",
        body=("Het document \"{title}\" van dossier {dossier} is door iedereen ondertekend. "
              "De verzegelde PDF staat bij de documenten van het dossier en wacht op uw "
              "verwerking:\n{link}\n")),
    "fr": MailText(
        subject="Signé par tous : {title} (dossier {dossier})",
        body=("Le document « {title} » du dossier {dossier} a été signé par tous. Le PDF scellé "
              "se trouve parmi les documents du dossier et attend votre traitement :\n{link}\n")),
    "en": MailText(
        subject="Signed by everyone: {title} (dossier {dossier})",
        body=("Everyone has signed the document \"{title}\" of dossier {dossier}. The sealed PDF "
              "is among the dossier's documents and awaits your processing:\n{link}\n")),
}


REFUSED_TEXTS = {
    "nl": MailText(
        subject="Ondertekening geweigerd: {title} (dossier {dossier})",
        body=("{signer} heeft geweigerd het document \"{title}\" van dossier {dossier} te "
              "ondertekenen. De reden staat bij het verzoek in MyBroker:\n{link}\n")),
    "fr": MailText(
        subject="Signature refusée : {title} (dossier {dossier})",
        body=("{signer} a refusé de signer le document « {title} » du dossier {dossier}. Le "
              "motif figure avec la demande dans MyBroker :\n{link}\n")),
    "en": MailText(
        subject="Signature refused: {title} (dossier {dossier})",
        body=("{signer} refused to sign the document \"{title}\" of dossier {dossier}. The "
              "reason is shown with the request in MyBroker:\n{link}\n")),
}

CANCELLED_TEXTS = {
    "nl": MailText(
        subject="Ondertekening geannuleerd: {title}",
        body=("Beste {name},\n\n"
              "Uw verzekeringsmakelaar heeft het verzoek om het document \"{title}\" te "
              "ondertekenen geannuleerd. U hoeft dit document niet meer te ondertekenen.\n\n"
              "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n")),
    "fr": MailText(
        subject="Signature annulée : {title}",
        body=("Bonjour {name},\n\n"
              "Votre courtier en assurances a annulé la demande de signature du document "
              "« {title} ». Vous ne devez plus signer ce document.\n\n"
              "Meilleures salutations,\nVotre courtier en assurances\n")),
    "en": MailText(
        subject="Signature cancelled: {title}",
        body=("Dear {name},\n\n"
              "Your insurance broker cancelled the request to sign the document \"{title}\". "
              "You no longer need to sign this document.\n\n"
              "Kind regards,\nYour insurance broker\n")),
}


def signing_link(public_url: str, request_id: str, dossier_id: str | None) -> str:
    """The signature page in its dossier (the login page comes first and leads back here)."""
    page = f"{public_url.rstrip('/')}/signing/{quote(request_id, safe='')}"
    return f"{page}?dossier={quote(dossier_id, safe='')}" if dossier_id else page


def _mail(event: Event, kind: str, user_id: str, sender: str, recipient: str, subject: str,
          body: str) -> EmailMessage:
    message = EmailMessage()
    # One Message-ID per event, kind and account: a redelivered event is not mailed twice.
    message["Message-ID"] = f"<{event.event_id}.{kind}.{user_id}@mybroker>"
    message["Date"] = format_datetime(event.occurred_at)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(body)
    return message


def _to(recipient: SignerRecipient) -> str:
    return str(Address(display_name=one_line(recipient.display_name),
                       addr_spec=recipient.email))


def signer_invited_mail(event: SignerInvited, recipient: SignerRecipient, *, sender: str,
                        public_url: str) -> EmailMessage:
    """Ask one account of a signer to sign (or remind them), in their language."""
    language = mail_language(recipient.language)
    text = SIGN_TEXTS[language]
    title = one_line(event.title)
    due = DUE[language].format(day=event.due_date.strftime("%d/%m/%Y")) if event.due_date else ""
    message = MESSAGE[language].format(text=event.note.strip()) if event.note else ""
    subject = text.subject.format(title=title)
    if event.reminder:
        subject = REMINDER_SUBJECT[language].format(subject=subject)
    body = text.body.format(
        name=one_line(recipient.display_name), title=title, due=due, message=message,
        link=signing_link(public_url, event.signature_request_id, event.dossier_id))
    return _mail(event, REMINDED if event.reminder else INVITED, recipient.user_id, sender,
                 _to(recipient), subject, body)


def signature_completed_mail(event: SignatureCompleted, recipient: SignerRecipient, *,
                             sender: str, public_url: str) -> EmailMessage:
    """Tell one signer's account that everyone signed, with the way to the signed document."""
    language = mail_language(recipient.language)
    text = SIGNED_TEXTS[language]
    title = one_line(event.title)
    body = text.body.format(
        name=one_line(recipient.display_name), title=title,
        link=signing_link(public_url, event.signature_request_id, event.dossier_id))
    return _mail(event, SIGNED, recipient.user_id, sender, _to(recipient),
                 text.subject.format(title=title), body)


def office_completed_mail(event: SignatureCompleted, *, sender: str, office: str,
                          language: str, public_url: str) -> EmailMessage:
    """Tell the office that a document is signed by everyone and awaits its processing."""
    text = OFFICE_TEXTS[mail_language(language)]
    title = one_line(event.title)
    dossier = one_line(event.dossier_id or "")
    link = f"{public_url.rstrip('/')}/admin/signing"
    return _mail(event, OFFICE_SIGNED, "office", sender, office,
                 text.subject.format(title=title, dossier=dossier),
                 text.body.format(title=title, dossier=dossier, link=link))


def office_refused_mail(event: SignatureRefused, *, sender: str, office: str, language: str,
                        public_url: str) -> EmailMessage:
    """Tell the office who refused to sign which document; the reason is not mailed (it is
    the signer's own words: the office reads it in its pages)."""
    text = REFUSED_TEXTS[mail_language(language)]
    title = one_line(event.title)
    dossier = one_line(event.dossier_id or "")
    signer = one_line(event.signer_name) or event.person_id
    link = f"{public_url.rstrip('/')}/admin/signing?state=refused"
    return _mail(event, OFFICE_REFUSED, "office", sender, office,
                 text.subject.format(title=title, dossier=dossier),
                 text.body.format(signer=signer, title=title, dossier=dossier, link=link))


def signature_cancelled_mail(event: SignatureCancelled, recipient: SignerRecipient, *,
                             sender: str) -> EmailMessage:
    """Tell one account of a signer who had not signed that the request was cancelled."""
    text = CANCELLED_TEXTS[mail_language(recipient.language)]
    title = one_line(event.title)
    return _mail(event, CANCELLED, recipient.user_id, sender, _to(recipient),
                 text.subject.format(title=title),
                 text.body.format(name=one_line(recipient.display_name), title=title))
