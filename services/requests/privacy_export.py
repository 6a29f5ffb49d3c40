"""The requests service's part of a client's data export: every request, form and message of
the client's dossiers (with the office's answers and the thread; attachments are documents, in
the documents part, named by their id), the client sheets, the account's unsent drafts and the
data changes offered back to the office."""

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import ExportRequested, RecordsPart, StoredRecord
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.mongo import Document
from services.requests.client_sheet.store import SHEETS
from services.requests.forms.store import DATA_CHANGES, DRAFTS, draft_owner_prefix
from services.requests.store import REQUESTS

# Collections holding records of a dossier, and what each record is.
OF_DOSSIER: tuple[tuple[str, str], ...] = (
    (REQUESTS, "request"), (SHEETS, "client_sheet"), (DATA_CHANGES, "data_change"))


class RequestsPartBuilder:
    """Reads the client's requests and messages from the requests database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The requests part of `event`'s export."""
        dossiers = sorted(set(event.dossier_ids))
        records: list[StoredRecord] = []
        for collection, kind in OF_DOSSIER:
            cursor = self._database[collection].find({"dossier_id": {"$in": dossiers}})
            async for stored in cursor.sort("_id", 1):
                if stored.get("dossier_id") in dossiers:  # never another dossier's record
                    records.append(StoredRecord(record_id=str(stored["_id"]), kind=kind,
                                                data=public_fields(stored)))
        for dossier_id in dossiers:
            prefix = draft_owner_prefix(event.account_id, dossier_id)
            cursor = self._database[DRAFTS].find(
                {"_id": {"$gte": prefix, "$lt": prefix + "\uffff"}})
            async for stored in cursor:
                records.append(StoredRecord(record_id=str(stored["_id"]), kind="draft",
                                            data=public_fields(stored)))
        return RecordsPart(records=records), len(records)
