"""MongoDB access of the login lockout: its two collections, and nothing else touches them.

`login_throttles` (ThrottleRecords): failed-login counts, one document per throttle key, shared
by every replica. A document holds the consecutive count (reset by a success of the owner) and
the moments of the latest failures (a bounded list, for the IP's sliding window). A TTL index
forgets a key a day after its last failure, well past the longest back-off and the widest window.

`login_unlocks` (UnlockLinks): the mailed unlock links, single use, short-lived, the token only
as its hash; each link is stored with the LoginLockedOut event that mails it (transactional
outbox).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.lockout import LoginLockedOut
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events
from services.auth.accounts.store import INVITATION_RETENTION
from services.auth.sessions.lockout.domain import ThrottleState

THROTTLES = "login_throttles"
UNLOCKS = "login_unlocks"
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
    """The stored failures of throttle keys (see services.auth.sessions.lockout.domain)."""

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


class StoredUnlock:
    """An unlock link as stored."""

    def __init__(self, doc: Document) -> None:
        self.unlock_id: str = doc["_id"]
        self.user_id: str = doc["user_id"]
        self.expires_at = stored_utc(doc["expires_at"])
        self.used_at = None if doc.get("used_at") is None else stored_utc(doc["used_at"])


class UnlockLinks:
    """The unlock links mailed to owners of locked addresses."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._links = database[UNLOCKS]

    async def ensure_indexes(self) -> None:
        """Lookup by token hash (unique), by user, the outbox, and the purge of old links."""
        await self._links.create_index("token_hash", unique=True)
        await self._links.create_index("user_id")
        await self._links.create_index("purge_at", expireAfterSeconds=0)
        await self._links.create_index(PENDING_COUNT_FIELD)

    async def insert(self, event: LoginLockedOut, token_hash: str, now: datetime) -> None:
        """Store a new link (older open links of the user end) with the event that mails it."""
        await self._links.update_many(
            {"user_id": event.user_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now}})
        await self._links.insert_one({
            "_id": event.unlock_id, "user_id": event.user_id, "token_hash": token_hash,
            "created_at": now, "expires_at": event.expires_at, "used_at": None,
            "wrong_passwords": 0, "purge_at": event.expires_at + INVITATION_RETENTION,
            **new_document_events(event),
        })

    async def find(self, token_hash: str) -> StoredUnlock | None:
        """The link whose token hashes to `token_hash`."""
        doc = await self._links.find_one({"token_hash": token_hash})
        return None if doc is None else StoredUnlock(doc)

    async def use(self, unlock_id: str, now: datetime) -> bool:
        """Mark the link used; False if it was used or expired meanwhile (single use)."""
        result = await self._links.update_one(
            {"_id": unlock_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}})
        return result.modified_count == 1

    async def wrong_password(self, unlock_id: str, now: datetime, allowed: int) -> None:
        """Count a wrong password typed with the link; after `allowed` of them it ends."""
        doc = await self._links.find_one_and_update(
            {"_id": unlock_id}, {"$inc": {"wrong_passwords": 1}},
            return_document=ReturnDocument.AFTER)
        if doc is not None and int(doc["wrong_passwords"]) >= allowed:
            await self._links.update_one({"_id": unlock_id, "used_at": None},
                                         {"$set": {"expires_at": now}})
