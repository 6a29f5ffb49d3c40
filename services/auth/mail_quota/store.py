"""MongoDB access for the account-mail quota: one document per mail sent, forgotten by a TTL
index after the window (inserted datetimes are stored as dates)."""

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from libs.servicekit.mongo import Document

MAIL_QUOTA = "mail_quota"


class MailQuotaStore:
    """The mails sent per purpose and (hashed) address."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._mails = database[MAIL_QUOTA]

    async def ensure_indexes(self) -> None:
        """The count's index, and the TTL that forgets old mails."""
        await self._mails.create_index("key")
        await self._mails.create_index("forget_at", expireAfterSeconds=0)

    async def add(self, mail_id: str, key: str, sent_at: datetime, forget_at: datetime) -> None:
        """Count one mail under `key`."""
        await self._mails.insert_one(
            {"_id": mail_id, "key": key, "sent_at": sent_at, "forget_at": forget_at})

    async def count_since(self, key: str, since: datetime) -> int:
        """The mails under `key` sent after `since`."""
        return await self._mails.count_documents({"key": key, "sent_at": {"$gt": since}})

    async def remove(self, mail_id: str) -> None:
        """Take back one counted mail (it was not sent after all)."""
        await self._mails.delete_one({"_id": mail_id})
