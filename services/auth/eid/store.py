"""MongoDB access for eID login: the link requests (with outbox) in `eid_links`, and the card
number (national number) an account is linked to, on its `users` document."""

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import auth
from libs.contracts.envelope import new_id
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, record_events
from services.auth.accounts.store import USERS

EID_LINKS = "eid_links"


def link_public(doc: Document) -> auth.EidLinkPublic:
    """A stored link request as staff see it."""
    return auth.EidLinkPublic(
        link_id=doc["_id"], status=doc["status"], email=doc["email"],
        display_name=doc["display_name"], national_number=doc["national_number"],
        created_at=stored_utc(doc["created_at"]), user_id=doc.get("user_id"),
        decided_by=doc.get("decided_by"))


class EidStore:
    """eID link requests, one document each, and the card numbers linked to accounts."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._links = database[EID_LINKS]
        self._users = database[USERS]

    async def ensure_indexes(self) -> None:
        """Indexes the lookups below rely on."""
        await self._links.create_index("token_hash", unique=True)
        await self._links.create_index("status")
        await self._links.create_index(PENDING_COUNT_FIELD)
        await self._users.create_index("national_number")

    async def user_id_of_card(self, national_number: str) -> str | None:
        """The id of the account this card number is linked to, if any."""
        doc = await self._users.find_one({"national_number": national_number})
        return None if doc is None else str(doc["_id"])

    async def link_card(self, user_id: str, national_number: str) -> None:
        """From now on this card logs in to the account `user_id`."""
        await self._users.update_one({"_id": user_id},
                                     {"$set": {"national_number": national_number}})

    async def insert_identified(
        self, token_hash: str, national_number: str, display_name: str, now: datetime,
        expires_at: datetime,
    ) -> None:
        """A checked card no account knows: a link request its holder may now complete."""
        await self._links.insert_one({
            "_id": new_id(), "status": "identified", "token_hash": token_hash,
            "national_number": national_number, "display_name": display_name,
            "email": None, "created_at": now, "expires_at": expires_at,
            "user_id": None, "decided_by": None,
        })

    async def find_by_token(self, token_hash: str) -> Document | None:
        """The link request whose token hashes to `token_hash`."""
        return await self._links.find_one({"token_hash": token_hash})

    async def find(self, link_id: str) -> Document | None:
        """The link request with this id."""
        return await self._links.find_one({"_id": link_id})

    async def mark_requested(
        self, link_id: str, email: str, event: auth.EidLinkRequested
    ) -> bool:
        """The holder named the account's address, with the event telling the office; False if
        the request was not waiting for that any more."""
        result = await self._links.update_one(
            {"_id": link_id, "status": "identified"},
            record_events({"$set": {"status": "requested", "email": email}}, event))
        return result.modified_count == 1

    async def requested(self) -> list[auth.EidLinkPublic]:
        """The link requests waiting for staff, oldest first."""
        cursor = self._links.find({"status": "requested"}).sort("created_at", 1)
        return [link_public(doc) async for doc in cursor]

    async def decide(
        self, link_id: str, fields: Document, event: auth.EidLinked | auth.EidLinkRefused,
    ) -> Document | None:
        """Record staff's decision on a waiting request, with its mail event; None if it was
        decided meanwhile."""
        return await self._links.find_one_and_update(
            {"_id": link_id, "status": "requested"},
            record_events({"$set": fields}, event), return_document=ReturnDocument.AFTER)
