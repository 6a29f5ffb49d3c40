"""The notifier's part of a client's data export: the mails sent to the account's address (as
sent: subject, state, the whole message), and the mail telling the client the export is ready."""

import re
from email.headerregistry import Address
from email.message import EmailMessage

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ExportReady, ExportRequested, RecordsPart, StoredRecord
from libs.i18n import as_language, format_moment
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.mongo import Document
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.domain import MailKind, MailText, _mail, mail_language
from services.notifier.store import MAILS

EXPORT_READY_TEXTS = {
    "nl": MailText(
        subject="Uw gegevens uit MyBroker staan klaar",
        body=(
            "Beste,\n\n"
            "U vroeg om al uw gegevens uit MyBroker. Het archief staat klaar en u kunt het "
            "downloaden tot {expires} op de pagina \"Mijn privacy\":\n{link}\n\n"
            "Daarna wordt het gewist. Vroeg u dit niet zelf, neem dan contact op met uw "
            "verzekeringsmakelaar.\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Vos données de MyBroker sont prêtes",
        body=(
            "Bonjour,\n\n"
            "Vous avez demandé toutes vos données de MyBroker. L'archive est prête et vous "
            "pouvez la télécharger jusqu'au {expires} sur la page « Ma vie privée » :\n"
            "{link}\n\n"
            "Elle sera ensuite effacée. Si vous n'avez pas fait cette demande, contactez votre "
            "courtier en assurances.\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your data from MyBroker is ready",
        body=(
            "Hello,\n\n"
            "You asked for all your data from MyBroker. The archive is ready and you can "
            "download it until {expires} on the \"My privacy\" page:\n{link}\n\n"
            "It is deleted after that. If you did not ask for this, contact your insurance "
            "broker.\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


def privacy_link(public_url: str) -> str:
    """The client's "My privacy" page (the download needs the client logged in)."""
    return f"{public_url.rstrip('/')}/privacy"


def export_ready_mail(event: ExportReady, *, sender: str, public_url: str) -> EmailMessage:
    """Tell the client, in their language, that the data export can be downloaded."""
    language = mail_language(event.language)
    text = EXPORT_READY_TEXTS[language]
    body = text.body.format(
        expires=format_moment(event.expires_at, as_language(language) or "nl"),
        link=privacy_link(public_url))
    recipient = Address(addr_spec=event.email)
    return _mail(event, MailKind.PRIVACY_EXPORT_READY, sender, str(recipient), text.subject,
                 body)


class MailsPartBuilder:
    """Reads the mails sent to the account's address from the notifier database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._mails = database[MAILS]

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The mails part of `event`'s export."""
        address = event.email.lower()
        records: list[StoredRecord] = []
        cursor = self._mails.find({"recipient": {"$regex": re.escape(event.email)}})
        async for stored in cursor.sort("_id", 1):
            if address not in str(stored.get("recipient", "")).lower():
                continue  # the final filter: only the account's own mails
            records.append(StoredRecord(record_id=str(stored["_id"]), kind="mail",
                                        data=public_fields(stored)))
        return RecordsPart(records=records), len(records)


class ExportReadyMails:
    """Sends the "data export ready" mail once per export (the delivery's claim)."""

    def __init__(self, delivery: MailDelivery, settings: NotifierSettings) -> None:
        self._delivery = delivery
        self._settings = settings

    async def send(self, event: ExportReady) -> None:
        """Mail the client the way to the download."""
        await self._delivery.deliver(event, export_ready_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url))
