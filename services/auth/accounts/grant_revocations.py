"""Dossier grants taken away, told to the gateways at once (GrantRevoked), like logouts.

An access token carries the client's dossiers for up to five minutes. Removing the grant from
the account only changes the next token; so each removal is also recorded with the event that
tells every gateway to stop honouring the dossier in tokens issued until then, and a starting
gateway reads the recent ones (with the revoked sessions) to fill its list.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.auth import GrantRevoked, RevokedGrant
from libs.contracts.envelope import utc_now
from libs.servicekit.logs import correlation_id
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events

GRANT_REVOCATIONS = "grant_revocations"
# Far longer than any access token lives: a gateway asking "since" always finds them.
REVOCATION_RETENTION = timedelta(days=1)
# The event is written just before the grant is removed; a token refreshed in between still
# carries the dossier. Tokens issued this long after the record lose it too (their `iat` is in
# whole seconds), so none slips through; a grant given again within it waits for a refresh.
REMOVAL_MARGIN = timedelta(seconds=2)


class GrantRevocations:
    """The record of grants taken away; each document carries its GrantRevoked in its outbox."""

    def __init__(
        self, database: AsyncDatabase[Document], *, notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._revocations = database[GRANT_REVOCATIONS]
        self._notify = notify
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """The "since" lookup, the purge and the outbox relay's pending lookup."""
        await self._revocations.create_index("revoked_at")
        await self._revocations.create_index("purge_at", expireAfterSeconds=0)
        await self._revocations.create_index(PENDING_COUNT_FIELD)

    async def record(self, user_id: str, dossier_id: str) -> None:
        """Tell the gateways that `user_id` loses `dossier_id` now.

        Written before the grant is removed: a crash in between leaves a grant that a refresh
        gives back, never a removed grant that the gateways did not hear of.
        """
        event = GrantRevoked(user_id=user_id, dossier_id=dossier_id,
                             revoked_at=self._clock() + REMOVAL_MARGIN,
                             correlation_id=correlation_id.get())
        await self._revocations.insert_one({
            "_id": event.event_id, "user_id": user_id, "dossier_id": dossier_id,
            "revoked_at": event.revoked_at,
            "purge_at": event.revoked_at + REVOCATION_RETENTION,
            **new_document_events(event),
        })
        self._notify()

    async def since(self, moment: datetime) -> list[RevokedGrant]:
        """The grants taken away at or after `moment`."""
        cursor = self._revocations.find(
            {"revoked_at": {"$gte": moment}}, {"user_id": 1, "dossier_id": 1, "revoked_at": 1})
        return [RevokedGrant(user_id=doc["user_id"], dossier_id=doc["dossier_id"],
                             revoked_at=stored_utc(doc["revoked_at"])) async for doc in cursor]
