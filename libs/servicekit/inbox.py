"""Idempotent consumers: a processed event id is stored with the effect, so a redelivery is a no-op.
"""

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.envelope import Event, utc_now
from libs.servicekit.mongo import Document

PROCESSED_EVENTS = "processed_events"


class Inbox:
    """Which events one consumer has already handled, in the consumer service's own database."""

    def __init__(self, database: AsyncDatabase[Document], consumer: str) -> None:
        self._collection = database[PROCESSED_EVENTS]
        self._consumer = consumer

    def _key(self, event: Event) -> str:
        return f"{self._consumer}:{event.event_id}"

    async def already_processed(self, event: Event) -> bool:
        """True when this consumer has recorded `event` before."""
        return await self._collection.find_one({"_id": self._key(event)}) is not None

    async def record(self, event: Event, effect: dict[str, Any] | None = None) -> bool:
        """Record `event` as handled with a summary of its effect; False if it already was."""
        try:
            await self._collection.insert_one({
                "_id": self._key(event),
                "routing_key": event.routing_key,
                "processed_at": utc_now(),
                "effect": effect or {},
            })
        except DuplicateKeyError:
            return False
        return True
