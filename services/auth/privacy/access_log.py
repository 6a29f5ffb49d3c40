"""The access log, "Wie bekeek mijn dossier": every staff read of a dossier's data.

The gateway sees every read and publishes them in batches (`gateway.staff_reads.recorded`); this
service stores them, append-only (only the retention job and an erasure remove entries). Auth
owns the log because it owns the staff accounts and the other audit trail: a read is shown with
the staff member's name, and the office admin reads both logs in one place. The dossier service
is a copy of the broker's system that imports replace: no place for the office's own records.

Who reads what: a client the reads of their own dossiers, a staff member their own reads, the
office admin every read. A page ends at its oldest entry; the next starts below it (`before`).
"""

from datetime import datetime
from typing import Any

from libs.contracts.caller import Role
from libs.contracts.privacy import StaffRead, StaffReadLog, StaffReadQuery, StaffReadsRecorded
from libs.servicekit.errors import Forbidden, Invalid, NotFound
from libs.servicekit.logs import get_logger
from services.auth.privacy.store import StaffReads

log = get_logger(__name__)


def read_cursor(read: StaffRead) -> str:
    """Where the page after `read` starts (its moment and id)."""
    return f"{read.at.isoformat()}/{read.read_id}"


class AccessLog:
    """Stores the staff reads the gateways publish; answers LIST_STAFF_READS."""

    def __init__(self, reads: StaffReads) -> None:
        self._reads = reads

    async def ensure_indexes(self) -> None:
        """The indexes of the stored reads."""
        await self._reads.ensure_indexes()

    async def on_reads_recorded(self, event: StaffReadsRecorded) -> None:
        """Store a batch; a redelivered batch stores nothing twice (the read id is the key)."""
        if not event.reads:
            return
        await self._reads.insert_new(event.reads)
        log.info("staff reads stored", count=len(event.reads), event_id=event.event_id)

    async def list_reads(self, request: StaffReadQuery) -> StaffReadLog:
        """One page of reads, newest first, of what the caller may see."""
        query: dict[str, Any] = {}
        caller = request.caller
        if caller.role is Role.CLIENT:
            if request.dossier_id is None or not caller.may_see_dossier(request.dossier_id):
                raise NotFound("This dossier does not exist.")
            if request.staff_id is not None:
                raise Invalid("A client reads the log of a dossier, not of a staff member.")
        elif caller.role is not Role.ADMIN and request.staff_id not in (None, caller.user_id):
            raise Forbidden("Only the office admin reads another staff member's history.")
        elif caller.role is not Role.ADMIN:
            query["staff_id"] = caller.user_id  # an agent: their own reads only
        if request.dossier_id is not None:
            query["dossier_id"] = request.dossier_id
        if request.staff_id is not None:
            query["staff_id"] = request.staff_id
        boundary: tuple[datetime, str] | None = None
        if request.before is not None:
            moment, _, read_id = request.before.partition("/")
            try:
                boundary = (datetime.fromisoformat(moment), read_id)
            except ValueError:
                raise Invalid("This page link is damaged: open the list from its start.") from None
            query["at"] = {"$lte": boundary[0]}
        found: list[StaffRead] = []
        async for read in self._reads.newest_first(
                query, request.limit + 1 + (20 if boundary else 0)):
            if boundary is not None and (read.at, read.read_id) >= boundary:
                continue
            if read.dossier_id != request.dossier_id and request.dossier_id is not None:
                continue  # final filter: never a read of another dossier
            found.append(read)
            if len(found) > request.limit:
                break
        page = found[:request.limit]
        more = len(found) > request.limit
        return StaffReadLog(reads=page, next_before=read_cursor(page[-1]) if more and page
                            else None)
