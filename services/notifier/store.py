"""The notifier's MongoDB access: only which events it has already turned into mails."""

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.servicekit.inbox import PROCESSED_EVENTS, Inbox
from libs.servicekit.mongo import Document

# Redeliveries come within minutes (delivery limit, outbox retries); half a year is ample.
PROCESSED_EVENTS_KEPT_SECONDS = 180 * 24 * 3600


class NotifierStore:
    """The inbox of processed events, with the mail each one caused (per recipient where an
    event mails several people)."""

    def __init__(self, database: AsyncDatabase[Document], *, consumer: str) -> None:
        self._database = database
        self._consumer = consumer
        self.inbox = Inbox(database, consumer)

    def recipient_inbox(self, recipient_id: str) -> Inbox:
        """Processed events per recipient, for events that mail several people (one each)."""
        return Inbox(self._database, f"{self._consumer}:{recipient_id}")

    async def ensure_indexes(self) -> None:
        """Forget processed events after half a year, so the inbox does not grow forever."""
        await self._database[PROCESSED_EVENTS].create_index(
            [("processed_at", ASCENDING)], expireAfterSeconds=PROCESSED_EVENTS_KEPT_SECONDS
        )
