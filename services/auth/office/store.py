"""The office settings: one document, changed by compare-and-set on its version, carrying its
OfficeSettingsChanged in its outbox (the same write)."""

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.office import OfficeSettings, OfficeSettingsChanged, OfficeSettingsPublic
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events

OFFICE_SETTINGS = "office_settings"
OFFICE_OUTBOX_COLLECTIONS = [OFFICE_SETTINGS]
DOCUMENT_ID = "office"  # one office per deployment: one document


class OfficeStore:
    """Reads and compare-and-set writes of the settings document."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._settings = database[OFFICE_SETTINGS]

    async def ensure_indexes(self) -> None:
        """The outbox relay's pending lookup."""
        await self._settings.create_index(PENDING_COUNT_FIELD)

    async def current(self) -> OfficeSettingsPublic:
        """The stored settings, or the neutral defaults (version 0) before the first change."""
        doc = await self._settings.find_one({"_id": DOCUMENT_ID}, {"settings": 1, "version": 1,
                                                                    "updated_by": 1})
        if doc is None:
            return OfficeSettingsPublic()
        return OfficeSettingsPublic(**doc["settings"], version=doc["version"],
                                    updated_by=doc.get("updated_by"))

    async def replace(
        self, settings: OfficeSettings, *, version: int, user_id: str,
    ) -> OfficeSettingsPublic | None:
        """Store `settings` as version `version` + 1 if the stored version is still `version`;
        None when someone else changed them meanwhile."""
        stored = OfficeSettingsPublic(**settings.model_dump(), version=version + 1,
                                      updated_by=user_id)
        event = OfficeSettingsChanged(settings=stored)
        fields = {"settings": settings.model_dump(mode="json"), "version": stored.version,
                  "updated_by": user_id}
        if version == 0:
            try:
                await self._settings.insert_one(
                    {"_id": DOCUMENT_ID, **fields, **new_document_events(event)})
            except DuplicateKeyError:
                return None
            return stored
        result = await self._settings.update_one(
            {"_id": DOCUMENT_ID, "version": version}, record_events({"$set": fields}, event))
        return stored if result.modified_count == 1 else None
