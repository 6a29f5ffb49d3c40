"""MongoDB access for sessions (with outbox): one document per session, its refresh token only
as a hash, the earlier ones kept to detect their reuse."""

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.auth import SessionRevoked
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, record_events
from services.auth.domain import SessionRecord

SESSIONS = "sessions"
PREVIOUS_HASHES_KEPT = 50  # rotated refresh tokens remembered per session, for reuse detection
# Kept past their end so a late logout, reuse or "revoked since" question still finds them.
SESSION_RETENTION = timedelta(days=7)


def _optional_utc(value: Any) -> datetime | None:
    return None if value is None else stored_utc(value)


def _session(doc: Document) -> SessionRecord:
    return SessionRecord(
        session_id=doc["_id"], user_id=doc["user_id"],
        refresh_token_hash=doc["refresh_token_hash"],
        previous_refresh_hashes=list(doc.get("previous_refresh_hashes") or []),
        created_at=stored_utc(doc["created_at"]),
        last_refreshed_at=stored_utc(doc["last_refreshed_at"]),
        revoked_at=_optional_utc(doc.get("revoked_at")),
    )


class SessionStore:
    """Sessions, one document each; a revoked session carries its SessionRevoked event."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._sessions = database[SESSIONS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on; the unique one enforces one token per session."""
        await self._sessions.create_index("refresh_token_hash", unique=True)
        await self._sessions.create_index("previous_refresh_hashes")
        await self._sessions.create_index("revoked_at")
        await self._sessions.create_index("purge_at", expireAfterSeconds=0)
        await self._sessions.create_index("user_id")
        await self._sessions.create_index(PENDING_COUNT_FIELD)

    async def insert_session(self, session: SessionRecord, purge_at: datetime) -> None:
        """Store a new session (its refresh token only as a hash)."""
        await self._sessions.insert_one({
            "_id": session.session_id, "user_id": session.user_id,
            "refresh_token_hash": session.refresh_token_hash, "previous_refresh_hashes": [],
            "created_at": session.created_at, "last_refreshed_at": session.last_refreshed_at,
            "revoked_at": None, "revoked_reason": None, "purge_at": purge_at,
        })

    async def find_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id."""
        doc = await self._sessions.find_one({"_id": session_id})
        return None if doc is None else _session(doc)

    async def find_session_by_refresh_hash(self, token_hash: str) -> SessionRecord | None:
        """The session whose current or an earlier refresh token hashes to `token_hash`."""
        doc = await self._sessions.find_one({"$or": [
            {"refresh_token_hash": token_hash},
            {"previous_refresh_hashes": {"$in": [token_hash]}},
        ]})
        return None if doc is None else _session(doc)

    async def rotate_refresh_token(
        self, session_id: str, old_hash: str, new_hash: str, now: datetime, purge_at: datetime
    ) -> bool:
        """Replace the refresh token; False if another refresh or a logout won the race."""
        result = await self._sessions.update_one(
            {"_id": session_id, "refresh_token_hash": old_hash, "revoked_at": None},
            {"$set": {"refresh_token_hash": new_hash, "last_refreshed_at": now,
                      "purge_at": purge_at},
             "$push": {"previous_refresh_hashes": {"$each": [old_hash],
                                                   "$slice": -PREVIOUS_HASHES_KEPT}}},
        )
        return result.modified_count == 1

    async def revoke_session(
        self, session: SessionRecord, reason: str, now: datetime, event: SessionRevoked
    ) -> bool:
        """End the session and store SessionRevoked with it; False if it had already ended."""
        update = record_events(
            {"$set": {"revoked_at": now, "revoked_reason": reason,
                      "purge_at": now + SESSION_RETENTION}},
            event,
        )
        result = await self._sessions.update_one(
            {"_id": session.session_id, "revoked_at": None}, update
        )
        return result.modified_count == 1

    async def open_sessions_of(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions that have not been ended."""
        cursor = self._sessions.find({"user_id": user_id, "revoked_at": None})
        return [_session(doc) async for doc in cursor]

    async def sessions_revoked_since(self, since: datetime) -> list[str]:
        """Ids of the sessions ended at or after `since`."""
        cursor = self._sessions.find({"revoked_at": {"$gte": since}}, {"_id": 1})
        return [doc["_id"] async for doc in cursor]
