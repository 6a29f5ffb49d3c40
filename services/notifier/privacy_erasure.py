"""The notifier's part in privacy: erasing a dossier's mails and SMS, forgetting an erased
account's mails, and telling the office that a client deleted their own login.

Mails name their dossier in the record or in the text; both are found (DeleteMentioning). An
erased account's mails are found by their recipient address (`auth.account.erased`).
"""

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import AccountErased, ErasureCompleted, LoginDeleted
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteMentioning,
    ErasureParticipant,
    ErasureRule,
    HoldsNoDossierData,
    subscribe_erasure,
)
from libs.servicekit.export_parts import EXPORT_PARTS
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.retention import RetentionJob, schedule_retention
from libs.servicekit.runtime import ServiceRuntime
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.domain import MailText, mail_language, one_line
from services.notifier.sms_store import SMS_MESSAGES, SMS_RATE_WINDOWS
from services.notifier.store import MAILS, REQUESTS

log = get_logger(__name__)
SERVICE = "notifier"
LOGIN_DELETED = "login-deleted"
ERASURE_RULES: dict[str, ErasureRule] = {
    MAILS: DeleteMentioning(),
    REQUESTS: DeleteMentioning(),
    SMS_MESSAGES: DeleteMentioning(),
    SMS_RATE_WINDOWS: HoldsNoDossierData("SMS counts per number, forgotten after two days"),
}

LOGIN_DELETED_TEXTS = {
    "nl": MailText(
        subject="Een klant verwijderde zijn toegang tot MyBroker",
        body=(
            "Beste collega,\n\n"
            "{name} ({email}) heeft zijn toegang tot MyBroker zelf verwijderd. Zijn "
            "aanmelding, sessies en voorkeuren zijn gewist; de dossiers ({dossiers}) blijven "
            "bij het kantoor.\n\n"
            "Moet de klant nog toegang krijgen, nodig hem dan opnieuw uit.\n"
        ),
    ),
    "fr": MailText(
        subject="Un client a supprimé son accès à MyBroker",
        body=(
            "Chers collègues,\n\n"
            "{name} ({email}) a supprimé lui-même son accès à MyBroker. Sa connexion, ses "
            "sessions et ses préférences sont effacées ; les dossiers ({dossiers}) restent au "
            "bureau.\n\n"
            "Si le client doit encore avoir accès, invitez-le à nouveau.\n"
        ),
    ),
    "en": MailText(
        subject="A client deleted their access to MyBroker",
        body=(
            "Dear colleague,\n\n"
            "{name} ({email}) deleted their own access to MyBroker. Their login, sessions "
            "and preferences are erased; the dossiers ({dossiers}) stay with the office.\n\n"
            "Should the client still have access, invite them again.\n"
        ),
    ),
}


def login_deleted_mail(event: LoginDeleted, *, sender: str, office: str,
                       language: str) -> EmailMessage:
    """Tell the office that a client deleted their own login (the dossiers stay)."""
    text = LOGIN_DELETED_TEXTS[mail_language(language)]
    body = text.body.format(name=one_line(event.display_name), email=one_line(event.email),
                            dossiers=", ".join(event.dossier_ids) or "-")
    message = EmailMessage()
    message["Message-ID"] = f"<{event.event_id}.{LOGIN_DELETED}@mybroker>"
    message["Date"] = format_datetime(event.occurred_at)
    message["From"] = sender
    message["To"] = office
    message["Subject"] = text.subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(body)
    return message


class AccountForgetting:
    """The notifier's side of an account's erasure and of a client deleting their login."""

    def __init__(self, database: AsyncDatabase[Document], delivery: MailDelivery,
                 settings: NotifierSettings) -> None:
        self._mails = database[MAILS]
        self._delivery = delivery
        self._settings = settings

    async def forget_account(self, event: AccountErased) -> None:
        """Delete the mails sent to the erased account's address."""
        address = re.escape(event.email)
        result = await self._mails.delete_many({"recipient": {"$regex": f"(^|<){address}>?$"}})
        log.info("mails of an erased account deleted", user_id=event.user_id,
                 mails=result.deleted_count)

    async def tell_office(self, event: LoginDeleted) -> None:
        """Mail the office that a client deleted their login (once per event)."""
        await self._delivery.deliver(event, login_deleted_mail(
            event, sender=self._settings.from_email, office=self._settings.office_email,
            language=self._settings.office_language))


@dataclass
class NotifierPrivacy:
    participant: ErasureParticipant
    retention: RetentionJob

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: NotifierSettings,
         delivery: MailDelivery) -> tuple[NotifierPrivacy, OutboxRelay]:
    """Subscribe the notifier's privacy part; the relay of its erasure reports (the notifier
    publishes nothing else)."""
    # The service's only outbox: the erasure's reports and the data export's part reports.
    relay = OutboxRelay(broker, database, [ERASURE_REPORTS, EXPORT_PARTS])
    participant = ErasureParticipant(database, SERVICE, ERASURE_RULES, notify=relay.notify)
    forgetting = AccountForgetting(database, delivery, settings)
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureCompleted,))
    subscribe_erasure(broker, participant)
    subscribe_event(broker, consumer=SERVICE, purpose="erased-accounts",
                    event_type=AccountErased, handle=forgetting.forget_account,
                    prefetch=settings.event_prefetch)
    subscribe_event(broker, consumer=SERVICE, purpose="login-deletions",
                    event_type=LoginDeleted, handle=forgetting.tell_office,
                    prefetch=settings.event_prefetch)
    return NotifierPrivacy(participant, RetentionJob(database, SERVICE, (),
                                                     settings.retention_days)), relay
