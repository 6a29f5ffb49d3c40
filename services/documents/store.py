"""The documents service's MongoDB access: one metadata document per document."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.caller import Caller
from libs.contracts.documents import (
    ContextKind,
    DocumentContext,
    DocumentPublic,
    RenditionState,
    UploaderKind,
)
from libs.contracts.envelope import Event
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.keyset import Keyset, ListCursors, key_range, list_key
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import new_document_events, record_events
from services.documents.domain import DocumentState, StoredBody, StoredDocument
from services.documents.sniffing import ViewKind

DOCUMENTS = "documents"
LIST_NAME = "documents"  # signed into the list's page cursors
LIST_KEY = "list_key"  # a published document's place in its dossier's list
BATCHES = "batches"  # one per staff batch, carrying its DocumentsBatchPublished in its outbox
_TIMESTAMPS_SET_LATER = ("uploaded_at", "original_verified_at", "rendition_verified_at",
                         "thumbnail_verified_at", "scrubbed_at")


def _from_mongo(document: Document) -> StoredDocument:
    fields = {**document, "document_id": document["_id"]}
    for name in _TIMESTAMPS_SET_LATER:  # written by $set: see stored_utc
        if fields.get(name) is not None:
            fields[name] = stored_utc(fields[name])
    return StoredDocument.model_validate(fields)


class BatchState(StrEnum):
    OPEN = "open"  # recorded, its documents being claimed
    ANNOUNCED = "announced"  # closed: its event (if it claimed any document) is in its outbox


@dataclass(frozen=True)
class StoredBatch:
    batch_id: str
    dossier_id: str
    document_ids: list[str]
    state: BatchState
    opened_at: datetime | None


def _batch(found: Document) -> StoredBatch:
    # Batches recorded before batches had a state were announced when recorded.
    opened_at = found.get("opened_at")
    return StoredBatch(found["_id"], found["dossier_id"], list(found["document_ids"]),
                       BatchState(found.get("state", BatchState.ANNOUNCED.value)),
                       None if opened_at is None else stored_utc(opened_at))


def _listing_filter(
    dossier_id: str, context: DocumentContext | None, content_type: str | None
) -> dict[str, Any]:
    query: dict[str, Any] = {"dossier_id": dossier_id, "state": DocumentState.PUBLISHED.value}
    # "Mijn gegevens" (the general context) lists the documents of every context (manual 3.4).
    if context is not None and context.kind != ContextKind.GENERAL:
        query["context.kind"] = context.kind.value
        query["context.ref_id"] = context.ref_id
    if content_type:
        if content_type.endswith("/"):
            query["content_type"] = {"$regex": "^" + re.escape(content_type)}
        else:
            query["content_type"] = content_type
    return query


def listing_key(dossier_id: str, document_id: str, uploaded_at: datetime) -> str:
    """A published document's key in its dossier's list (newest first: read descending)."""
    return list_key(uploaded_at, document_id, within=dossier_id)


def listing_scope(dossier_id: str, context: DocumentContext | None, content_type: str | None
                  ) -> tuple[str, ...]:
    """What a cursor of the documents list is bound to: the dossier and the filters."""
    shown = "" if context is None or context.kind == ContextKind.GENERAL else (
        f"{context.kind.value}:{context.ref_id or ''}")
    return dossier_id, shown, content_type or ""


class DocumentsStore:
    """Document metadata; the bodies live in S3 (see object_storage)."""

    def __init__(self, database: AsyncDatabase[Document],
                 cursor_signer: CursorSigner | None = None) -> None:
        """`cursor_signer` signs the list's page cursors (a random key when None: tests)."""
        self._documents = database[DOCUMENTS]
        self._batches = database[BATCHES]
        self._listing = Keyset(
            ListCursors(cursor_signer or CursorSigner(secrets.token_bytes(32)), LIST_NAME),
            field=LIST_KEY, descending=True)

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on."""
        await self._documents.create_index(
            [("dossier_id", ASCENDING), ("state", ASCENDING), ("uploaded_at", DESCENDING)]
        )
        await self._documents.create_index([("object_key", ASCENDING)])
        await self._documents.create_index([(LIST_KEY, DESCENDING)])
        await self._record_earlier_announcements()
        await self._key_earlier_documents()

    async def insert(self, document: StoredDocument) -> None:
        """Store a new document's metadata."""
        fields = document.model_dump(mode="json", exclude={"document_id", "created_at"})
        fields["created_at"] = document.created_at
        await self._documents.insert_one(
            {"_id": document.document_id, **fields, **new_document_events()}
        )

    async def get_many(self, document_ids: list[str]) -> list[StoredDocument]:
        """The documents with these ids (those that exist), in any state."""
        cursor = self._documents.find({"_id": {"$in": document_ids}})
        return [_from_mongo(document) async for document in cursor]

    # --- staff batches: one announcement (one mail) each -------------------------------------
    # A batch is first recorded open with the documents asked for, then claims those not
    # announced yet (each document's `announced_in`, set once: single-document atomic, so the
    # page's batch and the service's own announcement never both announce a document), then
    # closes with its event. An open batch left by a crash is finished by the announcer.

    async def open_batch(
        self, batch_id: str, *, dossier_id: str, document_ids: list[str], now: datetime
    ) -> StoredBatch:
        """Record a batch about to announce these documents; the batch as stored before when
        this id was recorded already (a repeated request)."""
        try:
            await self._batches.insert_one({
                "_id": batch_id, "dossier_id": dossier_id, "document_ids": list(document_ids),
                "state": BatchState.OPEN.value, "opened_at": now})
        except DuplicateKeyError:
            found = await self._batches.find_one({"_id": batch_id})
            if found is not None:
                return _batch(found)
        return StoredBatch(batch_id, dossier_id, list(document_ids), BatchState.OPEN, now)

    async def claim_for_batch(self, batch_id: str, dossier_id: str,
                              document_ids: list[str]) -> list[StoredDocument]:
        """Claim the documents no batch announced yet; the documents this batch announces."""
        await self._documents.update_many(
            {"_id": {"$in": document_ids}, "dossier_id": dossier_id, "announced_in": None},
            {"$set": {"announced_in": batch_id}})
        claimed = {document["_id"]: _from_mongo(document) async for document in
                   self._documents.find({"_id": {"$in": document_ids}})
                   if document.get("announced_in") == batch_id}
        return [claimed[document_id] for document_id in document_ids if document_id in claimed]

    async def close_batch(self, batch_id: str, document_ids: list[str],
                          event: Event | None) -> bool:
        """Close an open batch with its announcement (None: nothing left to announce); False
        if it was closed meanwhile."""
        update: dict[str, Any] = {"$set": {"state": BatchState.ANNOUNCED.value,
                                           "document_ids": document_ids}}
        if event is not None:
            update["$set"]["published_at"] = event.occurred_at
            update = record_events(update, event)
        result = await self._batches.update_one(
            {"_id": batch_id, "state": BatchState.OPEN.value}, update)
        return result.modified_count == 1

    async def open_batches(self) -> list[StoredBatch]:
        """Batches recorded open and not closed: in progress, or left by a crash."""
        cursor = self._batches.find({"state": BatchState.OPEN.value})
        return [_batch(found) async for found in cursor]

    async def unannounced_staff_documents(self) -> list[StoredDocument]:
        """Published staff documents no batch announced (few: the last minutes' uploads)."""
        # `announced_in` has no index: the server here matches an indexed null field wrongly.
        cursor = self._documents.find({"state": DocumentState.PUBLISHED.value,
                                       "uploader_kind": UploaderKind.STAFF.value,
                                       "announced_in": None})
        found = [_from_mongo(document) async for document in cursor]
        # The office's assets (its logo) are no client's news.
        return [document for document in found if document.context.kind != ContextKind.OFFICE]

    async def _key_earlier_documents(self) -> None:
        """Documents published before the list had its key get theirs (once)."""
        async for document in self._documents.find(
                {"state": DocumentState.PUBLISHED.value, LIST_KEY: {"$exists": False}},
                {"dossier_id": 1, "uploaded_at": 1}):
            if document.get("uploaded_at") is None or LIST_KEY in document:
                continue
            await self._documents.update_one({"_id": document["_id"]}, {"$set": {
                LIST_KEY: listing_key(document["dossier_id"], document["_id"],
                                      stored_utc(document["uploaded_at"]))}})

    async def _record_earlier_announcements(self) -> None:
        """Documents stored before `announced_in` existed get the batch that announced them
        (none: the service announces it, as for any batch that never came)."""
        announced: dict[str, str] = {}
        async for batch in self._batches.find({}, {"document_ids": 1}):
            announced.update({document_id: batch["_id"] for document_id in batch["document_ids"]})
        async for document in self._documents.find({"announced_in": {"$exists": False}},
                                                   {"announced_in": 1}):
            if "announced_in" in document:
                continue  # set meanwhile (a batch claimed it): never undone here
            await self._documents.update_one(
                {"_id": document["_id"], "announced_in": {"$exists": False}},
                {"$set": {"announced_in": announced.get(document["_id"])}})

    async def get(self, document_id: str) -> StoredDocument | None:
        """The document with this id, in any state."""
        found = await self._documents.find_one({"_id": document_id})
        return _from_mongo(found) if found is not None else None

    async def publish(
        self, document_id: str, *, dossier_id: str, size: int, sha256: str,
        uploaded_at: datetime,
        content_type: str, view: ViewKind, rendition: tuple[RenditionState, str | None],
        event: Event,
    ) -> bool:
        """Publish an uploading document of `dossier_id` together with its event; False if it
        was not uploading."""
        result = await self._documents.update_one(
            {"_id": document_id, "dossier_id": dossier_id,
             "state": DocumentState.UPLOADING.value},
            record_events(
                {"$set": {
                    "state": DocumentState.PUBLISHED.value,
                    "size": size,
                    "sha256": sha256,
                    "uploaded_at": uploaded_at,
                    # The scrubber's clock starts here: the gateway hashed the body as it came.
                    "scrubbed_at": uploaded_at,
                    "content_type": content_type,
                    "view": view.value,
                    "rendition_state": rendition[0].value,
                    "rendition_reason": rendition[1],
                    LIST_KEY: listing_key(dossier_id, document_id, uploaded_at),
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

    async def list_published(
        self, dossier_id: str, *, context: DocumentContext | None = None,
        content_type: str | None = None, cursor: str | None = None, limit: int = 100,
        caller: Caller | None = None,
    ) -> tuple[list[DocumentPublic], str | None, int]:
        """One page of a dossier's published documents, newest first (after `cursor`, a cursor
        of this very list: CursorRefused otherwise), the next page's cursor and how many there
        are. A page is a keyset range, never a skip."""
        query = {**_listing_filter(dossier_id, context, content_type),
                 LIST_KEY: key_range(dossier_id)}
        total = await self._documents.count_documents(query)
        rows, next_cursor = await self._listing.page(
            self._documents, query, cursor=cursor, limit=limit, caller=caller,
            scope=listing_scope(dossier_id, context, content_type), dossier_id=dossier_id,
            # The last check, whatever the query matched (defence in depth): only this dossier's.
            keep=lambda document: document.get("dossier_id") == dossier_id)
        return [_from_mongo(document).to_public() for document in rows], next_cursor, total

    async def bytes_used(self, dossier_id: str) -> int:
        """What the dossier's documents (published or arriving) take in storage."""
        cursor = await self._documents.aggregate([
            {"$match": {"dossier_id": dossier_id, "state": {"$in": [
                DocumentState.UPLOADING.value, DocumentState.PUBLISHED.value]}}},
            {"$group": {"_id": None, "total": {"$sum": "$declared_size"}}},
        ])
        totals = [row async for row in cursor]
        return int(totals[0]["total"]) if totals else 0

    async def finish_rendition(
        self, document_id: str, *, state: RenditionState, reason: str | None = None,
        rendition: tuple[str, int, str] | None = None,
        thumbnail: tuple[str, int, str] | None = None,
    ) -> bool:
        """Record a pending rendition's outcome (key, size, sha256 of what was made)."""
        fields: dict[str, Any] = {"rendition_state": state.value, "rendition_reason": reason}
        if rendition is not None:
            fields |= dict(zip(("rendition_key", "rendition_size", "rendition_sha256"),
                               rendition, strict=True))
        if thumbnail is not None:
            fields |= dict(zip(("thumbnail_key", "thumbnail_size", "thumbnail_sha256"),
                               thumbnail, strict=True))
        result = await self._documents.update_one(
            {"_id": document_id, "rendition_state": RenditionState.PENDING.value},
            {"$set": fields})
        return result.modified_count == 1

    async def mark_damaged(self, document_id: str, reason: str) -> None:
        """A body no longer matches its hash: the document is listed as damaged, never served."""
        await self._documents.update_one(
            {"_id": document_id}, {"$set": {"damaged": True, "damage_reason": reason}})

    async def record_verified(self, document_id: str, bodies: list[StoredBody],
                              verified_at: datetime, *, scrubbed: bool = False) -> None:
        """These bodies of the document hashed right at `verified_at` (read whole from S3)."""
        fields: dict[str, Any] = {f"{body.value}_verified_at": verified_at for body in bodies}
        if scrubbed:
            fields["scrubbed_at"] = verified_at
        await self._documents.update_one({"_id": document_id}, {"$set": fields})

    async def due_for_scrub(self, before: datetime, limit: int) -> list[StoredDocument]:
        """Published, undamaged documents not scrubbed since `before`, the longest ago first."""
        # The timestamp is compared here, not in the query: a `$set` datetime reads back from
        # the Mongo-wire server as a string (see stored_utc), so only its order is trusted.
        cursor = self._documents.find(
            {"state": DocumentState.PUBLISHED.value, "damaged": {"$ne": True}}
        ).sort([("scrubbed_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        due = [_from_mongo(document) async for document in cursor]
        return [document for document in due
                if document.scrubbed_at is None or document.scrubbed_at < before]

    async def with_problems(self, limit: int) -> list[StoredDocument]:
        """Damaged documents and refused or abandoned uploads, the latest begun first."""
        cursor = self._documents.find(
            {"$or": [{"damaged": True}, {"state": DocumentState.REJECTED.value}]}
        ).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [_from_mongo(document) async for document in cursor]

    async def uploading_before(self, moment: datetime) -> list[StoredDocument]:
        """Uploads begun before `moment` that never completed."""
        cursor = self._documents.find({"state": DocumentState.UPLOADING.value,
                                       "created_at": {"$lt": moment}})
        return [_from_mongo(document) async for document in cursor]

    async def published_documents(self) -> list[StoredDocument]:
        """Every published document (the orphan sweep compares them with the bucket)."""
        cursor = self._documents.find({"state": DocumentState.PUBLISHED.value})
        return [_from_mongo(document) async for document in cursor]

    async def known_keys(self, keys: list[str]) -> set[str]:
        """Which of these object keys belong to a document (in any state)."""
        cursor = self._documents.find({"object_key": {"$in": keys}}, {"object_key": 1})
        return {document["object_key"] async for document in cursor}
