"""The requests service's part in the erasure of a dossier (GDPR art. 17) and its retention.

Requests with their threads, drafts, proposed data changes, client sheets and their reminders,
the submission windows: all of the dossier goes. Nothing is kept here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ErasureCompleted
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteMentioning,
    DeleteWhere,
    ErasureParticipant,
    ErasureRule,
    HoldsNoDossierData,
    subscribe_erasure,
)
from libs.servicekit.mongo import Document
from libs.servicekit.retention import RetentionJob, schedule_retention
from libs.servicekit.runtime import ServiceRuntime
from services.requests.client_sheet.store import DOSSIERS, QUESTIONNAIRES, REMINDERS, SHEETS
from services.requests.config import RequestsSettings
from services.requests.forms.store import DATA_CHANGES, DRAFTS
from services.requests.store import REQUESTS, SUBMISSION_WINDOWS

SERVICE = "requests"
ERASURE_RULES: dict[str, ErasureRule] = {
    REQUESTS: DeleteWhere("dossier_id"),
    SUBMISSION_WINDOWS: DeleteMentioning(),
    DRAFTS: DeleteMentioning(),  # keyed "<user>|<dossier>|<form>"
    DATA_CHANGES: DeleteMentioning(),
    SHEETS: DeleteWhere("dossier_id"),
    DOSSIERS: DeleteWhere("_id"),
    REMINDERS: DeleteMentioning(),
    QUESTIONNAIRES: HoldsNoDossierData("the office's client-sheet questionnaire versions"),
}
OUTBOX_COLLECTIONS = [ERASURE_REPORTS]


@dataclass
class RequestsPrivacy:
    participant: ErasureParticipant
    retention: RetentionJob

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: RequestsSettings,
         *, notify: Callable[[], None]) -> RequestsPrivacy:
    """Subscribe this service's part of erasures; its retention job (the common logs)."""
    participant = ErasureParticipant(database, SERVICE, ERASURE_RULES, notify=notify)
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureCompleted,))
    subscribe_erasure(broker, participant)
    return RequestsPrivacy(participant, RetentionJob(database, SERVICE, (),
                                                     settings.retention_days))
