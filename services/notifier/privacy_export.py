"""The notifier's part of a client's data export: the mails sent to the account's address (as
sent: subject, state, the whole message), and the mail telling the client the export is ready
(texts in templates/privacy_export_ready.*)."""

import re
from email.headerregistry import Address
from email.message import EmailMessage

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ExportReady, ExportRequested, RecordsPart, StoredRecord
from libs.i18n import format_moment
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.mongo import Document
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.domain import MailKind, mail_language, message_id
from services.notifier.mail_templates import (
    DEFAULT_BRANDING,
    Branding,
    Envelope,
    OfficeBrandingSource,
    render_mail,
)
from services.notifier.store import MAILS, PREFERENCES


def privacy_link(public_url: str) -> str:
    """The client's "My privacy" page (the download needs the client logged in)."""
    return f"{public_url.rstrip('/')}/privacy"


def export_ready_mail(event: ExportReady, *, sender: str, public_url: str,
                      branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the client, in their language, that the data export can be downloaded."""
    language = mail_language(event.language, branding.default_language,
                             event_id=event.event_id)
    envelope = Envelope(message_id=message_id(event.event_id, MailKind.PRIVACY_EXPORT_READY),
                        date=event.occurred_at, sender=sender,
                        recipient=str(Address(addr_spec=event.email)))
    return render_mail("privacy_export_ready", envelope, language=language, branding=branding,
                       portal_url=public_url, expires=format_moment(event.expires_at, language),
                       link=privacy_link(public_url))


class MailsPartBuilder:
    """Reads the mails sent to the account's address, and the account's mail choices, from the
    notifier database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._mails = database[MAILS]
        self._preferences = database[PREFERENCES]

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
        chosen = await self._preferences.find_one({"_id": event.account_id})
        if chosen is not None:  # immediate mail or daily digest per category, the language
            records.append(StoredRecord(record_id=str(chosen["_id"]), kind="mail_preferences",
                                        data=public_fields(chosen)))
        return RecordsPart(records=records), len(records)


class ExportReadyMails:
    """Sends the "data export ready" mail once per export (the delivery's claim)."""

    def __init__(self, delivery: MailDelivery, settings: NotifierSettings,
                 office: OfficeBrandingSource) -> None:
        self._delivery = delivery
        self._settings = settings
        self._office = office

    async def send(self, event: ExportReady) -> None:
        """Mail the client the way to the download, in the office's colours."""
        await self._delivery.deliver(event, export_ready_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding()))
