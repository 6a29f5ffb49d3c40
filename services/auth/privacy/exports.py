"""The owner of the clients' data exports (GDPR articles 15 and 20).

Why the auth service: an export is per account (the account's own data plus the dossiers it
may see, both known here), the request and the download are authorised per account, and auth
already answers every account question; the other services only write their part.

Flow: `request_export` stores the export with `privacy.export.requested` in its outbox; the
parts come back as `part_ready` / `part_failed` events (a failed part is asked again up to
MAX_PART_ATTEMPTS); once every part is in, one replica (a claim on the record) streams the ZIP
into the bucket and stores `privacy.export.ready` (the notifier mails the link). A periodic job
(leased) fails exports past their time limit, saying which part was missing, and deletes ZIPs
past their lifetime.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from libs.contracts import privacy
from libs.contracts.caller import Role
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.privacy import EXPORT_PARTS, ExportPart, ExportState
from libs.i18n import load_translations
from libs.servicekit.errors import Forbidden, Gone, NotFound, RateLimited
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import new_document_events
from services.auth.privacy.export_rules import (
    ExportRecord,
    ExportRefused,
    PartProgress,
    expires_at,
    export_prefix,
    failures_at_deadline,
    manifest,
    may_start,
    render_index,
    retry_after_failure,
    zip_filename,
)
from services.auth.privacy.export_zip import ZipAssembler
from services.auth.privacy.store import EXPORTS, ExportRecords

log = get_logger(__name__)
ASSEMBLY_CLAIM_MS = 15 * 60 * 1000
DAY_MS = 24 * 3600 * 1000
DOWNLOAD_LINK_LIFETIME = timedelta(minutes=5)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _record(stored: Document) -> ExportRecord:
    parts = stored.get("parts") or {}
    return ExportRecord(
        export_id=stored["_id"], account_id=stored["account_id"], email=stored["email"],
        language=stored.get("language", "nl"), state=ExportState(stored["state"]),
        requested_at=stored_utc(stored["requested_at"]),
        deadline_at=stored_utc(stored["deadline_at"]),
        parts={ExportPart(name): PartProgress.from_stored(value)
               for name, value in parts.items() if name in ExportPart._value2member_map_},
        ready_at=stored_utc(stored["ready_at"]) if stored.get("ready_at") else None,
        expires_at=stored_utc(stored["expires_at"]) if stored.get("expires_at") else None,
        size=stored.get("size"), failed_parts=dict(stored.get("failed_parts") or {}))


class PrivacyExports:
    """RPC answers, event handlers and the periodic job of the data exports."""

    def __init__(self, records: ExportRecords, storage: ExportStorage, *,
                 limit_per_day: int, time_limit: timedelta, lifetime: timedelta,
                 notify: Callable[[], None] | None = None) -> None:
        self._exports = records
        self._storage = storage
        self._assembler = ZipAssembler(storage)
        self._limit_per_day = limit_per_day
        self._time_limit = time_limit
        self._lifetime = lifetime
        self._notify = notify or (lambda: None)
        self._translations = load_translations()
        self._bucket_ready = False

    @property
    def storage(self) -> ExportStorage:
        """The bucket the parts and the ZIPs are written to."""
        return self._storage

    async def ensure_indexes(self) -> None:
        """Indexes of the exports' queries (the bucket is made at the first export: a
        process without object storage still logs clients in)."""
        await self._exports.ensure_indexes()

    # --- RPC -----------------------------------------------------------------------------
    async def request_export(self, request: privacy.RequestExport) -> privacy.ExportStarted:
        """Start an export of everything about the caller (or show the one running)."""
        caller = request.caller
        if caller.role != Role.CLIENT:
            raise Forbidden("Only a client exports their own data.")
        running = await self._exports.running_of(caller.user_id)
        if running is not None:
            found = await self._exports.find(running["export_id"])
            if found is not None and found["state"] == ExportState.RUNNING.value:
                return privacy.ExportStarted(export=_record(found).public(), created=False)
            await self._exports.end_running(caller.user_id, running["export_id"])
        now = utc_now()
        today = await self._exports.count_requested_since(caller.user_id, _ms(now) - DAY_MS)
        try:
            may_start(today, self._limit_per_day)
        except ExportRefused as refusal:
            raise RateLimited(f"Too many exports: {refusal}.") from None
        account = await self._exports.account(caller.user_id)
        if account is None:
            raise NotFound("No such account.")
        if not self._bucket_ready:
            await self._storage.ensure_bucket()
            self._bucket_ready = True
        export_id = new_id()
        if not await self._exports.claim_running(caller.user_id, export_id):
            return await self.request_export(request)  # a second request at the same moment
        event = privacy.ExportRequested(
            export_id=export_id, account_id=caller.user_id, email=account["email"],
            dossier_ids=list(caller.dossier_ids), parts=list(EXPORT_PARTS),
            prefix=export_prefix(export_id))
        deadline = now + self._time_limit
        stored: Document = {
            "_id": export_id, "account_id": caller.user_id, "email": account["email"],
            "language": request.language or account.get("language") or "nl",
            "state": ExportState.RUNNING.value, "requested_at": now,
            "requested_at_ms": _ms(now), "dossier_ids": list(caller.dossier_ids),
            "deadline_at": deadline, "deadline_ms": _ms(deadline),
            "parts": {part.value: {"state": "waiting", "attempt": 1} for part in EXPORT_PARTS},
            "assembling_until_ms": 0, **new_document_events(event),
        }
        await self._exports.insert(stored)
        self._notify()
        log.info("data export requested", export_id=export_id, account_id=caller.user_id)
        return privacy.ExportStarted(export=_record(stored).public(), created=True)

    async def list_my_exports(self, request: privacy.ExportsQuery) -> privacy.ExportList:
        """The caller's exports, newest first."""
        found = await self._exports.of_account(request.caller.user_id, limit=20)
        return privacy.ExportList(exports=[_record(stored).public() for stored in found])

    async def _own(self, query: privacy.ExportQuery) -> ExportRecord:
        found = await self._exports.find(query.export_id)
        # Someone else's export is not there at all for the caller.
        if found is None or found["account_id"] != query.caller.user_id:
            raise NotFound("No such export.")
        return _record(found)

    async def get_export(self, query: privacy.ExportQuery) -> privacy.ExportPublic:
        """One of the caller's exports."""
        return (await self._own(query)).public()

    async def open_download(self, query: privacy.ExportQuery) -> privacy.ExportDownload:
        """A short-lived link to the caller's ready ZIP (410 once expired)."""
        record = await self._own(query)
        if record.state == ExportState.EXPIRED or (
                record.expires_at is not None and record.expires_at <= utc_now()):
            raise Gone("The export has expired; ask for a new one.")
        if record.state != ExportState.READY:
            raise NotFound("The export is not ready.")
        url = await self._storage.presign_get(record.zip_key, DOWNLOAD_LINK_LIFETIME)
        return privacy.ExportDownload(export=record.public(), download_url=url,
                                      filename=zip_filename(record.export_id),
                                      size=record.size or 0)

    async def list_exports(self, query: privacy.StaffExportsQuery) -> privacy.ExportList:
        """Every export (the office's view: which failed, and why)."""
        if not query.caller.is_staff:
            raise Forbidden("Staff only.")
        found = await self._exports.listed(query.state, query.limit)
        return privacy.ExportList(exports=[_record(stored).public() for stored in found])

    # --- events --------------------------------------------------------------------------
    async def on_part_ready(self, event: privacy.ExportPartReady) -> None:
        """Record a written part; assemble the ZIP when it was the last one."""
        await self._exports.set_part(event.export_id, event.part.value, event.attempt, {
            "state": "ready", "attempt": event.attempt, "keys": event.keys,
            "records": event.records, "size": event.size})
        await self.assemble_if_complete(event.export_id)

    async def on_part_failed(self, event: privacy.ExportPartFailed) -> None:
        """Ask a failed part again, or record it failed (the export fails with it)."""
        found = await self._exports.find(event.export_id)
        if found is None or found["state"] != ExportState.RUNNING.value:
            return
        record = _record(found)
        progress = record.progress(event.part)
        if retry_after_failure(progress, event.attempt):
            again = privacy.ExportRequested(
                export_id=record.export_id, account_id=record.account_id, email=record.email,
                dossier_ids=list(found.get("dossier_ids") or await self._dossiers_of(record)),
                parts=[event.part], attempt=event.attempt + 1, prefix=record.prefix,
                correlation_id=event.correlation_id)
            await self._exports.ask_part_again(
                record.export_id, event.part.value, event.attempt,
                {"state": "waiting", "attempt": event.attempt + 1, "reason": event.reason},
                again)
            self._notify()
            log.warning("export part failed; asked again", export_id=record.export_id,
                        part=event.part.value, attempt=event.attempt)
            return
        if event.attempt != progress.attempt:
            return  # a report of an earlier attempt
        await self._fail(record, {event.part.value: event.reason})

    async def _dossiers_of(self, record: ExportRecord) -> list[str]:
        account = await self._exports.account(record.account_id)
        return list((account or {}).get("dossier_ids") or [])

    async def assemble_if_complete(self, export_id: str) -> None:
        """Stream the ZIP when every part is in (one replica: a claim on the record)."""
        found = await self._exports.find(export_id)
        if found is None or found["state"] != ExportState.RUNNING.value:
            return
        if not _record(found).all_parts_ready():
            return
        now_ms = int(time.time() * 1000)
        claimed = await self._exports.claim_assembly(export_id, now_ms,
                                                     now_ms + ASSEMBLY_CLAIM_MS)
        if claimed is None:
            return  # another delivery or replica assembles it
        record = _record(claimed)
        generated_at = utc_now()
        manifest_data = manifest(record, generated_at)
        index_html = render_index(manifest_data, record.language, self._translations)
        keys = [key for part in EXPORT_PARTS for key in record.progress(part).keys]
        size = await self._assembler.assemble(record.prefix, record.zip_key, keys,
                                              manifest_data, index_html)
        ready = privacy.ExportReady(
            export_id=record.export_id, account_id=record.account_id, email=record.email,
            language=record.language, expires_at=expires_at(generated_at, self._lifetime),
            size=size)
        await self._exports.mark_ready(export_id, {
            "ready_at": generated_at, "expires_at": ready.expires_at,
            "expires_ms": _ms(ready.expires_at), "size": size}, ready)
        await self._exports.end_running(record.account_id, export_id)
        self._notify()
        # The parts are in the ZIP now: only the ZIP stays.
        for key in keys:
            await self._storage.remove_prefix(record.prefix + key)
        log.info("data export ready", export_id=export_id, size=size)

    async def _fail(self, record: ExportRecord, failures: dict[str, str]) -> None:
        await self._exports.mark_failed(record.export_id, failures,
                                        _ms(utc_now() + self._lifetime))
        await self._exports.end_running(record.account_id, record.export_id)
        log.warning("data export failed", export_id=record.export_id, failures=failures)

    # --- periodic ------------------------------------------------------------------------
    async def forget_dossier(self, dossier_id: str) -> dict[str, int]:
        """A dossier's erasure: the exports that hold its data go, their files in the exports
        bucket first (a ZIP would otherwise outlive its record, which the sweep goes by)."""
        forgotten = 0
        async for found in self._exports.mentioning_dossier(dossier_id):
            await self._storage.remove_prefix(export_prefix(found["_id"]))
            await self._exports.delete(found["_id"])
            forgotten += 1
        return {EXPORTS: forgotten} if forgotten else {}

    async def sweep(self) -> dict[str, int]:
        """Fail exports past their time limit, finish ones whose assembler died, and delete
        what is past its lifetime."""
        now_ms = int(time.time() * 1000)
        counts: dict[str, Any] = {"failed": 0, "expired": 0}
        async for found in self._exports.running():
            record = _record(found)
            if found["deadline_ms"] < now_ms:
                await self._fail(record, failures_at_deadline(record))
                counts["failed"] += 1
            elif record.all_parts_ready():
                await self.assemble_if_complete(record.export_id)
        async for found in self._exports.past_lifetime(now_ms):
            await self._storage.remove_prefix(export_prefix(found["_id"]))
            state = (ExportState.EXPIRED if found["state"] == ExportState.READY.value
                     else ExportState.FAILED)
            await self._exports.mark_ended(found["_id"], state)
            counts["expired"] += 1
        return counts
