"""The signing service's MongoDB access."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.signing import DocumentToSign
from libs.servicekit.mongo import Document
from services.signing.domain import OPEN_STATUSES

SIGNATURE_REQUESTS = "signature_requests"


class SigningStore:
    """Signature requests, one document each."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._requests = database[SIGNATURE_REQUESTS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on."""
        await self._requests.create_index([("dossier_id", ASCENDING), ("status", ASCENDING)])

    async def list_open_for_dossier(self, dossier_id: str) -> list[DocumentToSign]:
        """Signature requests of a dossier still waiting for the client, oldest first."""
        cursor = self._requests.find(
            {"dossier_id": dossier_id, "status": {"$in": [str(s) for s in OPEN_STATUSES]}}
        ).sort("requested_at", ASCENDING)
        return [
            DocumentToSign(
                signature_request_id=doc["_id"],
                dossier_id=doc["dossier_id"],
                document_id=doc["document_id"],
                title=doc["title"],
                requested_at=doc["requested_at"],
            )
            async for doc in cursor
            if doc["dossier_id"] == dossier_id  # the last check (defence in depth)
        ]
