"""The mail telling a client that the office published new documents: one per batch (pure).

Texts in NL (the default), FR and EN, like the invitation in domain.py. One batch has one mail
per client of the dossier, each with its own deterministic Message-ID.
"""

from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from libs.contracts.auth import DossierMember
from libs.contracts.documents import DocumentsBatchPublished
from services.notifier.domain import MailKind, MailText, _mail, mail_language, one_line

DOCUMENTS_PUBLISHED_TEXTS = {
    "nl": MailText(
        subject="{what} in MyBroker",
        body=(
            "Beste {name},\n\n"
            "Uw verzekeringsmakelaar heeft {what_lower} voor u klaargezet in MyBroker:\n\n"
            "{titles}\n\n"
            "U vindt ze onder \"Mijn documenten\":\n{link}\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="{what} dans MyBroker",
        body=(
            "Bonjour {name},\n\n"
            "Votre courtier en assurances a mis {what_lower} à votre disposition dans "
            "MyBroker :\n\n"
            "{titles}\n\n"
            "Vous les trouverez sous « Mes documents » :\n{link}\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="{what} in MyBroker",
        body=(
            "Dear {name},\n\n"
            "Your insurance broker has put {what_lower} for you in MyBroker:\n\n"
            "{titles}\n\n"
            "You find them under \"My documents\":\n{link}\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

# (one document, several documents); {count} is filled in.
HOW_MANY = {
    "nl": ("Een nieuw document", "{count} nieuwe documenten"),
    "fr": ("Un nouveau document", "{count} nouveaux documents"),
    "en": ("A new document", "{count} new documents"),
}


def documents_link(public_url: str, dossier_id: str | None) -> str:
    """The client's "My documents" page of the dossier the documents were published in: a
    client of several dossiers sees them whichever dossier was active before."""
    page = f"{public_url.rstrip('/')}/documents"
    return f"{page}?dossier={quote(dossier_id, safe='')}" if dossier_id else page


def documents_message_id(event_id: str, user_id: str) -> str:
    """One Message-ID per batch and client: a resend of the same mail can be dropped."""
    return f"<{event_id}.{MailKind.DOCUMENTS_PUBLISHED.value}.{user_id}@mybroker>"


def documents_published_mail(
    event: DocumentsBatchPublished, member: DossierMember, *, sender: str, public_url: str
) -> EmailMessage:
    """Tell one client of the dossier, in their language, which documents arrived."""
    language = mail_language(member.language)
    text = DOCUMENTS_PUBLISHED_TEXTS[language]
    one, several = HOW_MANY[language]
    what = one if event.count == 1 else several.format(count=event.count)
    name = one_line(member.display_name)
    titles = "\n".join(f"- {one_line(title)}" for title in event.titles)
    body = text.body.format(name=name, what_lower=what[0].lower() + what[1:], titles=titles,
                            link=documents_link(public_url, event.dossier_id))
    recipient = Address(display_name=name, addr_spec=str(member.email))
    mail = _mail(event, MailKind.DOCUMENTS_PUBLISHED, sender, str(recipient),
                 text.subject.format(what=what), body)
    del mail["Message-ID"]  # one per recipient, not one per event
    mail["Message-ID"] = documents_message_id(event.event_id, member.user_id)
    return mail
