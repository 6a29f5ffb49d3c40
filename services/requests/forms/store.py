"""MongoDB access of the forms: drafts and the feed of accepted data changes (the form
requests themselves are requests: services/requests/store.py).

Like the requests' store, queries are ranges of one string key (the Mongo-wire server here
serves no equality filter with a secondary index) and timestamps compared in queries are kept
as epoch milliseconds (it returns a datetime written by `$set` as text)."""

from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document

log = get_logger(__name__)
DRAFTS = "form_drafts"
DATA_CHANGES = "data_changes"
KEY_END = "\uffff"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def draft_owner_prefix(user_id: str, dossier_id: str) -> str:
    """The start of the ids of one account's drafts in one dossier."""
    return f"{user_id}|{dossier_id}|"


def feed_key(recorded_at: datetime, change_id: str) -> str:
    """The feed's order: when the change was recorded, then its id."""
    return f"{epoch_ms(recorded_at):015d}|{change_id}"


class DraftStore:
    """One draft per (account, dossier, kind, about): its id; gone 30 days after its last save.

    Expired drafts are never read (every read compares `expires_ms` with now) and a periodic
    job purges them; the TTL index on `expires_at` does the same where the database runs TTL
    monitors (MongoDB does; the in-memory wire-compatible server of the tests does not have to)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._drafts = database[DRAFTS]

    async def ensure_indexes(self) -> None:
        await self._drafts.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self._drafts.create_index([("expires_ms", ASCENDING)])

    async def save(self, key: str, fields: Document) -> Document:
        """Replace the draft `key` (a whole document: its timestamps stay dates)."""
        document = {**fields, "_id": key}
        await self._drafts.replace_one({"_id": key}, document, upsert=True)
        return document

    async def get(self, key: str, now: datetime) -> Document | None:
        found = await self._drafts.find_one({"_id": key})
        if found is None or int(found.get("expires_ms", 0)) <= epoch_ms(now):
            return None
        return found

    async def delete(self, key: str) -> bool:
        return (await self._drafts.delete_one({"_id": key})).deleted_count > 0

    async def list(self, user_id: str, dossier_id: str, now: datetime) -> list[Document]:
        """The account's live drafts in the dossier, oldest saved first."""
        prefix = draft_owner_prefix(user_id, dossier_id)
        cursor = self._drafts.find({"_id": {"$gte": prefix, "$lt": prefix + KEY_END}})
        found = [document async for document in cursor.limit(200)
                 if str(document["_id"]).startswith(prefix)
                 and int(document.get("expires_ms", 0)) > epoch_ms(now)]
        return sorted(found, key=lambda document: int(document.get("saved_ms", 0)))

    async def purge(self, now: datetime) -> int:
        """Remove every expired draft; how many went."""
        deleted = (await self._drafts.delete_many(
            {"expires_ms": {"$lte": epoch_ms(now)}})).deleted_count
        if deleted:
            log.info("expired drafts purged", count=deleted)
        return deleted


class DataChangeStore:
    """The feed of accepted data changes, oldest first by `feed_key`."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._changes = database[DATA_CHANGES]

    async def ensure_indexes(self) -> None:
        await self._changes.create_index([("feed_key", ASCENDING)])

    async def record(self, document: Document) -> bool:
        """Add a change once (its _id is the request's): False when it was there."""
        try:
            await self._changes.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def page(self, after_key: str, limit: int) -> list[Document]:
        """Up to `limit` changes whose feed key is greater than `after_key`, in order."""
        cursor = self._changes.find({"feed_key": {"$gt": after_key}}).sort(
            [("feed_key", ASCENDING)]).limit(limit)
        return [document async for document in cursor
                if str(document.get("feed_key", "")) > after_key]


DRAFT_LIFETIME = timedelta(days=30)
