"""The documents service's MongoDB access: one metadata document per document."""

from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.documents import DocumentPublic
from libs.contracts.envelope import Event
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import new_document_events, record_events
from services.documents.domain import DocumentState, StoredDocument

DOCUMENTS = "documents"


def _from_mongo(document: Document) -> StoredDocument:
    fields = {**document, "document_id": document["_id"]}
    if fields.get("uploaded_at") is not None:  # written by $set: see stored_utc
        fields["uploaded_at"] = stored_utc(fields["uploaded_at"])
    return StoredDocument.model_validate(fields)


class DocumentsStore:
    """Document metadata; the bodies live in S3 (see object_storage)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._documents = database[DOCUMENTS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on."""
        await self._documents.create_index(
            [("dossier_id", ASCENDING), ("state", ASCENDING), ("uploaded_at", DESCENDING)]
        )

    async def insert(self, document: StoredDocument) -> None:
        """Store a new document's metadata."""
        fields = document.model_dump(exclude={"document_id"})
        fields["state"] = document.state.value
        await self._documents.insert_one(
            {"_id": document.document_id, **fields, **new_document_events()}
        )

    async def get(self, document_id: str) -> StoredDocument | None:
        """The document with this id, in any state."""
        found = await self._documents.find_one({"_id": document_id})
        return _from_mongo(found) if found is not None else None

    async def publish(
        self, document_id: str, *, size: int, sha256: str, uploaded_at: datetime, event: Event
    ) -> bool:
        """Publish an uploading document together with its event; False if it was not uploading."""
        result = await self._documents.update_one(
            {"_id": document_id, "state": DocumentState.UPLOADING.value},
            record_events(
                {"$set": {
                    "state": DocumentState.PUBLISHED.value,
                    "size": size,
                    "sha256": sha256,
                    "uploaded_at": uploaded_at,
                }},
                event,
            ),
        )
        return result.modified_count == 1

    async def reject(self, document_id: str, reason: str) -> None:
        """Mark an uploading document as refused, with the reason (it is never listed)."""
        await self._documents.update_one(
            {"_id": document_id, "state": DocumentState.UPLOADING.value},
            {"$set": {"state": DocumentState.REJECTED.value, "rejection_reason": reason}},
        )

    async def list_published(self, dossier_id: str) -> list[DocumentPublic]:
        """The published documents of a dossier, newest first."""
        cursor = self._documents.find(
            {"dossier_id": dossier_id, "state": DocumentState.PUBLISHED.value}
        ).sort([("uploaded_at", DESCENDING), ("_id", DESCENDING)])
        return [_from_mongo(document).to_public() async for document in cursor]
