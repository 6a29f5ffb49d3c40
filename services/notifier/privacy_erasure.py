"""The notifier's part in privacy: erasing a dossier's mails and SMS, forgetting an erased
account's mails, and telling the office that a client deleted their own login.

Mails name their dossier in the record or in the text; both are found (DeleteMentioning). An
erased account's mails are found by their recipient address (`auth.account.erased`).
"""

import re
from dataclasses import dataclass
from email.message import EmailMessage

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
from libs.servicekit.retention import RetentionJob, RetentionRule, schedule_retention
from libs.servicekit.runtime import ServiceRuntime
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.domain import mail_language, one_line
from services.notifier.mail_templates import (
    DEFAULT_BRANDING,
    Branding,
    Envelope,
    OfficeBrandingSource,
    render_mail,
)
from services.notifier.sms_store import SMS_MESSAGES, SMS_RATE_WINDOWS
from services.notifier.store import MAILS, PREFERENCES, REQUESTS

log = get_logger(__name__)
SERVICE = "notifier"
LOGIN_DELETED = "login-deleted"
ERASURE_RULES: dict[str, ErasureRule] = {
    MAILS: DeleteMentioning(),
    REQUESTS: DeleteMentioning(),
    SMS_MESSAGES: DeleteMentioning(),
    SMS_RATE_WINDOWS: HoldsNoDossierData("SMS counts per number, forgotten after two days"),
    PREFERENCES: HoldsNoDossierData("an account's mail choices, erased with the account"),
}

# Retention (deploy/README.md, "Retention"): the rate windows' TTL index is slow on some
# servers, so this job bounds them. A window is kept two days after its last SMS
# (`kept.forget_at`); the rule removes it a day after that at the latest.
RETENTION_RULES = (
    RetentionRule("sms_rate_windows", SMS_RATE_WINDOWS, "kept.forget_at", 1,
                  "GDPR art. 5(1)(c)/(e): SMS counts per number serve a limit of hours; "
                  "removed a day after their two days"),
)

def login_deleted_mail(event: LoginDeleted, *, sender: str, office: str, language: str,
                       public_url: str, branding: Branding = DEFAULT_BRANDING) -> EmailMessage:
    """Tell the office that a client deleted their own login (the dossiers stay)."""
    envelope = Envelope(message_id=f"<{event.event_id}.{LOGIN_DELETED}@mybroker>",
                        date=event.occurred_at, sender=sender, recipient=office)
    return render_mail(
        "login_deleted", envelope,
        language=mail_language(language, branding.default_language, event_id=event.event_id),
        branding=branding, portal_url=public_url, name=one_line(event.display_name),
        email=one_line(event.email), dossiers=", ".join(event.dossier_ids) or "-",
        link=f"{public_url.rstrip('/')}/admin/accounts")


class AccountForgetting:
    """The notifier's side of an account's erasure and of a client deleting their login."""

    def __init__(self, database: AsyncDatabase[Document], delivery: MailDelivery,
                 settings: NotifierSettings, office: OfficeBrandingSource) -> None:
        self._office = office
        self._mails = database[MAILS]
        self._preferences = database[PREFERENCES]
        self._delivery = delivery
        self._settings = settings

    async def forget_account(self, event: AccountErased) -> None:
        """Delete the mails sent to the erased account's address and its mail choices."""
        await self._preferences.delete_one({"_id": event.user_id})
        address = re.escape(event.email)
        result = await self._mails.delete_many({"recipient": {"$regex": f"(^|<){address}>?$"}})
        log.info("mails of an erased account deleted", user_id=event.user_id,
                 mails=result.deleted_count)

    async def tell_office(self, event: LoginDeleted) -> None:
        """Mail the office that a client deleted their login (once per event); the account's
        mail choices go with it."""
        await self._preferences.delete_one({"_id": event.user_id})
        await self._delivery.deliver(event, login_deleted_mail(
            event, sender=self._settings.from_email, office=self._settings.office_email,
            language=self._settings.office_language, public_url=self._settings.public_url,
            branding=self._office.branding()))


@dataclass
class NotifierPrivacy:
    participant: ErasureParticipant
    retention: RetentionJob

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: NotifierSettings,
         delivery: MailDelivery, office: OfficeBrandingSource | None = None,
         ) -> tuple[NotifierPrivacy, OutboxRelay]:
    """Subscribe the notifier's privacy part; the relay of its erasure reports (the notifier
    publishes nothing else)."""
    # The service's only outbox: the erasure's reports and the data export's part reports.
    relay = OutboxRelay(broker, database, [ERASURE_REPORTS, EXPORT_PARTS])
    participant = ErasureParticipant(database, SERVICE, ERASURE_RULES, notify=relay.notify)
    forgetting = AccountForgetting(database, delivery, settings,
                                   office or OfficeBrandingSource())
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureCompleted,))
    subscribe_erasure(broker, participant)
    subscribe_event(broker, consumer=SERVICE, purpose="erased-accounts",
                    event_type=AccountErased, handle=forgetting.forget_account,
                    prefetch=settings.event_prefetch)
    subscribe_event(broker, consumer=SERVICE, purpose="login-deletions",
                    event_type=LoginDeleted, handle=forgetting.tell_office,
                    prefetch=settings.event_prefetch)
    return NotifierPrivacy(participant, RetentionJob(
        database, SERVICE, RETENTION_RULES, settings.retention_days)), relay
