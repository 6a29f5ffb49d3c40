"""Failed-login counts in MongoDB: one document per throttle key, shared by every replica.

A document holds the consecutive count (reset by a success of the owner) and the moments of the
latest failures (a bounded list, for the IP's sliding window). A TTL index forgets a key a day
after its last failure, well past the longest back-off and the widest window.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from libs.servicekit.mongo import Document, stored_utc
from services.auth.sessions.throttle import ThrottleState

THROTTLES = "login_throttles"
THROTTLE_MEMORY = timedelta(hours=24)


def _state(doc: Document) -> ThrottleState:
    return ThrottleState(
        key=doc["_id"], failures=int(doc["failures"]),
        last_failure_at=stored_utc(doc["last"]["failure_at"]),
        # Moments as seconds since the epoch: numbers survive `$push` on every server.
        recent_failures=tuple(datetime.fromtimestamp(float(epoch), UTC)
                              for epoch in doc.get("recent") or []),
    )


class ThrottleRecords:
    """The stored failures of throttle keys (see services.auth.sessions.throttle)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._throttles = database[THROTTLES]

    async def ensure_indexes(self) -> None:
        """The TTL that forgets quiet keys."""
        await self._throttles.create_index("last.forget_at", expireAfterSeconds=0)

    async def find_throttles(self, keys: Sequence[str]) -> list[ThrottleState]:
        """The failures of `keys` (keys without failures are absent)."""
        cursor = self._throttles.find({"_id": {"$in": list(keys)}})
        return [_state(doc) async for doc in cursor]

    async def record_failure(self, key: str, now: datetime, keep_recent: int) -> ThrottleState:
        """Count one more failure of `key`, atomically (replicas share the count)."""
        doc = await self._throttles.find_one_and_update(
            # A sub-document set as a whole keeps its dates as dates (a top-level $set would
            # store a string), so the TTL index on `last.forget_at` can forget quiet keys.
            {"_id": key},
            {"$inc": {"failures": 1},
             "$push": {"recent": {"$each": [now.timestamp()], "$slice": -keep_recent}},
             "$set": {"last": {"failure_at": now, "forget_at": now + THROTTLE_MEMORY}}},
            upsert=True, return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upsert with ReturnDocument.AFTER always returns the document
        return _state(doc)

    async def clear_throttles(self, keys: Sequence[str]) -> None:
        """Forget the failures of `keys`: a success resets their back-off."""
        if keys:
            await self._throttles.delete_many({"_id": {"$in": list(keys)}})
