"""One service's part of a client's data export: built, written to the exports bucket, reported.

Each service gives a builder (its records about the account and its dossiers, as a pydantic
model) and this writes `<part>/<part>.json` and `<part>/<part>.schema.json` under the export's
prefix, then reports `privacy.export.part_ready` through the service's outbox. A builder that
fails is tried again here a few times; then `part_failed` is reported and the export's owner
may ask for the part again (a new attempt). Idempotent: one record per export, part and
attempt (`export_parts`, claimed before the work), so a redelivery or a second replica never
writes the part twice.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import RabbitBroker
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.envelope import utc_now
from libs.contracts.privacy import (
    PART_MODELS,
    ExportPart,
    ExportPartFailed,
    ExportPartReady,
    ExportRequested,
)
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.errors import Unavailable
from libs.servicekit.export_storage import ExportStorage, Readable
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import record_events

log = get_logger(__name__)
EXPORT_PARTS = "export_parts"
BUILD_PAUSES_SECONDS: tuple[float, ...] = (0.5, 2.0)  # then the part is reported failed
INTERNAL_FIELDS = frozenset({"outbox", "outbox_pending", "password_hash", "token_hash",
                             "secret", "pin_hash", "refresh_token_hash"})


def public_fields(stored: Document) -> dict[str, Any]:
    """A stored record without the service's internal bookkeeping and secrets, JSON-ready."""
    kept = {name: value for name, value in stored.items()
            if name not in INTERNAL_FIELDS and not name.startswith(("s_", "k_", "r_"))
            and "hash" not in name}
    shown: dict[str, Any] = json.loads(json.dumps(kept, default=str))
    return shown


def part_path(part: ExportPart, name: str) -> str:
    """Where a file of `part` goes, relative to the export's prefix (and in the ZIP)."""
    return f"{part.value}/{name}"


class PartFiles:
    """The files of a part (documents' originals...), streamed into the exports bucket."""

    def __init__(self, storage: ExportStorage, prefix: str, part: ExportPart) -> None:
        self._storage = storage
        self._prefix = prefix
        self._part = part
        self.keys: list[str] = []
        self.size = 0

    async def add(self, name: str, source: Readable, content_type: str, length: int) -> str:
        """Store one file of `length` bytes read from `source`; its path in the export."""
        path = part_path(self._part, name)
        await self._storage.put_stream(self._prefix + path, source, content_type, length)
        self.keys.append(path)
        self.size += length
        return path


PartBuilder = Callable[[ExportRequested, PartFiles], Awaitable[tuple[BaseModel, int]]]
"""Builds the part's model (and stores its files); returns it with its record count."""


class ExportPartWriter:
    """Answers `privacy.export.requested` with this service's part."""

    def __init__(self, database: AsyncDatabase[Document], storage: ExportStorage,
                 part: ExportPart, build: PartBuilder, *,
                 notify: Callable[[], None] | None = None) -> None:
        self._records = database[EXPORT_PARTS]
        self._storage = storage
        self._part = part
        self._build = build
        self._notify = notify

    async def on_requested(self, event: ExportRequested) -> None:
        """Write this service's part when the export asks for it (once per attempt)."""
        if self._part not in event.parts:
            return
        record_id = f"{event.export_id}:{self._part.value}:{event.attempt}"
        try:
            await self._records.insert_one({"_id": record_id, "export_id": event.export_id,
                                            "state": "writing", "claimed_at": utc_now()})
        except DuplicateKeyError:
            return  # written (or being written) by an earlier delivery or another replica
        try:
            reported: ExportPartReady | ExportPartFailed = await self._write(event)
        except Unavailable:
            # The store is away: the claim goes, the event stays on the queue and comes again.
            await self._records.delete_one({"_id": record_id})
            raise
        state = "ready" if isinstance(reported, ExportPartReady) else "failed"
        await self._records.update_one(
            {"_id": record_id}, record_events({"$set": {"state": state}}, reported))
        if self._notify is not None:
            self._notify()

    async def _write(self, event: ExportRequested) -> ExportPartReady | ExportPartFailed:
        last_error = ""
        for pause in (*BUILD_PAUSES_SECONDS, None):
            files = PartFiles(self._storage, event.prefix, self._part)
            try:
                model, records = await self._build(event, files)
                return await self._store_json(event, model, records, files)
            except Unavailable:
                raise
            except Exception as error:
                log.exception("export part failed", part=self._part.value,
                              export_id=event.export_id)
                last_error = f"{type(error).__name__}: {error}"[:300]
            if pause is not None:
                await asyncio.sleep(pause)
        return ExportPartFailed(export_id=event.export_id, part=self._part,
                                attempt=event.attempt, reason=last_error,
                                correlation_id=event.correlation_id)

    async def _store_json(self, event: ExportRequested, model: BaseModel, records: int,
                          files: PartFiles) -> ExportPartReady:
        body = model.model_dump_json(indent=1).encode()
        schema = json.dumps(PART_MODELS[self._part].model_json_schema(), indent=1).encode()
        data_path = part_path(self._part, f"{self._part.value}.json")
        schema_path = part_path(self._part, f"{self._part.value}.schema.json")
        size = files.size
        size += await self._storage.put_bytes(event.prefix + data_path, body, "application/json")
        size += await self._storage.put_bytes(event.prefix + schema_path, schema,
                                              "application/schema+json")
        return ExportPartReady(export_id=event.export_id, part=self._part,
                               attempt=event.attempt, keys=[data_path, schema_path, *files.keys],
                               records=records, size=size, correlation_id=event.correlation_id)


def subscribe_export_part(broker: RabbitBroker, database: AsyncDatabase[Document],
                          storage: ExportStorage, *, consumer: str, part: ExportPart,
                          build: PartBuilder, notify: Callable[[], None] | None) -> None:
    """Wire the service's part: its own queue `<consumer>.privacy-export`, a few at a time
    (a part may stream many files). The service's relay must relay EXPORT_PARTS."""
    writer = ExportPartWriter(database, storage, part, build, notify=notify)
    declare_emitted_events(broker, producer=consumer, events=(ExportPartReady, ExportPartFailed))
    subscribe_event(broker, consumer=consumer, purpose="privacy-export",
                    event_type=ExportRequested, handle=writer.on_requested, prefetch=2)
