"""The signing service's part of a client's data export: the signature requests of the client's
dossiers and their evidence (the audit trail of each: who signed, how, when, from where; the
signed PDF itself is a document, in the documents part)."""

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ExportRequested, RecordsPart, StoredRecord
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.mongo import Document
from services.signing.store import AUDIT_RECORDS, SIGNATURE_REQUESTS


class SignaturesPartBuilder:
    """Reads the signature requests and their evidence from the signing database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._requests = database[SIGNATURE_REQUESTS]
        self._audit = database[AUDIT_RECORDS]

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The signatures part of `event`'s export."""
        dossiers = sorted(set(event.dossier_ids))
        records: list[StoredRecord] = []
        cursor = self._requests.find({"dossier_id": {"$in": dossiers}}).sort("_id", 1)
        async for stored in cursor:
            if stored.get("dossier_id") not in dossiers:
                continue  # never another dossier's record
            request_id = str(stored["_id"])
            records.append(StoredRecord(record_id=request_id, kind="signature_request",
                                        data=public_fields(stored)))
            evidence = self._audit.find({"_id": {"$gte": f"{request_id}:",
                                                 "$lt": f"{request_id};"}}).sort("_id", 1)
            async for entry in evidence:
                records.append(StoredRecord(record_id=str(entry["_id"]), kind="evidence",
                                            data=public_fields(entry)))
        return RecordsPart(records=records), len(records)
