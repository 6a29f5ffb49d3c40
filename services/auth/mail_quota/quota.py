"""At most a few account mails (reset links, registration confirmations) per address and hour.

Asking is answered the same whatever happens (no enumeration), so a refused mail is simply not
sent. Each mail is one inserted document whose inserted `forget_at` carries a TTL index: the
database forgets it after the window, without a sweep (inserted datetimes are stored as dates).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts.envelope import new_id, utc_now
from services.auth.domain import hash_token
from services.auth.mail_quota.store import MailQuotaStore


class MailQuota:
    """Counts the mails of one purpose to one address within a sliding window."""

    def __init__(
        self, store: MailQuotaStore, *, limit: int, window: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._mails = store
        self._limit = limit
        self._window = window
        self._clock = clock

    async def allow(self, purpose: str, normalized_email: str) -> bool:
        """Count one more mail; False (and not counted) when the address had its share."""
        now = self._clock()
        key = f"{purpose}:{hash_token(normalized_email)}"  # addresses are not kept readable
        mail_id = new_id()
        # Insert first, then count: two requests at once cannot both slip under the limit.
        await self._mails.add(mail_id, key, now, now + self._window)
        recent = await self._mails.count_since(key, now - self._window)
        if recent > self._limit:
            await self._mails.remove(mail_id)
            return False
        return True
