"""The auth service's part of a client's data export: the account and how it was used
(sessions = the login history with device and address, eID links, the registration, and the
office's audit entries about the account)."""

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.privacy import AccountPart, ExportRequested, StoredRecord
from libs.servicekit.export_parts import PartFiles, public_fields
from libs.servicekit.mongo import Document
from services.auth.accounts.store import USERS
from services.auth.audit.store import AUDIT
from services.auth.eid.store import EID_LINKS
from services.auth.registration.store import REGISTRATIONS
from services.auth.sessions.store import SESSIONS

# Records kept about an account, and the field that names it in each collection.
ACCOUNT_RECORDS: tuple[tuple[str, str, str], ...] = (
    (SESSIONS, "user_id", "session"),
    (EID_LINKS, "user_id", "eid_link"),
    (REGISTRATIONS, "user_id", "registration"),
    (AUDIT, "target", "audit_entry"),
)
MAX_RECORDS_PER_KIND = 10_000


class AccountPartBuilder:
    """Reads the account's records from the auth database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The account part of `event`'s export."""
        account = await self._database[USERS].find_one({"_id": event.account_id})
        records: list[StoredRecord] = []
        for collection, field, kind in ACCOUNT_RECORDS:
            cursor = self._database[collection].find({field: event.account_id}).sort("_id", 1)
            async for stored in cursor.limit(MAX_RECORDS_PER_KIND):
                records.append(StoredRecord(record_id=str(stored["_id"]), kind=kind,
                                            data=public_fields(stored)))
        account_data = public_fields(account) if account is not None else {}
        account_data.pop("trusted_devices", None)  # hashes of device cookies: no meaning
        return AccountPart(account=account_data, records=records), len(records) + 1
