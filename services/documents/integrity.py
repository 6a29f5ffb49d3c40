"""Integrity of the stored bodies: a damaged body is found, reported and never served.

A whole download is hashed by the gateway on the way (the last chunk is held back until the hash
matches). A byte range cannot be checked that way, so a range is served only from a body whose
whole stored bytes hashed right recently: the first range of a body not verified lately waits
for a server-side check (streamed, in threads). A scrubber re-hashes every stored body in the
background, paced, so damage is found even in documents nobody opens. Every damage found is
logged and counted (`mybroker_documents_damaged_total`) and the document is served 410 after.
"""

import asyncio
from datetime import timedelta
from enum import StrEnum

from prometheus_client import Counter

from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Unavailable
from libs.servicekit.lease import Lease
from libs.servicekit.logs import get_logger
from services.documents.domain import Body, StoredDocument, verified_recently
from services.documents.object_storage import ObjectStorage
from services.documents.store import DocumentsStore

log = get_logger(__name__)
SCRUB_BATCH = 20  # documents fetched per look; the pace is set by the bytes, not the batch

damaged_total = Counter(
    "mybroker_documents_damaged_total",
    "Documents found damaged (a stored body missing or not matching its hash), by who found it",
    ["found_by"])
verified_bytes_total = Counter(
    "mybroker_documents_verified_bytes_total",
    "Bytes of stored bodies read back whole and hashed by the service, by purpose",
    ["purpose"])


class FoundBy(StrEnum):
    """Who noticed a damaged body."""

    DOWNLOAD = "download"  # the gateway, hashing a whole download
    RANGE_CHECK = "range_check"  # the check before the first range of a body
    SCRUB = "scrub"  # the background scrubber
    SWEEP = "sweep"  # the orphan sweep: the body is gone


async def record_damage(
    store: DocumentsStore, document: StoredDocument, reason: str, found_by: FoundBy
) -> None:
    """Mark the document damaged (served 410 from now on), log it and count it."""
    await store.mark_damaged(document.document_id, reason)
    damaged_total.labels(found_by.value).inc()
    log.error("document damaged", document_id=document.document_id,
              dossier_id=document.dossier_id, reason=reason, found_by=found_by.value)


def _damage_reason(body: Body, observed_sha256: str | None) -> str:
    if observed_sha256 is None:
        return f"The stored {body.stored.value} is missing."
    return f"The stored {body.stored.value} reads back with sha256 {observed_sha256}."


class RangeCheck(StrEnum):
    """Whether a range of a body may be served."""

    VERIFIED = "verified"  # the whole body hashed right recently
    DAMAGED = "damaged"  # it did not: the document is marked damaged
    PENDING = "pending"  # the check takes longer: serve the whole body, verified, meanwhile


class BodyVerifier:
    """Hashes stored bodies whole: before a range is served, and as the paced scrubber."""

    def __init__(
        self, store: DocumentsStore, storage: ObjectStorage, *, verified_for: timedelta,
        range_wait_seconds: float, scrub_bytes_per_second: int, scrub_idle_seconds: float,
    ) -> None:
        self._store = store
        self._storage = storage
        self._verified_for = verified_for
        self._range_wait_seconds = range_wait_seconds
        self._scrub_bytes_per_second = scrub_bytes_per_second
        self._scrub_idle_seconds = scrub_idle_seconds
        # One check per body at a time: a PDF viewer asks for several ranges at once.
        self._checks: dict[str, asyncio.Task[bool]] = {}

    async def check_for_ranges(self, document: StoredDocument, body: Body) -> RangeCheck:
        """Verify the body unless it was verified recently; wait at most the configured time
        (the check goes on after that, and the next range finds it done)."""
        if verified_recently(body.verified_at, utc_now(), self._verified_for):
            return RangeCheck.VERIFIED
        check = self._checks.get(body.key)
        if check is None:
            check = asyncio.create_task(self._verify(document, body, FoundBy.RANGE_CHECK))
            self._checks[body.key] = check
            check.add_done_callback(self._forget)
        try:
            async with asyncio.timeout(self._range_wait_seconds):
                intact = await asyncio.shield(check)
        except TimeoutError:
            return RangeCheck.PENDING
        return RangeCheck.VERIFIED if intact else RangeCheck.DAMAGED

    def _forget(self, check: "asyncio.Task[bool]") -> None:
        for key, running in list(self._checks.items()):
            if running is check:
                del self._checks[key]
        if not check.cancelled() and check.exception() is not None:
            log.warning("range check failed", error=str(check.exception()))

    async def _verify(
        self, document: StoredDocument, body: Body, found_by: FoundBy,
        bytes_per_second: int | None = None,
    ) -> bool:
        """Hash the stored body; record it verified, or the document damaged."""
        observed = await self._storage.hash_object(body.key, bytes_per_second=bytes_per_second)
        if observed == body.sha256:
            verified_bytes_total.labels(found_by.value).inc(body.size)
            await self._store.record_verified(document.document_id, [body.stored], utc_now())
            return True
        await record_damage(self._store, document, _damage_reason(body, observed), found_by)
        return False

    async def scrub(self, document: StoredDocument) -> bool:
        """Re-hash every body of the document at the scrubbing pace; False when damaged."""
        verified = []
        for body in document.stored_bodies():
            observed = await self._storage.hash_object(
                body.key, bytes_per_second=self._scrub_bytes_per_second)
            if observed != body.sha256:
                await record_damage(self._store, document, _damage_reason(body, observed),
                                    FoundBy.SCRUB)
                return False
            verified_bytes_total.labels(FoundBy.SCRUB.value).inc(body.size)
            verified.append(body.stored)
        await self._store.record_verified(document.document_id, verified, utc_now(),
                                          scrubbed=True)
        return True

    async def scrub_due(self) -> int:
        """Scrub one batch of the documents whose last scrub is older than the verification
        lifetime, the longest ago first; how many were due."""
        due = await self._store.due_for_scrub(utc_now() - self._verified_for, SCRUB_BATCH)
        for document in due:
            await self.scrub(document)
        return len(due)

    async def run_scrubber(self, lease: Lease) -> None:
        """Scrub until cancelled, resting when every body is fresh or the store is away, or
        while another replica scrubs (it holds the `lease`)."""
        while True:
            scrubbed = 0
            try:
                async with lease.holding() as held:
                    if held:
                        scrubbed = await self.scrub_due()
            except Unavailable:
                pass  # tried again after the rest
            except Exception:  # the scrubber must outlive one bad document
                log.exception("scrubber failed; trying again later")
            if scrubbed == 0:
                await asyncio.sleep(self._scrub_idle_seconds)
