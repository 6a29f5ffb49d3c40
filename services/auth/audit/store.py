"""MongoDB access for the staff audit log: appended once, never changed, read newest first."""

import contextlib
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.auth import AuditEntry
from libs.servicekit.mongo import Document, stored_utc

AUDIT = "audit_log"


class AuditStore:
    """The append-only audit log, one document per staff action."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._audit = database[AUDIT]

    async def ensure_indexes(self) -> None:
        """The index the newest-first pages read."""
        await self._audit.create_index("at")

    async def append(self, entry: AuditEntry) -> None:
        """Write one staff action; entries are never changed."""
        with contextlib.suppress(DuplicateKeyError):  # the same entry twice (a retried write)
            await self._audit.insert_one({"_id": entry.entry_id, **entry.model_dump(
                exclude={"entry_id"})})

    async def newest_first(
        self, *, actor_id: str | None, action_kind: str | None,
        boundary: tuple[datetime, str] | None, limit: int,
    ) -> tuple[list[AuditEntry], bool]:
        """Up to `limit` entries strictly older than `boundary` (moment, id), newest first, of
        one staff member and kind of action when given; and whether more follow."""
        query: dict[str, Any] = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        if action_kind is not None:
            query["action"] = {"$regex": f"^{action_kind}\\."}
        if boundary is not None:
            query["at"] = {"$lte": boundary[0]}
        found: list[AuditEntry] = []
        # Entries of the boundary's very moment that were shown already are skipped: read a
        # few more than a page, as ties on a millisecond are rare.
        cursor = self._audit.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        async for doc in cursor.limit(limit + 1 + (20 if boundary else 0)):
            entry = AuditEntry.model_validate(
                {**doc, "entry_id": doc["_id"], "at": stored_utc(doc["at"])})
            if boundary is not None and (entry.at, entry.entry_id) >= boundary:
                continue
            found.append(entry)
            if len(found) > limit:
                break
        return found[:limit], len(found) > limit
