"""The requests service's MongoDB access.

One document per request in `requests` (`_id` = request id): the thread (entries, notes,
timeline, status) with its outbox, so every change and the events announcing it are stored by
one write. Changes are compare-and-set on `version`: two staff acting at once never overwrite
each other. Lists are ranges of one indexed string key each (`dossier_key`, `desk_key`: see
domain.py): the Mongo-wire server here serves no equality filter with an index, and keeps a
datetime written by a top-level `$set` as a naive string (read back through `stored_utc`).
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.envelope import Event
from libs.contracts.requests import OfficeRequest, RequestPublic, RequestStatus
from libs.servicekit.errors import Conflict
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events
from services.requests.domain import desk_key, dossier_key, dossier_range
from services.requests.submission_limits import Admission, SubmissionLimit, admit

log = get_logger(__name__)
REQUESTS = "requests"
SUBMISSION_WINDOWS = "submission_windows"
# A window idle this long is forgotten; the account then starts again with a full burst.
WINDOW_KEPT_SECONDS = 24 * 3600
CAS_ATTEMPTS = 8  # concurrent submissions of one account retry their compare-and-set
TIMESTAMPS = ("sent_at", "updated_at", "target_at", "answered_at")
# What a change may touch: everything else was fixed when the request was sent.
MUTABLE = ("status", "status_reason", "entries", "notes", "assignee_id", "assignee_name",
           "timeline", "answered_at", "unread_by_client", "unread_by_office", "updated_at",
           "version", "form", "about")
INTERNAL = ("desk_key", "dossier_key", "sent_ms", "idempotency_slot", "idempotency_key")


def idempotency_slot(dossier_id: str, sent_by: str, key: str) -> str:
    """One value per (dossier, sender, key): the unique index makes a resubmission find the
    request stored the first time. Hashed: the key is the client's text, of any content."""
    digest = hashlib.sha256("\x1f".join((dossier_id, sent_by, key)).encode()).hexdigest()
    return f"k{digest}"


def to_document(request: RequestPublic) -> Document:
    """The stored form of a request (what `from_document` reads back)."""
    office = OfficeRequest.model_validate(request.model_dump())
    # JSON types (the thread's own timestamps as ISO text, read back by the models), except
    # the request's timestamps, kept as dates.
    document = office.model_dump(mode="json", exclude={"request_id", "overdue"})
    for name in TIMESTAMPS:
        document[name] = getattr(office, name)
    document["_id"] = office.request_id
    document["desk_key"] = desk_key(office)
    document["dossier_key"] = dossier_key(office.dossier_id, office.sent_at, office.request_id)
    document["sent_ms"] = int(office.sent_at.timestamp() * 1000)
    return document


def from_document(document: Document) -> OfficeRequest:
    """A stored request, whichever form its timestamps came back in; a request stored before
    threads (only a body) reads as a thread of one entry."""
    fields = {name: value for name, value in document.items()
              if name not in ("_id", *INTERNAL) and not name.startswith("outbox")}
    for name in TIMESTAMPS:
        if fields.get(name) is not None:
            fields[name] = stored_utc(fields[name])
    fields["request_id"] = document["_id"]
    if not fields.get("entries") and fields.get("body"):
        fields["entries"] = [{
            "entry_id": f"{document['_id']}-1", "author": "client",
            "author_id": fields.get("sent_by", ""), "author_name": fields.get("sent_by_name", ""),
            "body": fields["body"], "at": fields["sent_at"]}]
    fields.setdefault("timeline", [{"step": "sent", "at": fields["sent_at"],
                                    "by_name": fields.get("sent_by_name", "")}])
    return OfficeRequest.model_validate(fields)


def _mutable_fields(request: OfficeRequest) -> Document:
    document = to_document(request)
    update = {name: document.get(name) for name in MUTABLE}
    update["desk_key"] = document["desk_key"]
    return update


@dataclass(frozen=True)
class DeskFilter:
    """The desk's filters as the store applies them."""

    status: RequestStatus | None = None
    open_only: bool = False
    kind: str | None = None
    dossier_id: str | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    sent_before_ms: int | None = None

    def criteria(self) -> Document:
        """The equality and range conditions beside the desk key's range."""
        criteria: Document = {}
        if self.status is not None:
            criteria["status"] = str(self.status)
        elif self.open_only:
            criteria["status"] = {"$in": [str(RequestStatus.PENDING),
                                          str(RequestStatus.IN_PROGRESS)]}
        if self.kind is not None:
            criteria["kind"] = self.kind
        if self.dossier_id is not None:
            criteria["dossier_id"] = self.dossier_id
        if self.unassigned:
            criteria["assignee_id"] = None
        elif self.assignee_id is not None:
            criteria["assignee_id"] = self.assignee_id
        if self.sent_before_ms is not None:
            criteria["sent_ms"] = {"$lte": self.sent_before_ms}
        return criteria

    def matches(self, request: OfficeRequest) -> bool:
        """The same conditions on a read request: the last check, whatever the query matched."""
        statuses = ({self.status} if self.status is not None else
                    {RequestStatus.PENDING, RequestStatus.IN_PROGRESS} if self.open_only else None)
        return ((statuses is None or request.status in statuses)
                and (self.kind is None or request.kind == self.kind)
                and (self.dossier_id is None or request.dossier_id == self.dossier_id)
                and (not self.unassigned or request.assignee_id is None)
                and (self.assignee_id is None or request.assignee_id == self.assignee_id)
                and (self.sent_before_ms is None
                     or request.sent_at.timestamp() * 1000 <= self.sent_before_ms))


class RequestStore:
    """Requests and messages, one document each, with their pending events."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._requests = database[REQUESTS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below and the outbox relay rely on; requests stored before
        threads get their list keys."""
        await self._requests.create_index([("dossier_key", ASCENDING)])
        await self._requests.create_index([("desk_key", ASCENDING)])
        await self._requests.create_index([("idempotency_slot", ASCENDING)], unique=True,
                                          sparse=True)
        await self._requests.create_index([(PENDING_COUNT_FIELD, ASCENDING)])
        async for document in self._requests.find({"desk_key": {"$exists": False}}):
            request = from_document(document)
            stored = to_document(request)
            await self._requests.update_one({"_id": document["_id"]}, {"$set": {
                name: stored[name] for name in ("desk_key", "dossier_key", "sent_ms",
                                                "entries", "timeline", "version")}})

    async def insert(self, request: RequestPublic, event: Event | Sequence[Event], *,
                     idempotency_key: str | None = None) -> OfficeRequest:
        """Store a new request together with the event(s) announcing it; with an idempotency
        key, a request the same sender stored before in the same dossier under the same key is
        returned instead (and nothing is written)."""
        events = (event,) if isinstance(event, Event) else tuple(event)
        document = to_document(request)
        slot = None
        if idempotency_key is not None:
            slot = idempotency_slot(request.dossier_id, request.sent_by, idempotency_key)
            document["idempotency_slot"] = slot
            document["idempotency_key"] = idempotency_key
        document.update(new_document_events(*events))
        try:
            await self._requests.insert_one(document)
        except DuplicateKeyError:
            stored = None if slot is None else await self.find_resubmitted(
                request.dossier_id, request.sent_by, idempotency_key or "")
            if stored is None:
                raise Conflict("This request exists already.") from None
            log.info("resubmission answered with the stored request",
                     request_id=stored.request_id, dossier_id=stored.dossier_id)
            return stored
        return from_document(document)

    async def find_resubmitted(self, dossier_id: str, sent_by: str, key: str
                               ) -> OfficeRequest | None:
        """The request `sent_by` stored in `dossier_id` under the idempotency key `key`."""
        slot = idempotency_slot(dossier_id, sent_by, key)
        document = await self._requests.find_one({"idempotency_slot": {"$gte": slot,
                                                                       "$lte": slot}})
        if (document is None or document.get("dossier_id") != dossier_id
                or document.get("sent_by") != sent_by):
            return None
        return from_document(document)

    async def get(self, request_id: str) -> OfficeRequest | None:
        """One request, or None."""
        document = await self._requests.find_one({"_id": request_id})
        return None if document is None else from_document(document)

    async def save(self, before: OfficeRequest, after: OfficeRequest,
                   events: Sequence[Event] = ()) -> bool:
        """Write `after` over `before` with its events, only if nobody changed the request
        since `before` was read (False then: read again and redo)."""
        update: dict[str, Any] = {"$set": _mutable_fields(after)}
        if events:
            update = record_events(update, *events)
        result = await self._requests.update_one(
            {"_id": before.request_id, "version": before.version}, update)
        return result.matched_count == 1

    async def list_for_dossier(
        self, dossier_id: str, status: RequestStatus | None = None
    ) -> list[OfficeRequest]:
        """The requests of a dossier, newest first, optionally only those in `status`."""
        low, high = dossier_range(dossier_id)
        criteria: Document = {"dossier_key": {"$gte": low, "$lt": high}}
        if status is not None:
            criteria["status"] = str(status)
        cursor = self._requests.find(criteria).sort([("dossier_key", ASCENDING)])
        # The last check, whatever the query matched (defence in depth): only this dossier's.
        return [from_document(document) async for document in cursor
                if document.get("dossier_id") == dossier_id
                and (status is None or document.get("status") == status)]

    async def desk_page(self, desk_filter: DeskFilter, *, after: str | None, limit: int
                        ) -> tuple[list[OfficeRequest], str | None]:
        """One page of the desk in its order, after the desk key `after`; and the key to
        continue after, None on the last page."""
        criteria: Document = {"desk_key": {"$gt": after or "k"}, **desk_filter.criteria()}
        cursor = self._requests.find(criteria).sort([("desk_key", ASCENDING)]).limit(limit + 1)
        rows = [document async for document in cursor]
        page = [from_document(document) for document in rows[:limit]]
        page = [request for request in page if desk_filter.matches(request)]
        next_after = rows[limit - 1]["desk_key"] if len(rows) > limit else None
        return page, next_after


class SubmissionWindows:
    """Each account's submission window (submission_limits.py), one document per account and
    kind in the service's database, so every replica enforces the same limit."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._windows = database[SUBMISSION_WINDOWS]

    async def ensure_indexes(self) -> None:
        """Forget idle windows after a day."""
        await self._windows.create_index(
            [("created_at", ASCENDING)], expireAfterSeconds=WINDOW_KEPT_SECONDS)

    async def take(self, key: str, now: datetime, limit: SubmissionLimit) -> Admission:
        """Take one submission from the window `key` if it allows one (compare-and-set on the
        window's single number: two replicas never both spend the same slot)."""
        now_ms = int(now.timestamp() * 1000)
        for _ in range(CAS_ATTEMPTS):
            window = await self._windows.find_one({"_id": key})
            stored = None if window is None else int(window["tat_ms"])
            decision = admit(stored, now_ms, limit)
            if not decision.allowed:
                return decision
            if window is None:
                try:
                    await self._windows.insert_one(
                        {"_id": key, "tat_ms": decision.tat_ms, "created_at": now})
                except DuplicateKeyError:
                    continue
                return decision
            updated = await self._windows.update_one(
                {"_id": key, "tat_ms": stored}, {"$set": {"tat_ms": decision.tat_ms}})
            if updated.matched_count:
                return decision
        # Only one account's own simultaneous submissions collide this often: one more burst.
        log.warning("submission window contended; refused for now", key=key)
        return Admission(allowed=False, tat_ms=now_ms, retry_after_ms=1000)
