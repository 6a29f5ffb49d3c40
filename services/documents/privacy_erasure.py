"""The documents service's part in the erasure of a dossier (GDPR art. 17) and its retention.

The bodies go first: every object of the bucket under the dossier's prefix (originals, PDF
renditions, thumbnails; object keys begin with the dossier id) and any key a document of the
dossier names, then the documents' records and the staff batches. Nothing is kept: a signed
PDF's evidence is the signing service's hash-chained audit trail, which names its hash.
"""

from collections.abc import Callable
from dataclasses import dataclass

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ErasureCompleted
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteWhere,
    ErasureParticipant,
    ErasureRule,
    subscribe_erasure,
)
from libs.servicekit.mongo import Document
from libs.servicekit.retention import RetentionJob, schedule_retention
from libs.servicekit.runtime import ServiceRuntime
from services.documents.config import DocumentsSettings
from services.documents.object_storage import ObjectStorage
from services.documents.store import BATCHES, DOCUMENTS

SERVICE = "documents"
ERASURE_RULES: dict[str, ErasureRule] = {
    DOCUMENTS: DeleteWhere("dossier_id"),
    BATCHES: DeleteWhere("dossier_id"),
}
BODY_FIELDS = ("object_key", "rendition_key", "thumbnail_key", "image_view_key")
OUTBOX_COLLECTIONS = [ERASURE_REPORTS]


class BodyEraser:
    """Deletes a dossier's bodies from the bucket (before its records, which name them)."""

    def __init__(self, database: AsyncDatabase[Document], storage: ObjectStorage) -> None:
        self._documents = database[DOCUMENTS]
        self._storage = storage

    async def erase_bodies(self, dossier_id: str) -> dict[str, int]:
        """Remove every object of the dossier; how many."""
        keys = set(await self._storage.keys_under(f"{dossier_id}/"))
        async for doc in self._documents.find({"dossier_id": dossier_id},
                                              dict.fromkeys(BODY_FIELDS, 1)):
            keys.update(str(doc[name]) for name in BODY_FIELDS if doc.get(name))
        for key in sorted(keys):
            await self._storage.remove(key)
        return {"bucket_objects": len(keys)}


@dataclass
class DocumentsPrivacy:
    participant: ErasureParticipant
    retention: RetentionJob

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: DocumentsSettings,
         storage: ObjectStorage, *, notify: Callable[[], None]) -> DocumentsPrivacy:
    """Subscribe this service's part of erasures; its retention job (the common logs)."""
    participant = ErasureParticipant(
        database, SERVICE, ERASURE_RULES, before=BodyEraser(database, storage).erase_bodies,
        notify=notify)
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureCompleted,))
    subscribe_erasure(broker, participant)
    return DocumentsPrivacy(participant, RetentionJob(database, SERVICE, (),
                                                      settings.retention_days))
