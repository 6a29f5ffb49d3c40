"""Unlock links in MongoDB: single use, short-lived, the token only as its hash.

Each link is stored with the LoginLockedOut event that mails it (transactional outbox).
"""

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.lockout import LoginLockedOut
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events
from services.auth.accounts.store import INVITATION_RETENTION

UNLOCKS = "login_unlocks"


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
