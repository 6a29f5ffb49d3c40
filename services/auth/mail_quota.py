"""At most a few account mails (reset links, registration confirmations) per address and hour.

Asking is answered the same whatever happens (no enumeration), so a refused mail is simply not
sent. Each mail is one inserted document whose inserted `forget_at` carries a TTL index: the
database forgets it after the window, without a sweep (inserted datetimes are stored as dates).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.mongo import Document
from services.auth.domain import hash_token

MAIL_QUOTA = "mail_quota"


class MailQuota:
    """Counts the mails of one purpose to one address within a sliding window."""

    def __init__(
        self, database: AsyncDatabase[Document], *, limit: int, window: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._mails = database[MAIL_QUOTA]
        self._limit = limit
        self._window = window
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """The count's index, and the TTL that forgets old mails."""
        await self._mails.create_index("key")
        await self._mails.create_index("forget_at", expireAfterSeconds=0)

    async def allow(self, purpose: str, normalized_email: str) -> bool:
        """Count one more mail; False (and not counted) when the address had its share."""
        now = self._clock()
        key = f"{purpose}:{hash_token(normalized_email)}"  # addresses are not kept readable
        mail_id = new_id()
        # Insert first, then count: two requests at once cannot both slip under the limit.
        await self._mails.insert_one(
            {"_id": mail_id, "key": key, "sent_at": now, "forget_at": now + self._window})
        recent = await self._mails.count_documents(
            {"key": key, "sent_at": {"$gt": now - self._window}})
        if recent > self._limit:
            await self._mails.delete_one({"_id": mail_id})
            return False
        return True
