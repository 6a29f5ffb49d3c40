"""The client sheet's MongoDB access (the requests service's database).

- `client_sheet_questionnaires`: one document per published version (`_id` = the version as
  text); the highest is the current one.
- `client_sheets`: the confirmed sheets, inserted once and never updated (what the client
  confirmed stays as they confirmed it); `idempotency` is unique, so a resubmission finds the
  sheet it already made.
- `client_sheet_dossiers`: per dossier, since when it is known and its last confirmed sheet:
  what the due job and the office's list read.
- `client_sheet_reminders`: one document per (dossier, reminder period), `_id` unique, holding
  its ClientSheetDue event in its outbox: a second replica's job, or a second round, finds the
  key taken and emits nothing.
"""

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.client_sheet import (
    ClientSheet,
    ClientSheetDue,
    Questionnaire,
    QuestionnaireDraft,
)
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events

QUESTIONNAIRES = "client_sheet_questionnaires"
SHEETS = "client_sheets"
DOSSIERS = "client_sheet_dossiers"
REMINDERS = "client_sheet_reminders"
PUBLISH_ATTEMPTS = 5  # two staff publishing at once: the later one takes the next number


def _sheet(document: Document) -> ClientSheet:
    return ClientSheet.model_validate({**document, "sheet_id": document["_id"]})


def milliseconds(moment: datetime) -> int:
    """`moment` as milliseconds since the epoch (what range queries compare)."""
    return int(moment.timestamp() * 1000)


def idempotency_value(dossier_id: str, user_id: str, key: str | None, sheet_id: str) -> str:
    """The unique value of a sheet: its client's key in its dossier, else its own id."""
    return f"{dossier_id}\x1f{user_id}\x1f{key}" if key else f"\x1e{sheet_id}"


class ClientSheetStore:
    """Questionnaire versions, confirmed sheets, the dossiers' sheet state and reminders."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._questionnaires = database[QUESTIONNAIRES]
        self._sheets = database[SHEETS]
        self._dossiers = database[DOSSIERS]
        self._reminders = database[REMINDERS]

    async def ensure_indexes(self) -> None:
        """Indexes of the queries below, the idempotency and the outbox relay."""
        await self._questionnaires.create_index([("version", DESCENDING)], unique=True)
        await self._sheets.create_index([("idempotency", ASCENDING)], unique=True)
        await self._sheets.create_index([("dossier_id", ASCENDING),
                                         ("confirmed_at", DESCENDING)])
        await self._dossiers.create_index([("last_confirmed_ms", ASCENDING)])
        await self._reminders.create_index([(PENDING_COUNT_FIELD, ASCENDING)])

    # --- questionnaire versions ---------------------------------------------------------------

    async def current_questionnaire(self) -> Questionnaire | None:
        """The highest published version (None before the first is stored)."""
        document = await self._questionnaires.find_one({}, sort=[("version", DESCENDING)])
        return None if document is None else Questionnaire.model_validate(document)

    async def questionnaire(self, version: int) -> Questionnaire | None:
        """One published version."""
        document = await self._questionnaires.find_one({"_id": str(version)})
        return None if document is None else Questionnaire.model_validate(document)

    async def store_first_version(self, draft: QuestionnaireDraft, at: datetime) -> None:
        """The shipped questionnaire as version 1, unless a version 1 exists (every replica
        starting tries; one wins)."""
        questionnaire = Questionnaire(version=1, published_at=at, sections=draft.sections)
        with contextlib.suppress(DuplicateKeyError):
            await self._questionnaires.insert_one(
                {"_id": "1", **questionnaire.model_dump(mode="json")})

    async def publish(self, draft: QuestionnaireDraft, at: datetime, by: str) -> Questionnaire:
        """Store `draft` as the next version."""
        for _ in range(PUBLISH_ATTEMPTS):
            current = await self.current_questionnaire()
            version = 1 if current is None else current.version + 1
            questionnaire = Questionnaire(version=version, published_at=at, published_by=by,
                                          sections=draft.sections)
            try:
                await self._questionnaires.insert_one(
                    {"_id": str(version), **questionnaire.model_dump(mode="json")})
            except DuplicateKeyError:
                continue
            return questionnaire
        raise RuntimeError("could not take a questionnaire version number")

    # --- confirmed sheets ---------------------------------------------------------------------

    async def insert_sheet(self, sheet: ClientSheet, idempotency: str) -> ClientSheet:
        """Store a confirmed sheet; the one stored before when `idempotency` was used."""
        document: Document = sheet.model_dump(exclude={"sheet_id"})
        document.update(_id=sheet.sheet_id, idempotency=idempotency)
        try:
            await self._sheets.insert_one(document)
        except DuplicateKeyError:
            earlier = await self._sheets.find_one({"idempotency": idempotency})
            if earlier is None:  # pragma: no cover - the same sheet id twice
                raise
            return _sheet(earlier)
        return sheet

    async def find_by_idempotency(self, idempotency: str) -> ClientSheet | None:
        """The sheet a resubmission already made."""
        document = await self._sheets.find_one({"idempotency": idempotency})
        return None if document is None else _sheet(document)

    async def sheets_of(self, dossier_id: str, limit: int = 100) -> list[ClientSheet]:
        """A dossier's confirmed sheets, newest first."""
        cursor = self._sheets.find({"dossier_id": dossier_id}).sort(
            [("confirmed_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [_sheet(document) async for document in cursor
                if document.get("dossier_id") == dossier_id]

    async def sheet(self, sheet_id: str) -> ClientSheet | None:
        """One sheet by id."""
        document = await self._sheets.find_one({"_id": sheet_id})
        return None if document is None else _sheet(document)

    # --- the dossiers' state ----------------------------------------------------------------------

    async def know_dossier(self, dossier_id: str, at: datetime) -> Document:
        """The dossier's state, created (known since `at`) the first time it is seen."""
        document: Document = {"_id": dossier_id, "known_since": at, "confirmed": False,
                              "last_confirmed_ms": 0}
        try:
            await self._dossiers.insert_one(document)
        except DuplicateKeyError:
            stored = await self._dossiers.find_one({"_id": dossier_id})
            if stored is not None:
                return stored
        return document

    async def record_confirmation(self, sheet: ClientSheet) -> None:
        """The dossier's last sheet is `sheet`, unless a later one was recorded meanwhile.

        The moment is kept in milliseconds too: nx-27017 keeps a datetime written by `$set` as
        a string, which no range query compares rightly (read `last_confirmed_at` with
        stored_utc)."""
        await self.know_dossier(sheet.dossier_id, sheet.confirmed_at)
        moment_ms = milliseconds(sheet.confirmed_at)
        fields = {"confirmed": True, "last_confirmed_at": sheet.confirmed_at,
                  "last_confirmed_ms": moment_ms, "last_sheet_id": sheet.sheet_id,
                  "last_confirmed_by": sheet.confirmed_by,
                  "last_confirmed_by_name": sheet.confirmed_by_name}
        await self._dossiers.update_one(
            {"_id": sheet.dossier_id, "last_confirmed_ms": {"$lt": moment_ms}}, {"$set": fields})

    async def dossier_state(self, dossier_id: str) -> Document | None:
        """What is known of a dossier's sheets."""
        return await self._dossiers.find_one({"_id": dossier_id})

    async def dossier_states(self, *, confirmed_before: datetime | None = None,
                             after: str | None = None, limit: int = 1000) -> list[Document]:
        """Known dossiers by number (from after `after`); with `confirmed_before`, only those
        never confirmed or last confirmed before it (the due ones)."""
        criteria: dict[str, Any] = {}
        if confirmed_before is not None:  # never confirmed: 0
            criteria = {"last_confirmed_ms": {"$lt": milliseconds(confirmed_before)}}
        if after is not None:
            criteria["_id"] = {"$gt": after}
        cursor = self._dossiers.find(criteria).sort([("_id", ASCENDING)]).limit(limit)
        return [document async for document in cursor]

    # --- reminders ----------------------------------------------------------------------------

    async def add_reminder(self, key: str, event: ClientSheetDue) -> bool:
        """Store the reminder `key` with its event; False when it exists (already emitted)."""
        document: Document = {"_id": key, "dossier_id": event.dossier_id,
                              "period": event.period.isoformat(), "created_at": event.occurred_at}
        document.update(new_document_events(event))
        try:
            await self._reminders.insert_one(document)
        except DuplicateKeyError:
            return False
        return True
