"""MongoDB access of privacy: the access log (`staff_reads`), the data exports
(`privacy_exports`, `privacy_exports_running`), the notices of erased accounts
(`account_notices`), and what an erasure or an export reads and deletes of the account's records
in the other capabilities' collections (by the account's id).
"""

from collections.abc import AsyncIterator
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, InsertOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from libs.contracts.envelope import Event
from libs.contracts.privacy import ExportState, StaffRead
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import new_document_events, record_events
from services.auth.accounts.store import INVITATIONS, USERS
from services.auth.audit.store import AUDIT
from services.auth.eid.store import EID_LINKS
from services.auth.passwords.store import PASSWORD_RESETS
from services.auth.registration.store import REGISTRATIONS
from services.auth.sessions.lockout.store import UNLOCKS
from services.auth.sessions.store import SESSIONS

STAFF_READS = "staff_reads"
EXPORTS = "privacy_exports"
RUNNING = "privacy_exports_running"  # one per account: at most one export in progress
ACCOUNT_NOTICES = "account_notices"  # outbox of LoginDeleted, AccountErased (account gone)

# The records an erased account leaves in other collections, found by their `user_id`.
ACCOUNT_LINKED = (INVITATIONS, PASSWORD_RESETS, UNLOCKS, EID_LINKS, REGISTRATIONS)
# Records kept about an account (its data export), and the field that names it in each.
ACCOUNT_RECORDS: tuple[tuple[str, str, str], ...] = (
    (SESSIONS, "user_id", "session"),
    (EID_LINKS, "user_id", "eid_link"),
    (REGISTRATIONS, "user_id", "registration"),
    (AUDIT, "target", "audit_entry"),
)


# --- the access log ---------------------------------------------------------------------------


class StaffReads:
    """The staff reads of dossiers, append-only (retention and erasure remove them)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._reads = database[STAFF_READS]

    async def ensure_indexes(self) -> None:
        """A dossier's reads, a staff member's reads, and all of them, newest first."""
        await self._reads.create_index([("dossier_id", 1), ("at", DESCENDING)])
        await self._reads.create_index([("staff_id", 1), ("at", DESCENDING)])
        await self._reads.create_index([("at", DESCENDING)])

    async def insert_new(self, reads: list[StaffRead]) -> None:
        """Store a batch; reads stored before are skipped (the read id is the key)."""
        try:
            await self._reads.bulk_write(
                [InsertOne({"_id": read.read_id, **read.model_dump(exclude={"read_id"})})
                 for read in reads], ordered=False)
        except BulkWriteError as error:
            if any(item.get("code") != 11000 for item in error.details.get("writeErrors", [])):
                raise

    async def newest_first(self, query: Document, limit: int) -> AsyncIterator[StaffRead]:
        """At most `limit` reads matching `query`, newest first (ties: highest id first)."""
        cursor = self._reads.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        async for doc in cursor.limit(limit):
            yield StaffRead.model_validate({**doc, "read_id": doc["_id"],
                                            "at": stored_utc(doc["at"])})


# --- the data exports -------------------------------------------------------------------------


class ExportRecords:
    """The exports (each with its outbox) and the one running export per account."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._exports = database[EXPORTS]
        self._running = database[RUNNING]
        self._users = database[USERS]

    async def ensure_indexes(self) -> None:
        """Indexes of the exports' queries."""
        await self._exports.create_index([("account_id", ASCENDING),
                                          ("requested_at_ms", DESCENDING)])
        await self._exports.create_index([("state", ASCENDING), ("deadline_ms", ASCENDING)])

    async def account(self, account_id: str) -> Document | None:
        """The stored account the export is of (address, language, dossiers)."""
        return await self._users.find_one({"_id": account_id})

    async def find(self, export_id: str) -> Document | None:
        """The export with this id."""
        return await self._exports.find_one({"_id": export_id})

    async def running_of(self, account_id: str) -> Document | None:
        """Which export of the account is in progress, if one is marked so."""
        return await self._running.find_one({"_id": account_id})

    async def claim_running(self, account_id: str, export_id: str) -> bool:
        """Mark `export_id` the account's export in progress; False if one already is."""
        try:
            await self._running.insert_one({"_id": account_id, "export_id": export_id})
        except DuplicateKeyError:
            return False
        return True

    async def end_running(self, account_id: str, export_id: str) -> None:
        """The account's export `export_id` is no longer in progress."""
        await self._running.delete_one({"_id": account_id, "export_id": export_id})

    async def count_requested_since(self, account_id: str, since_ms: int) -> int:
        """How many exports the account asked for after `since_ms`."""
        return await self._exports.count_documents(
            {"account_id": account_id, "requested_at_ms": {"$gt": since_ms}})

    async def insert(self, stored: Document) -> None:
        """Store a new export (its ExportRequested in the outbox fields of `stored`)."""
        await self._exports.insert_one(stored)

    async def of_account(self, account_id: str, limit: int) -> list[Document]:
        """The account's exports, newest first."""
        cursor = self._exports.find({"account_id": account_id}).sort(
            "requested_at_ms", DESCENDING).limit(limit)
        return [found async for found in cursor]

    async def listed(self, state: ExportState | None, limit: int) -> list[Document]:
        """Every export (in `state`, when given), newest first."""
        match: Document = {} if state is None else {"state": state.value}
        cursor = self._exports.find(match).sort("requested_at_ms", DESCENDING).limit(limit)
        return [found async for found in cursor]

    async def set_part(self, export_id: str, part: str, attempt: int,
                       progress: Document) -> None:
        """A running export's `part` at `attempt` is now `progress` (a later attempt wins)."""
        await self._exports.update_one(
            {"_id": export_id, "state": ExportState.RUNNING.value,
             f"parts.{part}.attempt": attempt},
            {"$set": {f"parts.{part}": progress}})

    async def ask_part_again(self, export_id: str, part: str, attempt: int, progress: Document,
                             again: Event) -> None:
        """The part's `attempt` failed: store its next attempt with the event that asks it."""
        await self._exports.update_one(
            {"_id": export_id, f"parts.{part}.attempt": attempt},
            record_events({"$set": {f"parts.{part}": progress}}, again))

    async def claim_assembly(self, export_id: str, now_ms: int,
                             until_ms: int) -> Document | None:
        """Claim a running export's assembly until `until_ms`; None if another holds it."""
        return await self._exports.find_one_and_update(
            {"_id": export_id, "state": ExportState.RUNNING.value,
             "assembling_until_ms": {"$lt": now_ms}},
            {"$set": {"assembling_until_ms": until_ms}})

    async def mark_ready(self, export_id: str, fields: Document, ready: Event) -> None:
        """A running export is ready: `fields` set, with the event that mails the link."""
        await self._exports.update_one(
            {"_id": export_id, "state": ExportState.RUNNING.value},
            record_events({"$set": {"state": ExportState.READY.value, **fields}}, ready))

    async def mark_failed(self, export_id: str, failures: dict[str, str],
                          expires_ms: int) -> None:
        """A running export failed (which part, why); its record goes at `expires_ms`."""
        await self._exports.update_one(
            {"_id": export_id, "state": ExportState.RUNNING.value},
            {"$set": {"state": ExportState.FAILED.value, "failed_parts": failures,
                      "expires_ms": expires_ms}})

    async def mentioning_dossier(self, dossier_id: str) -> AsyncIterator[Document]:
        """The exports holding the dossier's data."""
        async for found in self._exports.find({"dossier_ids": {"$in": [dossier_id]}}):
            yield found

    async def delete(self, export_id: str) -> None:
        """Forget the export (and that it runs)."""
        await self._running.delete_many({"export_id": export_id})
        await self._exports.delete_one({"_id": export_id})

    async def running(self) -> AsyncIterator[Document]:
        """The exports in progress."""
        async for found in self._exports.find({"state": ExportState.RUNNING.value}):
            yield found

    async def past_lifetime(self, now_ms: int) -> AsyncIterator[Document]:
        """Ready or failed exports whose lifetime ended before `now_ms`."""
        async for found in self._exports.find(
                {"state": {"$in": [ExportState.READY.value, ExportState.FAILED.value]},
                 "expires_ms": {"$lt": now_ms}}):
            yield found

    async def mark_ended(self, export_id: str, state: ExportState) -> None:
        """The export's lifetime is over: it stays listed in `state`."""
        await self._exports.update_one({"_id": export_id}, {
            "$set": {"state": state.value}, "$unset": {"expires_ms": ""}})


# --- the account's records --------------------------------------------------------------------


class AccountRecords:
    """An account and its records across the auth database: erased together, exported
    together; and the notices that tell of an account gone."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database
        self._users = database[USERS]
        self._notices = database[ACCOUNT_NOTICES]

    async def ensure_indexes(self) -> None:
        """The purge of sent notices."""
        await self._notices.create_index("purge_at", expireAfterSeconds=0)

    async def find_account(self, user_id: str) -> Document | None:
        """The stored account."""
        return await self._users.find_one({"_id": user_id})

    async def accounts_with(self, dossier_id: str) -> list[Document]:
        """The accounts granted the dossier."""
        cursor = self._users.find({"dossier_ids": {"$in": [dossier_id]}})
        return [doc async for doc in cursor]

    async def take_dossier(self, user_id: str, dossier_id: str) -> None:
        """Remove the dossier from the account's grants."""
        await self._users.update_one({"_id": user_id}, {"$pull": {"dossier_ids": dossier_id}})

    async def delete_linked(self, user_id: str) -> dict[str, int]:
        """Delete the account's invitations, reset and unlock links, eID links and
        registrations; how many of each."""
        deleted: dict[str, int] = {}
        for name in ACCOUNT_LINKED:
            result = await self._database[name].delete_many({"user_id": user_id})
            deleted[name] = result.deleted_count
        return deleted

    async def delete_account(self, user_id: str) -> Document | None:
        """Delete the login itself (with its preferences and eID); the deleted document."""
        return await self._users.find_one_and_delete({"_id": user_id})

    async def insert_notice(self, event: Event, purge_at: datetime) -> None:
        """Store a notice in a document of its own (the account it tells of is gone)."""
        await self._notices.insert_one(
            {"_id": event.event_id, "purge_at": purge_at, **new_document_events(event)})

    async def records_of(self, account_id: str,
                         limit_per_kind: int) -> list[tuple[str, Document]]:
        """The records kept about the account (ACCOUNT_RECORDS), as (kind, document)."""
        records: list[tuple[str, Document]] = []
        for collection, field, kind in ACCOUNT_RECORDS:
            cursor = self._database[collection].find({field: account_id}).sort("_id", 1)
            async for stored in cursor.limit(limit_per_kind):
                records.append((kind, stored))
        return records

