"""Dossier grants taken away, told to the gateways at once (GrantRevoked), like logouts.

An access token carries the client's dossiers for up to five minutes. Removing the grant from
the account only changes the next token; so each removal is also recorded with the event that
tells every gateway to stop honouring the dossier in tokens issued until then, and a starting
gateway reads the recent ones (with the revoked sessions) to fill its list. The records are
accounts' store's (GrantRevocationRecords, collection `grant_revocations`).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts.auth import GrantRevoked, RevokedGrant
from libs.contracts.envelope import utc_now
from libs.servicekit.logs import correlation_id
from services.auth.accounts.store import GrantRevocationRecords

# The event is written just before the grant is removed; a token refreshed in between still
# carries the dossier. Tokens issued this long after the record lose it too (their `iat` is in
# whole seconds), so none slips through; a grant given again within it waits for a refresh.
REMOVAL_MARGIN = timedelta(seconds=2)


class GrantRevocations:
    """Records grants taken away, each with its GrantRevoked, and says which were since when."""

    def __init__(
        self, records: GrantRevocationRecords, *, notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._records = records
        self._notify = notify
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """The indexes of the records."""
        await self._records.ensure_indexes()

    async def record(self, user_id: str, dossier_id: str) -> None:
        """Tell the gateways that `user_id` loses `dossier_id` now.

        Written before the grant is removed: a crash in between leaves a grant that a refresh
        gives back, never a removed grant that the gateways did not hear of.
        """
        event = GrantRevoked(user_id=user_id, dossier_id=dossier_id,
                             revoked_at=self._clock() + REMOVAL_MARGIN,
                             correlation_id=correlation_id.get())
        await self._records.insert(event)
        self._notify()

    async def since(self, moment: datetime) -> list[RevokedGrant]:
        """The grants taken away at or after `moment`."""
        return await self._records.since(moment)
