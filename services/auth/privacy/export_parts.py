"""The auth service's part of a client's data export: the account and how it was used
(sessions = the login history with device and address, eID links, the registration, and the
office's audit entries about the account)."""

from pydantic import BaseModel

from libs.contracts.privacy import AccountPart, ExportRequested, StoredRecord
from libs.servicekit.export_parts import PartFiles, public_fields
from services.auth.privacy.store import AccountRecords

MAX_RECORDS_PER_KIND = 10_000


class AccountPartBuilder:
    """Reads the account's records from the auth database (privacy.store.ACCOUNT_RECORDS)."""

    def __init__(self, accounts: AccountRecords) -> None:
        self._accounts = accounts

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The account part of `event`'s export."""
        account = await self._accounts.find_account(event.account_id)
        records = [StoredRecord(record_id=str(stored["_id"]), kind=kind,
                                data=public_fields(stored))
                   for kind, stored in await self._accounts.records_of(
                       event.account_id, MAX_RECORDS_PER_KIND)]
        account_data = public_fields(account) if account is not None else {}
        account_data.pop("trusted_devices", None)  # hashes of device cookies: no meaning
        return AccountPart(account=account_data, records=records), len(records) + 1
