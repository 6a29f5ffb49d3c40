"""Reading the staff audit log (ASVS 16.2): newest first, by kind of action or staff member.

Entries name people by their user id (ids do not change; names and addresses may): the reader
adds the accounts' current names, so the office reads "Els Janssens disabled the account of
Pieter Dupont" instead of hex ids. A page ends at its oldest entry; the next page is read
below that entry's moment and id (`before`), one range of the `at` index.
"""

from datetime import datetime

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Forbidden
from services.auth.accounts.store import AuthStore
from services.auth.audit.store import AuditStore

# Details that hold a user id: their account's name is shown instead.
USER_ID_DETAILS = ("user_id",)


def audit_cursor(entry: auth.AuditEntry) -> str:
    """Where the page after `entry` starts (its moment and id)."""
    return f"{entry.at.isoformat()}/{entry.entry_id}"


class AuditLogHandlers:
    """LIST_AUDIT for the office admin's audit page and the admin API; LIST_STAFF, the names
    of the staff, for every staff member."""

    def __init__(self, audit: AuditStore, accounts: AuthStore) -> None:
        self._audit = audit
        self._accounts = accounts

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
        boundary: tuple[datetime, str] | None = None
        if request.before is not None:
            moment, _, entry_id = request.before.partition("/")
            boundary = (datetime.fromisoformat(moment), entry_id)
        return await self._audit.newest_first(
            actor_id=request.actor_id, action_kind=request.action_kind, boundary=boundary,
            limit=request.limit)

    async def _names(self, user_ids: set[str]) -> dict[str, str]:
        return await self._accounts.display_names(user_ids)

    async def list_staff(self, request: auth.StaffDirectoryRequest) -> auth.StaffDirectory:
        """The active staff accounts by name, for any staff member (the request desk assigns
        requests to colleagues; an agent's account lists show no staff otherwise)."""
        require_staff(request.caller)
        return auth.StaffDirectory(staff=await self._staff(active_only=True))

    async def _staff(self, *, active_only: bool = False) -> list[auth.StaffMember]:
        return [auth.StaffMember(user_id=user_id, display_name=name)
                for user_id, name in await self._accounts.staff_names(active_only=active_only)]
