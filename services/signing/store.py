"""The signing service's MongoDB access.

`signature_requests`: one document per request (`_id` = request id) holding the request as JSON
(times as ISO text: the Mongo-wire server here gives `$set` datetimes back as strings), a
`version` for compare-and-set, its outbox, and the audit records its last change made
(`audit_pending`). `audit_records`: the append-only trail, one document per record
(`_id` = "<request>:<seq>"), never updated. A change to a request and its audit records are one
write (the request document); the records are then copied into the trail, and again by the next
reader should a crash come in between (an insert of an existing `_id` is a no-op).
"""

import contextlib
import secrets
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.signing import AuditRecord, RequestState
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.keyset import Keyset, ListCursors, list_key
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events
from services.signing.domain import SignatureRequest
from services.signing.mobile import Challenge, Enrolment

SIGNATURE_REQUESTS = "signature_requests"
LIST_NAME = "signature_requests"  # signed into the list's page cursors
LIST_KEY = "list_key"  # a request's place in the list, newest first (read descending)
AUDIT_RECORDS = "audit_records"
PENDING_AUDIT = "audit_pending"
SEAL_CLAIM = "seal_claimed_until_ms"
DUPLICATE_KEY = 11000


def _record_id(record: AuditRecord) -> str:
    return f"{record.signature_request_id}:{record.seq:09d}"


def _stored_record(record: AuditRecord) -> Document:
    return {"_id": _record_id(record), **record.model_dump(mode="json")}


def _fields(request: SignatureRequest) -> Document:
    fields = request.model_dump(mode="json", exclude={"request_id"})
    # Top-level lists for the queries ("$in": an equality on an array finds nothing here).
    fields["signer_user_ids"] = sorted({recipient.user_id for signer in request.signers
                                        for recipient in signer.recipients})
    return fields


def _request(document: Document) -> SignatureRequest:
    return SignatureRequest.model_validate({**document, "request_id": document["_id"]})


class SigningStore:
    """Signature requests with their outbox, and the audit trail."""

    def __init__(self, database: AsyncDatabase[Document],
                 cursor_signer: CursorSigner | None = None) -> None:
        """`cursor_signer` signs the list's page cursors (a random key when None: tests)."""
        self._requests = database[SIGNATURE_REQUESTS]
        self._audit = database[AUDIT_RECORDS]
        self._listing = Keyset(
            ListCursors(cursor_signer or CursorSigner(secrets.token_bytes(32)), LIST_NAME),
            field=LIST_KEY, descending=True)

    async def ensure_indexes(self) -> None:
        """Indexes the queries below and the outbox relay rely on."""
        await self._requests.create_index([("dossier_id", ASCENDING), ("state", ASCENDING)])
        await self._requests.create_index([("state", ASCENDING)])
        await self._requests.create_index([("requested_at", DESCENDING)])
        await self._requests.create_index([(LIST_KEY, DESCENDING)])
        await self._requests.create_index([(PENDING_COUNT_FIELD, ASCENDING)])
        await self._audit.create_index([("signature_request_id", ASCENDING),
                                        ("seq", ASCENDING)])
        await self._key_earlier_requests()

    async def _key_earlier_requests(self) -> None:
        """Requests stored before the list had its key get theirs (once)."""
        async for document in self._requests.find({LIST_KEY: {"$exists": False}},
                                                  {"requested_at": 1}):
            if LIST_KEY in document or document.get("requested_at") is None:
                continue
            await self._requests.update_one({"_id": document["_id"]}, {"$set": {
                LIST_KEY: list_key(stored_utc(document["requested_at"]), document["_id"])}})

    async def insert(self, request: SignatureRequest, records: list[AuditRecord],
                     events: list[Event]) -> None:
        """A new request, its first audit records and events, in one insert."""
        document: Document = {"_id": request.request_id, **_fields(request),
                              LIST_KEY: list_key(request.requested_at, request.request_id),
                              PENDING_AUDIT: [r.model_dump(mode="json") for r in records]}
        document.update(new_document_events(*events))
        await self._requests.insert_one(document)
        await self._copy_to_trail(records)

    async def get(self, request_id: str, *, flush: bool = False) -> SignatureRequest | None:
        """The request; with `flush`, first make sure the audit records of its last change are
        in the trail (a crash may have come between the two writes)."""
        document = await self._requests.find_one({"_id": request_id})
        if document is None:
            return None
        pending = [AuditRecord.model_validate(r) for r in document.get(PENDING_AUDIT) or []]
        if flush and pending and await self._audit.find_one(
                {"_id": _record_id(pending[-1])}, {"_id": 1}) is None:
            await self._copy_to_trail(pending)
        return _request(document)

    async def save(self, request: SignatureRequest, records: list[AuditRecord],
                   events: list[Event], *, extra: Document | None = None) -> bool:
        """Store the changed request if nobody changed it since it was read (its version),
        with its new audit records and events; false when another change came first."""
        expected = request.version
        request.version = expected + 1
        update: dict[str, Any] = {"$set": {**_fields(request), **(extra or {}),
                                           PENDING_AUDIT: [r.model_dump(mode="json")
                                                           for r in records]}}
        if events:
            update = record_events(update, *events)
        result = await self._requests.update_one(
            {"_id": request.request_id, "version": expected}, update)
        if result.matched_count == 0:
            request.version = expected
            return False
        await self._copy_to_trail(records)
        return True

    async def _copy_to_trail(self, records: list[AuditRecord]) -> None:
        for record in records:
            # A record copied before (a reader after a crash, or the writer itself) stays.
            with contextlib.suppress(DuplicateKeyError, BulkWriteError):
                await self._audit.insert_one(_stored_record(record))

    async def audit_records(self, request_id: str) -> list[AuditRecord]:
        """The whole trail of a request, in order."""
        cursor = self._audit.find({"signature_request_id": request_id}).sort("seq", ASCENDING)
        return [AuditRecord.model_validate(document) async for document in cursor]

    async def list_for_signer(self, dossier_id: str, user_id: str) -> list[SignatureRequest]:
        """Open requests of a dossier this account may sign in, oldest first."""
        cursor = self._requests.find({
            "dossier_id": dossier_id, "state": RequestState.OPEN.value,
            "signer_user_ids": {"$in": [user_id]}}).sort("requested_at", ASCENDING)
        return [_request(document) async for document in cursor
                if document.get("dossier_id") == dossier_id]

    async def list_open_for_dossier(self, dossier_id: str) -> list[SignatureRequest]:
        """Open requests of a dossier, oldest first (what staff see as waiting)."""
        cursor = self._requests.find({"dossier_id": dossier_id,
                                      "state": RequestState.OPEN.value}
                                     ).sort("requested_at", ASCENDING)
        return [_request(document) async for document in cursor
                if document.get("dossier_id") == dossier_id]

    async def find_for_document(self, dossier_id: str, document_id: str, user_id: str
                                ) -> list[SignatureRequest]:
        """Open requests offering this document to this account."""
        cursor = self._requests.find({
            "dossier_id": dossier_id, "document_id": document_id,
            "state": RequestState.OPEN.value, "signer_user_ids": {"$in": [user_id]}})
        return [_request(document) async for document in cursor
                if document.get("dossier_id") == dossier_id]

    async def page(self, *, dossier_id: str | None, state: RequestState | None,
                   cursor: str | None, page_size: int, caller: Caller | None = None
                   ) -> tuple[list[SignatureRequest], str | None, int]:
        """Requests newest first, optionally of one dossier and/or state: one keyset page
        after `cursor` (a cursor of this very list and filters: CursorRefused otherwise), the
        next page's cursor and how many there are."""
        criteria: Document = {}
        if dossier_id is not None:
            criteria["dossier_id"] = dossier_id
        if state is not None:
            criteria["state"] = state.value
        total = await self._requests.count_documents(criteria)
        rows, next_cursor = await self._listing.page(
            self._requests, criteria, cursor=cursor, limit=page_size, caller=caller,
            scope=(dossier_id or "", state.value if state is not None else ""),
            # The last check (defence in depth): only the dossier asked for.
            keep=lambda row: dossier_id is None or row.get("dossier_id") == dossier_id)
        return [_request(document) for document in rows], next_cursor, total

    async def in_states(self, *states: RequestState, limit: int = 500
                        ) -> list[SignatureRequest]:
        """Requests in these states (the periodic job's work), oldest first."""
        cursor = self._requests.find({"state": {"$in": [s.value for s in states]}}
                                     ).sort("requested_at", ASCENDING).limit(limit)
        return [_request(document) async for document in cursor]

    async def claim_seal(self, request_id: str, now_ms: int, until_ms: int) -> bool:
        """Take the sealing of a request unless another replica holds it (compare-and-set)."""
        result = await self._requests.update_one(
            {"_id": request_id, "state": RequestState.SEALING.value,
             "$or": [{SEAL_CLAIM: {"$exists": False}}, {SEAL_CLAIM: {"$lt": now_ms}}]},
            {"$set": {SEAL_CLAIM: until_ms}})
        return result.matched_count == 1

    async def release_seal(self, request_id: str, problem: str) -> None:
        """A seal failed: say why and let the next round try again."""
        await self._requests.update_one({"_id": request_id},
                                        {"$set": {SEAL_CLAIM: 0, "problem": problem}})


# --- the mobile signature: enrolments of devices, nonces, SMS codes sent -----------------------

MOBILE_ENROLMENTS = "mobile_enrolments"
MOBILE_CHALLENGES = "mobile_challenges"
MOBILE_CODES_SENT = "mobile_codes_sent"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class MobileStore:
    """`mobile_enrolments`: one document per enrolled (or enrolling) device, compare-and-set on
    `version`; `mobile_challenges`: the nonces, each used once (`used` flipped by one update);
    `mobile_codes_sent`: when each account was sent an SMS code (the rate limit)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._enrolments = database[MOBILE_ENROLMENTS]
        self._challenges = database[MOBILE_CHALLENGES]
        self._codes = database[MOBILE_CODES_SENT]

    async def ensure_indexes(self) -> None:
        await self._enrolments.create_index([("user_id", ASCENDING)])
        await self._enrolments.create_index([("dossier_id", ASCENDING)])
        await self._codes.create_index([("user_id", ASCENDING), ("at_ms", ASCENDING)])

    async def insert(self, enrolment: Enrolment) -> None:
        await self._enrolments.insert_one({
            "_id": enrolment.enrolment_id,
            **enrolment.model_dump(mode="json", exclude={"enrolment_id"})})

    async def get(self, enrolment_id: str) -> Enrolment | None:
        document = await self._enrolments.find_one({"_id": enrolment_id})
        if document is None:
            return None
        return Enrolment.model_validate({**document, "enrolment_id": document["_id"]})

    async def save(self, enrolment: Enrolment) -> bool:
        """Store the changed enrolment unless another change came first (its version)."""
        expected = enrolment.version
        enrolment.version = expected + 1
        result = await self._enrolments.update_one(
            {"_id": enrolment.enrolment_id, "version": expected},
            {"$set": enrolment.model_dump(mode="json", exclude={"enrolment_id"})})
        if result.matched_count == 0:
            enrolment.version = expected
            return False
        return True

    async def find(self, *, dossier_id: str | None, user_id: str | None,
                   limit: int = 200) -> list[Enrolment]:
        criteria: Document = {}
        if dossier_id is not None:
            criteria["dossier_id"] = dossier_id
        if user_id is not None:
            criteria["user_id"] = user_id
        cursor = self._enrolments.find(criteria).sort("created_at", DESCENDING).limit(limit)
        return [Enrolment.model_validate({**document, "enrolment_id": document["_id"]})
                async for document in cursor
                if dossier_id is None or document.get("dossier_id") == dossier_id]

    async def code_sent(self, user_id: str, at: datetime) -> None:
        await self._codes.insert_one({"user_id": user_id, "at_ms": _ms(at)})

    async def codes_sent_since(self, user_id: str, since: datetime) -> list[datetime]:
        cursor = self._codes.find({"user_id": user_id, "at_ms": {"$gt": _ms(since)}})
        return [datetime.fromtimestamp(document["at_ms"] / 1000, tz=UTC)
                async for document in cursor if document.get("user_id") == user_id]

    async def add_challenge(self, challenge: Challenge) -> None:
        await self._challenges.insert_one({
            "_id": challenge.nonce, **challenge.model_dump(mode="json", exclude={"nonce"})})

    async def use_challenge(self, nonce: str) -> Challenge | None:
        """The nonce's challenge, marked used by this call; `used` is true in what comes back
        when an earlier call used it (a replay). None: never issued."""
        document = await self._challenges.find_one({"_id": nonce})
        if document is None:
            return None
        challenge = Challenge.model_validate({**document, "nonce": document["_id"]})
        if challenge.used:
            return challenge
        result = await self._challenges.update_one({"_id": nonce, "used": False},
                                                   {"$set": {"used": True}})
        challenge.used = result.matched_count == 0
        return challenge
