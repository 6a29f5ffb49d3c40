"""The dossier service's MongoDB access.

One document per dossier in `dossiers`, `_id` = the dossier id, holding the whole import
(persons, risk objects, contracts, claims, invoices as arrays of sub-documents) plus its outbox.
Why one document and not one collection per kind: an import replaces the dossier as a whole, and
a single-document write is atomic, so a re-import can never be half-applied and its
DossierImported event is stored in that same write without multi-document transactions (which
nx-27017 does not isolate). A household's dossier is a few kilobytes, far below MongoDB's 16 MB
document limit. The arrays are only ever written whole with `$set`, never `$push`ed (nx-27017
stores pushed sub-documents as strings).

The import is written with `$set` of every dossier field + upsert rather than `replace_one`, so
events of an earlier import that the relay has not published yet stay in the outbox.

Dates are stored as ISO-8601 strings ("2024-03-01"): MongoDB has no date-only type, and such
strings compare in date order and round-trip exactly, with no time zone to get wrong.
"""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.dossier import (
    Contract,
    DossierImport,
    DossierImported,
    DossierSummary,
    RiskObject,
)
from libs.contracts.envelope import utc_now
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import PENDING_COUNT_FIELD, record_events

DOSSIERS = "dossiers"
SUMMARY_FIELDS = {"name": 1, "broker_reference": 1, "person_count": 1, "contract_count": 1}


def _to_document(dossier: DossierImport) -> dict[str, Any]:
    """The stored fields of an import; mode="json" turns every date into its ISO string."""
    fields = dossier.model_dump(mode="json", exclude={"dossier_id"})
    # Kept with the data so the chooser reads a summary without loading whole dossiers.
    fields["person_count"] = len(dossier.persons)
    fields["contract_count"] = len(dossier.contracts)
    return fields


def _to_summary(document: Document) -> DossierSummary:
    return DossierSummary(
        dossier_id=document["_id"],
        name=document["name"],
        broker_reference=document.get("broker_reference"),
        person_count=document["person_count"],
        contract_count=document["contract_count"],
    )


class DossierStore:
    """Dossiers, one document each, with their pending events."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._dossiers = database[DOSSIERS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below and the outbox relay rely on."""
        await self._dossiers.create_index([(PENDING_COUNT_FIELD, ASCENDING)])

    async def save_import(
        self, dossier: DossierImport, *, imported_by: str, event: DossierImported
    ) -> bool:
        """Store `dossier` whole (creating or replacing it) with `event`; True if it is new."""
        fields = _to_document(dossier)
        fields["imported_at"] = utc_now()
        fields["imported_by"] = imported_by
        result = await self._dossiers.update_one(
            {"_id": dossier.dossier_id}, record_events({"$set": fields}, event), upsert=True
        )
        return result.upserted_id is not None

    async def get_summary(self, dossier_id: str) -> DossierSummary | None:
        """The summary of one dossier, or None if it was never imported."""
        document = await self._dossiers.find_one({"_id": dossier_id}, SUMMARY_FIELDS)
        return None if document is None else _to_summary(document)

    async def list_summaries(self, dossier_ids: list[str]) -> list[DossierSummary]:
        """Summaries of the imported dossiers among `dossier_ids`, in the order asked."""
        cursor = self._dossiers.find({"_id": {"$in": dossier_ids}}, SUMMARY_FIELDS)
        found = {document["_id"]: _to_summary(document) async for document in cursor}
        return [found[dossier_id] for dossier_id in dossier_ids if dossier_id in found]

    async def get_contracts(
        self, dossier_id: str
    ) -> tuple[list[Contract], list[RiskObject]] | None:
        """The contracts and the risk objects of one dossier, or None if it was never imported."""
        document = await self._dossiers.find_one(
            {"_id": dossier_id}, {"contracts": 1, "risk_objects": 1}
        )
        if document is None:
            return None
        contracts = [Contract.model_validate(item) for item in document["contracts"]]
        risk_objects = [RiskObject.model_validate(item) for item in document["risk_objects"]]
        return contracts, risk_objects
