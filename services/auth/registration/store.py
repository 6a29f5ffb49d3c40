"""MongoDB access for self-registrations (with outbox)."""

from datetime import date, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.auth import (
    RegistrationConfirmationRequested,
    RegistrationDecided,
    RegistrationPending,
    RegistrationPublic,
)
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events
from services.auth.domain import RegistrationStatus

REGISTRATIONS = "registrations"
REGISTRATION_OUTBOX_COLLECTIONS = [REGISTRATIONS]


def _optional_utc(value: Any) -> datetime | None:
    return None if value is None else stored_utc(value)


class StoredRegistration:
    """A registration as stored (the confirmation token only as its hash)."""

    def __init__(self, doc: Document) -> None:
        self.registration_id: str = doc["_id"]
        self.status = RegistrationStatus(doc["status"])
        self.email: str = doc["email"]
        self.first_name: str = doc["first_name"]
        self.last_name: str = doc["last_name"]
        self.language: str = doc.get("language", "nl")
        self.user_id: str | None = doc.get("user_id")
        self.expires_at = stored_utc(doc["expires_at"])
        self.public = RegistrationPublic(
            registration_id=doc["_id"], status=doc["status"], last_name=doc["last_name"],
            first_name=doc["first_name"], birth_date=date.fromisoformat(doc["birth_date"]),
            email=doc["email"], phone=doc["phone"], national_number=doc.get("national_number"),
            message=doc.get("message"), language=self.language, user_id=self.user_id,
            created_at=stored_utc(doc["created_at"]), decided_by=doc.get("decided_by"),
            decided_at=_optional_utc(doc.get("decided_at")),
            refusal_reason=doc.get("refusal_reason"),
            dossier_ids=list(doc.get("dossier_ids") or []),
        )

    @property
    def display_name(self) -> str:
        """First name and last name, as mails and staff address the person."""
        return f"{self.first_name} {self.last_name}"


class RegistrationStore:
    """Registrations, one document each."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._registrations = database[REGISTRATIONS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on."""
        await self._registrations.create_index("token_hash", unique=True)
        await self._registrations.create_index("email")
        await self._registrations.create_index("status")
        await self._registrations.create_index(PENDING_COUNT_FIELD)

    async def insert_registration(
        self, event: RegistrationConfirmationRequested, fields: dict[str, Any], token_hash: str,
        now: datetime,
    ) -> None:
        """Store a new registration and the event that mails its confirmation link."""
        await self._registrations.insert_one({
            "_id": event.registration_id, **fields, "email": event.email,
            "language": event.language, "status": RegistrationStatus.AWAITING_CONFIRMATION.value,
            "token_hash": token_hash, "created_at": now, "expires_at": event.expires_at,
            "user_id": None, "dossier_ids": [], **new_document_events(event),
        })

    async def find_by_token(self, token_hash: str) -> StoredRegistration | None:
        """The registration whose confirmation token hashes to `token_hash`."""
        doc = await self._registrations.find_one({"token_hash": token_hash})
        return None if doc is None else StoredRegistration(doc)

    async def find(self, registration_id: str) -> StoredRegistration | None:
        """The registration with this id."""
        doc = await self._registrations.find_one({"_id": registration_id})
        return None if doc is None else StoredRegistration(doc)

    async def mark_confirmed(self, registration_id: str, user_id: str, now: datetime,
                             event: RegistrationPending) -> bool:
        """The address is confirmed and the account made, with the event that tells the office;
        False if confirmed meanwhile."""
        result = await self._registrations.update_one(
            {"_id": registration_id,
             "status": RegistrationStatus.AWAITING_CONFIRMATION.value},
            record_events({"$set": {"status": RegistrationStatus.PENDING.value,
                                    "user_id": user_id, "confirmed_at": now}}, event),
        )
        return result.modified_count == 1

    async def decide(
        self, registration_id: str, status: RegistrationStatus, decided_by: str, now: datetime,
        event: RegistrationDecided, *, dossier_ids: list[str], reason: str | None,
    ) -> StoredRegistration | None:
        """Approve or refuse a pending registration, with its mail event; None if not pending."""
        doc = await self._registrations.find_one_and_update(
            {"_id": registration_id, "status": RegistrationStatus.PENDING.value},
            record_events({"$set": {
                "status": status.value, "decided_by": decided_by, "decided_at": now,
                "dossier_ids": dossier_ids, "refusal_reason": reason,
            }}, event),
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else StoredRegistration(doc)

    async def list_by_status(self, status: RegistrationStatus) -> list[RegistrationPublic]:
        """Registrations in `status`, oldest first (the order staff handle them)."""
        cursor = self._registrations.find({"status": status.value}).sort("created_at", 1)
        return [StoredRegistration(doc).public async for doc in cursor]

