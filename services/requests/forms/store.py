"""MongoDB access of the forms: form requests (in `requests`, the threads' collection, in the
shape every request has), drafts and the feed of accepted data changes."""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from libs.contracts.envelope import Event
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import new_document_events, record_events

log = get_logger(__name__)
REQUESTS = "requests"
DRAFTS = "form_drafts"
DATA_CHANGES = "data_changes"
IDEMPOTENCY_FIELDS = [("dossier_id", ASCENDING), ("sent_by", ASCENDING),
                      ("idempotency_key", ASCENDING)]


class FormRequestStore:
    """Form requests: one document each with its outbox, unique per idempotency key."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._requests = database[REQUESTS]

    async def ensure_indexes(self) -> None:
        """The idempotency key is unique per dossier and sender (only where one was given)."""
        try:
            await self._requests.create_index(
                IDEMPOTENCY_FIELDS, unique=True, name="idempotency_key_unique",
                partialFilterExpression={"idempotency_key": {"$type": "string"}})
        except OperationFailure as error:
            # The same index made by the threads' store under its own name: it is the one.
            if error.code not in (85, 86):  # IndexOptionsConflict, IndexKeySpecsConflict
                raise
            log.info("idempotency index already present", detail=str(error))

    async def find_by_key(self, dossier_id: str, sent_by: str, key: str) -> Document | None:
        return await self._requests.find_one(
            {"dossier_id": dossier_id, "sent_by": sent_by, "idempotency_key": key})

    async def insert(self, document: Document, event: Event) -> tuple[Document, bool]:
        """Store the request with its event; (the stored one, True), or for a key used
        already (the request stored the first time, False)."""
        stored = {**document, **new_document_events(event)}
        try:
            await self._requests.insert_one(stored)
        except DuplicateKeyError:
            key = document.get("idempotency_key")
            if key is None:
                raise
            first = await self.find_by_key(document["dossier_id"], document["sent_by"], key)
            if first is None:
                raise
            return first, False
        return stored, True

    async def get(self, dossier_id: str, request_id: str) -> Document | None:
        return await self._requests.find_one({"_id": request_id, "dossier_id": dossier_id})

    async def update_form(self, dossier_id: str, request_id: str, version: int,
                          fields: dict[str, Any], now: datetime,
                          *events: Event) -> Document | None:
        """Set fields of the request if it is still at `version` (compare-and-set)."""
        update: dict[str, Any] = {"$set": {**fields, "updated_at": now},
                                  "$inc": {"version": 1}}
        if events:
            update = record_events(update, *events)
        return await self._requests.find_one_and_update(
            {"_id": request_id, "dossier_id": dossier_id, "version": version}, update,
            return_document=ReturnDocument.AFTER)

    async def accepted_data_requests(self, request_ids: list[str]) -> list[Document]:
        return [document async for document in self._requests.find(
            {"_id": {"$in": request_ids}})]


class DraftStore:
    """One draft per (account, dossier, kind, about); gone 30 days after its last save.

    Expired drafts are never read (every query asks for `expires_at` after now) and are
    purged by a periodic job; the TTL index does the same where the database runs TTL
    monitors (MongoDB does; an in-memory wire-compatible server may not)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._drafts = database[DRAFTS]

    async def ensure_indexes(self) -> None:
        await self._drafts.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self._drafts.create_index([("user_id", ASCENDING), ("dossier_id", ASCENDING),
                                         ("saved_at", ASCENDING)])

    async def save(self, key: str, fields: Document) -> Document:
        stored = await self._drafts.find_one_and_update(
            {"_id": key}, {"$set": fields}, upsert=True, return_document=ReturnDocument.AFTER)
        assert stored is not None  # an upsert returns the document it wrote
        return stored

    async def get(self, key: str, now: datetime) -> Document | None:
        return await self._drafts.find_one({"_id": key, "expires_at": {"$gt": now}})

    async def delete(self, key: str) -> bool:
        return (await self._drafts.delete_one({"_id": key})).deleted_count > 0

    async def list(self, user_id: str, dossier_id: str, now: datetime) -> list[Document]:
        cursor = self._drafts.find(
            {"user_id": user_id, "dossier_id": dossier_id, "expires_at": {"$gt": now}}
        ).sort([("saved_at", ASCENDING)]).limit(100)
        return [document async for document in cursor]

    async def purge(self, now: datetime) -> int:
        """Remove every expired draft; how many went."""
        deleted = (await self._drafts.delete_many({"expires_at": {"$lte": now}})).deleted_count
        if deleted:
            log.info("expired drafts purged", count=deleted)
        return deleted


class DataChangeStore:
    """The feed of accepted data changes, oldest first by (recorded_at, _id)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._changes = database[DATA_CHANGES]

    async def ensure_indexes(self) -> None:
        await self._changes.create_index([("recorded_at", ASCENDING), ("_id", ASCENDING)])

    async def record(self, document: Document) -> bool:
        """Add a change once (its _id is the request's): False when it was there."""
        try:
            await self._changes.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def page(self, since: datetime | None, after: tuple[datetime, str] | None,
                   limit: int) -> list[Document]:
        criteria: Document = {}
        if after is not None:
            at, last_id = after
            criteria = {"$or": [{"recorded_at": {"$gt": at}},
                                {"recorded_at": at, "_id": {"$gt": last_id}}]}
        elif since is not None:
            criteria = {"recorded_at": {"$gt": since}}
        cursor = self._changes.find(criteria).sort(
            [("recorded_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [document async for document in cursor]


DRAFT_LIFETIME = timedelta(days=30)
