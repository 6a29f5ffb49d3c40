"""Announcing staff batches: one `documents.batch.published` event (one mail) per batch.

The publish page sends its files one by one and then announces them as one batch. When the
browser closes in between, the files are published but no batch call ever comes: the
announcer's periodic check announces such documents itself, one batch per dossier, once the
dossier received no unannounced document for `announce_after` (the page may still be
sending). A document is claimed by the batch that announces it, once (see the store), so the
page's late batch and the check never announce a document twice; a batch left open by a
crash is finished by the next check.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.logs import get_logger
from services.documents.domain import announced_context, overdue_announcements
from services.documents.store import BatchState, DocumentsStore

log = get_logger(__name__)


class BatchAnnouncer:
    """Announces staff batches: those the office asks for, and those that never came."""

    def __init__(
        self, store: DocumentsStore, *, announce_after: timedelta,
        on_events_stored: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._announce_after = announce_after
        self._on_events_stored = on_events_stored
        self._clock = clock

    async def announce(
        self, batch_id: str, dossier_id: str, document_ids: list[str],
        correlation_id: str | None = None,
    ) -> tuple[int, int]:
        """Announce the documents no batch announced yet as batch `batch_id`; how many this
        batch announces, and how many of them an earlier batch announced already."""
        batch = await self._store.open_batch(batch_id, dossier_id=dossier_id,
                                             document_ids=document_ids, now=self._clock())
        if batch.state is BatchState.ANNOUNCED:  # a repeated request: nothing new
            return len(batch.document_ids), len(set(document_ids) - set(batch.document_ids))
        claimed = await self._store.claim_for_batch(batch_id, batch.dossier_id,
                                                    batch.document_ids)
        event = None if not claimed else DocumentsBatchPublished(
            dossier_id=batch.dossier_id, correlation_id=correlation_id, batch_id=batch_id,
            context=announced_context(claimed),
            titles=[document.title for document in claimed], count=len(claimed))
        closed = await self._store.close_batch(
            batch_id, [document.document_id for document in claimed], event)
        if closed and event is not None:
            self._on_events_stored()
            log.info("batch published", batch_id=batch_id, count=len(claimed))
        return len(claimed), len(document_ids) - len(claimed)

    async def announce_overdue(self) -> list[str]:
        """Finish batches a crash left open, then announce the staff documents whose batch
        never came, one batch per dossier; the ids of the batches announced."""
        now = self._clock()
        announced = []
        for batch in await self._store.open_batches():
            if batch.opened_at is not None and batch.opened_at <= now - self._announce_after:
                await self.announce(batch.batch_id, batch.dossier_id, batch.document_ids)
                announced.append(batch.batch_id)
        overdue = overdue_announcements(await self._store.unannounced_staff_documents(), now,
                                        self._announce_after)
        for dossier_id, documents in overdue.items():
            batch_id = new_id()
            count, _ = await self.announce(
                batch_id, dossier_id, [document.document_id for document in documents])
            if count:
                log.warning("batch announced by the service: the office's never came",
                            batch_id=batch_id, dossier_id=dossier_id, count=count)
                announced.append(batch_id)
        return announced
