"""The requests service's MongoDB access.

One document per request in `requests` (`_id` = request id), with its outbox: the request and
its RequestSubmitted event are stored by one insert, so neither exists without the other.
"""

from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.requests import RequestPublic, RequestStatus, RequestSubmitted, RequestSummary
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events
from services.requests.submission_limits import Admission, SubmissionLimit, admit

log = get_logger(__name__)
REQUESTS = "requests"
SUBMISSION_WINDOWS = "submission_windows"
# A window idle this long is forgotten; the account then starts again with a full burst.
WINDOW_KEPT_SECONDS = 24 * 3600
CAS_ATTEMPTS = 8  # concurrent submissions of one account retry their compare-and-set
NEWEST_FIRST = [("sent_at", DESCENDING), ("_id", DESCENDING)]
REQUEST_FIELDS = {
    "dossier_id": 1, "kind": 1, "subject": 1, "body": 1, "status": 1, "sent_by": 1,
    "sent_by_name": 1, "sent_at": 1,
}


def _to_request(document: Document) -> RequestSummary:
    return RequestSummary(
        request_id=document["_id"],
        dossier_id=document["dossier_id"],
        kind=document["kind"],
        subject=document["subject"],
        status=document["status"],
        sent_by=document["sent_by"],
        sent_by_name=document.get("sent_by_name", ""),
        sent_at=document["sent_at"],
    )


class RequestStore:
    """Requests and messages, one document each, with their pending events."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._requests = database[REQUESTS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below and the outbox relay rely on."""
        await self._requests.create_index([("dossier_id", ASCENDING), ("sent_at", DESCENDING)])
        await self._requests.create_index(
            [("dossier_id", ASCENDING), ("status", ASCENDING), ("sent_at", DESCENDING)]
        )
        await self._requests.create_index([(PENDING_COUNT_FIELD, ASCENDING)])

    async def insert(self, request: RequestPublic, event: RequestSubmitted) -> None:
        """Store a new request together with the event announcing it."""
        document = request.model_dump(exclude={"request_id"})
        document["_id"] = request.request_id
        document.update(new_document_events(event))
        await self._requests.insert_one(document)

    async def list_for_dossier(
        self, dossier_id: str, status: RequestStatus | None = None
    ) -> list[RequestSummary]:
        """The requests of a dossier, newest first, optionally only those in `status`."""
        criteria: Document = {"dossier_id": dossier_id}
        if status is not None:
            criteria["status"] = str(status)
        cursor = self._requests.find(criteria, REQUEST_FIELDS).sort(NEWEST_FIRST)
        # The last check, whatever the query matched (defence in depth): only this dossier's.
        return [_to_request(document) async for document in cursor
                if document.get("dossier_id") == dossier_id]


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
