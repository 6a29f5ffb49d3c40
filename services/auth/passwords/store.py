"""MongoDB access for password resets (with outbox): one document per reset link, its token
only as a hash, single use."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.auth import PasswordResetRequested
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events
from services.auth.accounts.store import INVITATION_RETENTION

PASSWORD_RESETS = "password_resets"  # noqa: S105 - a collection name


def _optional_utc(value: Any) -> datetime | None:
    return None if value is None else stored_utc(value)


class StoredPasswordReset:
    """A password-reset link as stored: the token only as its hash."""

    def __init__(self, doc: Document) -> None:
        self.reset_id: str = doc["_id"]
        self.user_id: str = doc["user_id"]
        self.expires_at = stored_utc(doc["expires_at"])
        self.used_at = _optional_utc(doc.get("used_at"))


class PasswordResetStore:
    """Password-reset links, one document each, with the event that mails each."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._resets = database[PASSWORD_RESETS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on; the unique one makes a token find one link."""
        await self._resets.create_index("token_hash", unique=True)
        await self._resets.create_index("user_id")
        await self._resets.create_index("purge_at", expireAfterSeconds=0)
        await self._resets.create_index(PENDING_COUNT_FIELD)

    async def insert_password_reset(
        self, event: PasswordResetRequested, token_hash: str, now: datetime
    ) -> None:
        """Store a reset link (its token only as a hash) and the event that mails it."""
        await self._resets.insert_one({
            "_id": event.reset_id, "user_id": event.user_id, "token_hash": token_hash,
            "created_at": now, "expires_at": event.expires_at, "used_at": None,
            "purge_at": event.expires_at + INVITATION_RETENTION,
            **new_document_events(event),
        })

    async def expire_open_password_resets(self, user_id: str, now: datetime) -> None:
        """End the user's unused reset links: only the newest one works."""
        await self._resets.update_many(
            {"user_id": user_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now}},
        )

    async def find_password_reset(self, token_hash: str) -> StoredPasswordReset | None:
        """The reset whose token hashes to `token_hash`."""
        doc = await self._resets.find_one({"token_hash": token_hash})
        return None if doc is None else StoredPasswordReset(doc)

    async def use_password_reset(self, reset_id: str, now: datetime) -> bool:
        """Mark the reset used; False if it was used or expired meanwhile (single use)."""
        result = await self._resets.update_one(
            {"_id": reset_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
        )
        return result.modified_count == 1
