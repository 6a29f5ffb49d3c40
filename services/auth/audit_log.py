"""Reading the staff audit log (ASVS 16.2): newest first, by kind of action or staff member.

Entries name people by their user id (ids do not change; names and addresses may): the reader
adds the accounts' current names, so the office reads "Els Janssens disabled the account of
Pieter Dupont" instead of hex ids. A page ends at its oldest entry; the next page is read
below that entry's moment and id (`before`), one range of the `at` index.
"""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import auth
from libs.contracts.caller import STAFF_ROLES, Role
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Forbidden
from libs.servicekit.mongo import Document, stored_utc
from services.auth.domain import UserStatus
from services.auth.registration_store import AUDIT
from services.auth.store import USERS

# Details that hold a user id: their account's name is shown instead.
USER_ID_DETAILS = ("user_id",)


def audit_cursor(entry: auth.AuditEntry) -> str:
    """Where the page after `entry` starts (its moment and id)."""
    return f"{entry.at.isoformat()}/{entry.entry_id}"


class AuditLogHandlers:
    """LIST_AUDIT for the office admin's audit page and the admin API; LIST_STAFF, the names
    of the staff, for every staff member."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._audit = database[AUDIT]
        self._users = database[USERS]

    async def list_audit(self, request: auth.AuditQuery) -> auth.AuditLog:
        """One page of staff actions, newest first, with the names of the people in them."""
        if request.caller.role is not Role.ADMIN:
            raise Forbidden("Only the office admin reads the audit log.")
        entries, more = await self._entries(request)
        names = await self._names({entry.actor_id for entry in entries}
                                  | {entry.target for entry in entries}
                                  | {entry.details[key] for entry in entries
                                     for key in USER_ID_DETAILS if key in entry.details})
        named = [entry.model_copy(update={
            "actor_name": names.get(entry.actor_id),
            "target_name": names.get(entry.target) or next(
                (names[entry.details[key]] for key in USER_ID_DETAILS
                 if entry.details.get(key) in names), None)}) for entry in entries]
        return auth.AuditLog(
            entries=named, next_before=audit_cursor(named[-1]) if more and named else None,
            staff=await self._staff())

    async def _entries(self, request: auth.AuditQuery) -> tuple[list[auth.AuditEntry], bool]:
        query: dict[str, Any] = {}
        if request.actor_id is not None:
            query["actor_id"] = request.actor_id
        if request.action_kind is not None:
            query["action"] = {"$regex": f"^{request.action_kind}\\."}
        boundary: tuple[datetime, str] | None = None
        if request.before is not None:
            moment, _, entry_id = request.before.partition("/")
            boundary = (datetime.fromisoformat(moment), entry_id)
            query["at"] = {"$lte": boundary[0]}
        found: list[auth.AuditEntry] = []
        # Entries of the boundary's very moment that were shown already are skipped: read a
        # few more than a page, as ties on a millisecond are rare.
        cursor = self._audit.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        async for doc in cursor.limit(request.limit + 1 + (20 if boundary else 0)):
            entry = auth.AuditEntry.model_validate(
                {**doc, "entry_id": doc["_id"], "at": stored_utc(doc["at"])})
            if boundary is not None and (entry.at, entry.entry_id) >= boundary:
                continue
            found.append(entry)
            if len(found) > request.limit:
                break
        return found[:request.limit], len(found) > request.limit

    async def _names(self, user_ids: set[str]) -> dict[str, str]:
        cursor = self._users.find({"_id": {"$in": sorted(user_ids)}}, {"display_name": 1})
        return {doc["_id"]: doc["display_name"] async for doc in cursor}

    async def list_staff(self, request: auth.StaffDirectoryRequest) -> auth.StaffDirectory:
        """The active staff accounts by name, for any staff member (the request desk assigns
        requests to colleagues; an agent's account lists show no staff otherwise)."""
        require_staff(request.caller)
        return auth.StaffDirectory(staff=await self._staff(active_only=True))

    async def _staff(self, *, active_only: bool = False) -> list[auth.StaffMember]:
        query: dict[str, Any] = {"role": {"$in": sorted(r.value for r in STAFF_ROLES)}}
        if active_only:
            query["status"] = UserStatus.ACTIVE.value
        cursor = self._users.find(query, {"display_name": 1}).sort("display_name", 1)
        return [auth.StaffMember(user_id=doc["_id"], display_name=doc["display_name"])
                async for doc in cursor]
